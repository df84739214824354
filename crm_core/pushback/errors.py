"""Errors of push-back that callers answer differently (the API: 422, 404, 409)."""

from __future__ import annotations

from schemas.errors import HubError, InvalidInput


class ChangeRejected(HubError):
    """A CRM-side change refused before it is queued: the field is not the CRM's, a value
    does not fit the model, the customer does not exist, or the key was used for another
    change. ``field`` names the field at fault when there is one."""

    def __init__(self, message: str, field: str | None = None, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        #: the request clashes with the state of things (an idempotency key reused, ...)
        self.conflict = conflict


class InvalidValue(ChangeRejected, InvalidInput):
    """A change refused for a value no field of its kind accepts (text with a control
    character): the input must be fixed (the CLI exits 2, the API answers 422)."""


class UnknownChange(HubError):
    """No change, or no conflict, with that id."""
