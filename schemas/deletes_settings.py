"""How a stream's deletes are known: the ``deletes:`` of a stream in crm-hub.yaml.

Four ways, one per stream: ``detect`` (compare key sets), ``flag`` and ``tombstone`` (a
record read says it is deleted) and ``deleted_since`` (the source lists the records deleted
since a moment, as Salesforce's sObject Get Deleted or Zoho CRM's ``/{module}/deleted`` do).
The engine applies them (``crm_core.pull.deletes``, ``crm_core.pull.deleted_since``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from schemas.strict import Strict

#: A detect pass that would mark more than this share of a stream's rows deleted stops.
DEFAULT_MAX_DELETE_SHARE = 0.2
#: The ways of knowing deletes, as ``deletes:`` names them.
WAYS = ("detect", "flag", "tombstone", "deleted_since")


class DetectDeletes(Strict):
    """How often a detect pass compares the source's keys with the store's."""

    #: a pass every this many runs of the stream (1: every run); ``--detect-deletes``
    #: forces one
    every: int = Field(default=1, ge=1, le=100_000)


class DeletedSince(Strict):
    """Where the source lists the records deleted since a moment, and how to ask it.

    A list of deleted records (``{id: O7, deleted_at: ...}``) is read after the stream's
    deletes position, the last (deletion moment, key) read before, in that order; ``key``
    names the fields that hold the stream's ``primary_key``, in its order (default: the
    primary key's own names); ``at`` the field with the moment of the deletion. The REST
    connector asks ``GET path?since_param=<moment>`` (``since_format``: ``iso``, ``epoch``,
    ``epoch_ms`` or a strftime pattern, made earlier by ``lookback_seconds``), reads the
    records at ``records_path`` and pages as ``pagination`` says (default: as the stream's
    own list pages). A first run asks for every deletion the source keeps, or for those of
    the last ``initial_lookback_days``.
    """

    path: str = Field(min_length=1)
    key: list[str] = []
    at: str = Field(default="deleted_at", min_length=1)
    at_type: Literal["datetime", "date", "int", "str"] = "datetime"
    since_param: str = Field(default="since", min_length=1)
    since_format: str = "iso"
    lookback_seconds: float = Field(default=0.0, ge=0)
    initial_lookback_days: float | None = Field(default=None, gt=0)
    records_path: str = "data"
    params: dict[str, str | int | float | bool] = {}
    #: the connector's paging of the list (REST: a stream's ``options.pagination``)
    pagination: dict[str, Any] | None = None
    #: the list comes in (``at``, key) order; otherwise it is gathered and sorted first
    sorted: bool = True

    @field_validator("key", mode="before")
    @classmethod
    def _one_field(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _moments(self) -> DeletedSince:
        if self.initial_lookback_days is not None and self.at_type not in ("datetime", "date"):
            raise ValueError(
                f"initial_lookback_days needs moments: at_type is {self.at_type!r}, "
                "not datetime or date"
            )
        return self


class DeletesConfig(Strict):
    """How a stream's deletes are known (``deletes:`` of a stream; default ``none``).

    - ``detect``: the source's key set is compared with the store's (keys only, in key
      order); a key the source no longer has is a delete. ``{detect: {every: N}}`` runs the
      pass every N runs; ``max_share`` stops a pass that would delete more than that share
      of the stream's rows (an empty or truncated read must not wipe the store).
    - ``{flag: COLUMN, values: [...]}``: a row read with the source column ``COLUMN`` set to
      one of ``values`` (record-status codes such as ``D``, ``CZ``) is a delete of its key.
    - ``{tombstone: FIELD}``: a record whose ``FIELD`` is true is a delete (REST APIs that
      send ``deleted: true``); the same as ``{flag: FIELD, values: [true]}``.
    - ``{deleted_since: {path: /orders/deleted, ...}}``: the source lists the records
      deleted since a moment (see :class:`DeletedSince`); each run reads the list from
      where the last one stopped and marks those records. These are explicit deletes:
      ``max_share`` does not apply.
    """

    detect: DetectDeletes | None = None
    max_share: float = Field(default=DEFAULT_MAX_DELETE_SHARE, gt=0, le=1)
    flag: str | None = None
    values: list[str | int | bool] = []
    tombstone: str | None = None
    deleted_since: DeletedSince | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("none", "detect"):
                raise ValueError(
                    f"unknown deletes {value!r}: use none, detect, {{detect: {{every: N}}}}, "
                    "{flag: COLUMN, values: [...]}, {tombstone: FIELD} or "
                    "{deleted_since: {path: PATH}}"
                )
            return {} if value == "none" else {"detect": {}}
        if isinstance(value, dict) and value.get("detect") in (True, None) and "detect" in value:
            return {**value, "detect": {}}
        return value

    @model_validator(mode="after")
    def _one_way(self) -> DeletesConfig:
        ways = [w for w in WAYS if getattr(self, w) is not None]
        if len(ways) > 1:
            raise ValueError(f"give one way of knowing deletes, not {' and '.join(ways)}")
        if self.flag is not None and not self.values:
            raise ValueError("flag needs values: the codes that mark a record deleted")
        if self.values and self.flag is None:
            raise ValueError("values belong to flag: give the column with flag")
        if self.deleted_since is not None and "max_share" in self.model_fields_set:
            raise ValueError(
                "max_share belongs to detect: deleted_since lists explicit deletes, "
                "marked whatever their share"
            )
        return self

    @property
    def kind(self) -> str:
        """``none``, ``detect``, ``flag``, ``tombstone`` or ``deleted_since``."""
        for way in WAYS:
            if getattr(self, way) is not None:
                return way
        return "none"

    def flag_rule(self) -> tuple[str, list[str | int | bool]] | None:
        """The column and values that mark a row deleted (flag or tombstone), else None."""
        if self.flag is not None:
            return self.flag, list(self.values)
        if self.tombstone is not None:
            return self.tombstone, [True]
        return None

    def describe(self) -> str:
        """One line for ``crm-hub check``."""
        if self.detect is not None:
            every = "every run" if self.detect.every == 1 else f"every {self.detect.every} runs"
            return f"detect ({every}, stops above {self.max_share:.0%})"
        if self.flag is not None:
            return f"flag {self.flag} in {', '.join(str(v) for v in self.values)}"
        if self.tombstone is not None:
            return f"tombstone {self.tombstone}: true"
        if self.deleted_since is not None:
            d = self.deleted_since
            first = (
                f"first from {d.initial_lookback_days:g} days back"
                if d.initial_lookback_days
                else "first from the start"
            )
            key = f"key {', '.join(d.key)}, " if d.key else ""
            return f"deleted_since {d.path} ({key}by {d.at} after ?{d.since_param}=, {first})"
        return "none"
