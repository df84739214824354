"""The states of a CRM-side change and of its deliveries, and of a push-back conflict.

Plain enums with no pydantic: the command line names them in its help without loading the
settings (:mod:`schemas.pushback` re-exports them).
"""

from __future__ import annotations

from enum import StrEnum


class PushState(StrEnum):
    """Where a CRM-side change (an outbox row) or one of its deliveries (one target record)
    stands; stored as the value."""

    #: waiting to be written (again, after a transient failure)
    PENDING = "pending"
    #: a change whose every delivery finished
    DELIVERED = "delivered"
    #: the target changed the value since the hub read it: waiting for a person
    CONFLICT = "conflict"
    #: a dead letter: every attempt failed, or the error was permanent
    FAILED = "failed"
    #: given up by a person: nothing more is written
    CANCELLED = "cancelled"
    #: the record no longer exists in the target: nothing is written (a change, or one of
    #: its deliveries)
    GONE = "gone"
    #: a delivery written by this run or an earlier attempt
    APPLIED = "applied"
    #: a delivery whose values were found in the target already
    DONE = "done"
    #: a delivery settled in the target's favour (policy or person): not written
    SKIPPED = "skipped"
    #: a delivery to be written regardless of the target's value (a conflict resolved
    #: for the CRM side)
    FORCE = "force"


#: The states a change (not a delivery) can be in.
CHANGE_STATES = (
    PushState.PENDING,
    PushState.DELIVERED,
    PushState.CONFLICT,
    PushState.FAILED,
    PushState.CANCELLED,
    PushState.GONE,
)
#: Delivery states whose values are in the target (the hub's own writes, until the pull
#: reads them back).
WRITTEN_DELIVERIES = (PushState.APPLIED, PushState.DONE)
#: Delivery states after which nothing more is written.
FINISHED_DELIVERIES = (
    PushState.APPLIED,
    PushState.DONE,
    PushState.SKIPPED,
    PushState.CANCELLED,
    PushState.GONE,
)
#: Delivery states still to be written, and whose value a pull may find in the target
#: already (a write made just before a crash): see crm_core.pushback.echo.
UNWRITTEN_DELIVERIES = (PushState.PENDING, PushState.FORCE)
#: Change states that hold back the later changes of the same customer.
UNFINISHED_CHANGES = (PushState.PENDING, PushState.CONFLICT, PushState.FAILED)


class ConflictState(StrEnum):
    """Whether a push-back conflict waits for a person; stored as the value."""

    OPEN = "open"
    RESOLVED = "resolved"
