"""A change as the CLI and the API show it, read from the outbox with its deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.pushback.errors import UnknownChange
from crm_core.pushback.values import jsonable
from crm_core.store.lookup import among
from crm_core.store.tables import outbox, outbox_targets


@dataclass
class ChangeView:
    """A change as the CLI and the API show it."""

    change_id: str
    idempotency_key: str
    golden_id: str | None
    entity: str
    op: str
    record_key: str
    changes: dict[str, dict[str, Any]]
    who: str
    created_at: datetime
    state: str
    attempts: int = 0
    last_error: str | None = None
    finished_at: datetime | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    #: whether this is the change an earlier request with the same idempotency key stored
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        out = {k: jsonable(v) for k, v in self.__dict__.items() if k not in ("targets", "replayed")}
        out["targets"] = [{k: jsonable(v) for k, v in t.items()} for t in self.targets]
        return out


#: The columns of a change's view, in :class:`ChangeView`'s order.
_VIEW_COLUMNS = [
    outbox.c[name]
    for name in (
        "change_id",
        "idempotency_key",
        "golden_id",
        "entity",
        "op",
        "record_key",
        "changes",
        "who",
        "created_at",
        "state",
        "attempts",
        "last_error",
        "finished_at",
    )
]
#: The columns of a delivery as a view shows it (after the change id).
_TARGET_COLUMNS = (
    "target",
    "stream",
    "record_key",
    "state",
    "attempts",
    "last_error",
    "written_at",
    "echoed_at",
)


def load_change(conn: Connection, change_id: str) -> ChangeView:
    """One change with its deliveries (``UnknownChange`` if there is none)."""
    found = load_changes(conn, [change_id])
    if change_id not in found:
        raise UnknownChange(f"no change {change_id!r}")
    return found[change_id]


def load_changes(conn: Connection, change_ids: Sequence[str]) -> dict[str, ChangeView]:
    """Changes with their deliveries by change id (those that exist), in two queries (on
    SQLite, two a few thousand changes)."""
    out: dict[str, ChangeView] = {}
    for where in among(conn, outbox.c.change_id, change_ids):
        rows = conn.execute(select(*_VIEW_COLUMNS).where(where)).all()
        out.update((r[0], ChangeView(*r)) for r in rows)
    columns = [outbox_targets.c[c] for c in _TARGET_COLUMNS]
    for where in among(conn, outbox_targets.c.change_id, change_ids):
        targets = conn.execute(
            select(outbox_targets.c.change_id, *columns)
            .where(where)
            .order_by(outbox_targets.c.target, outbox_targets.c.record_key)
        ).all()
        for change_id, *values in targets:
            out[change_id].targets.append(dict(zip(_TARGET_COLUMNS, values, strict=True)))
    return out


def get_change(store: Engine, change_id: str) -> ChangeView:
    """One change and where its deliveries stand."""
    with store.connect() as conn:
        return load_change(conn, change_id)
