"""What ops see of the outbox and do with it: list, retry a dead letter, cancel a change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.pushback.submit import ChangeView, load_change
from crm_core.store.tables import outbox, outbox_targets
from schemas.pushback import CHANGE_STATES, PushState


def list_changes(
    store: Engine,
    state: str | None = None,
    golden_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ChangeView]:
    """Changes, newest first; only those in ``state`` or of one customer when given."""
    if state is not None and state not in CHANGE_STATES:
        raise ChangeRejected(f"state must be one of {', '.join(CHANGE_STATES)}, not {state!r}")
    stmt = select(outbox.c.change_id).order_by(outbox.c.id.desc()).limit(limit).offset(offset)
    if state:
        stmt = stmt.where(outbox.c.state == state)
    if golden_id:
        stmt = stmt.where(outbox.c.golden_id == golden_id)
    with store.connect() as conn:
        ids = [r[0] for r in conn.execute(stmt)]
        return [load_change(conn, i) for i in ids]


def count_changes(store: Engine, state: str | None = None) -> int:
    """How many changes there are (in ``state``, when given)."""
    stmt = select(func.count()).select_from(outbox)
    if state:
        stmt = stmt.where(outbox.c.state == state)
    with store.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


#: At most this many candidates are named when a prefix is ambiguous.
CANDIDATES_SHOWN = 10


def resolve_change_id(store: Engine, given: str) -> str:
    """The whole id of the change ``given`` names: the id itself, or a unique prefix of one
    (a table cell cut with "…" included). An unknown or ambiguous prefix is an error that
    lists the candidates."""
    prefix = given.strip().rstrip("…").rstrip(".")
    if not prefix:
        raise UnknownChange(f"no change {given!r}")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        select(outbox.c.change_id)
        .where(outbox.c.change_id.like(f"{escaped}%", escape="\\"))
        .order_by(outbox.c.change_id)
        .limit(CANDIDATES_SHOWN + 1)
    )
    with store.connect() as conn:
        found = [r[0] for r in conn.execute(stmt)]
    if prefix in found:
        return prefix
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise UnknownChange(f"no change {given!r} (nor one whose id starts so)")
    shown = ", ".join(found[:CANDIDATES_SHOWN]) + (", ..." if len(found) > CANDIDATES_SHOWN else "")
    raise UnknownChange(f"{given!r} is the start of several change ids: {shown}; give more of it")


def counts(store: Engine) -> dict[str, int]:
    """Changes per state."""
    with store.connect() as conn:
        rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
        return {state: int(n) for state, n in rows}


def retry(store: Engine, change_id: str, who: str) -> ChangeView:
    """Send a dead letter (failed change) back to the queue, due now, attempts reset."""
    now = datetime.now(UTC)
    with store.begin() as conn:
        change = load_change(conn, change_id)
        if change.state != PushState.FAILED:
            raise ChangeRejected(
                f"{change_id} is {change.state}; only failed changes are retried", conflict=True
            )
        conn.execute(
            update(outbox_targets)
            .where(
                outbox_targets.c.change_id == change_id, outbox_targets.c.state == PushState.FAILED
            )
            .values(state=PushState.PENDING, attempts=0, updated_at=now)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.change_id == change_id)
            .values(
                state=PushState.PENDING,
                attempts=0,
                next_attempt_at=None,
                last_error=f"retried by {who}",
                updated_at=now,
            )
        )
        return load_change(conn, change_id)


def cancel(store: Engine, change_id: str, who: str) -> ChangeView:
    """Give up a change that is not delivered: nothing more is written for it (what was
    written already stays written)."""
    now = datetime.now(UTC)
    with store.begin() as conn:
        change = load_change(conn, change_id)
        if change.state in (PushState.DELIVERED, PushState.CANCELLED, PushState.GONE):
            raise ChangeRejected(f"{change_id} is {change.state} already", conflict=True)
        conn.execute(
            update(outbox_targets)
            .where(
                outbox_targets.c.change_id == change_id,
                outbox_targets.c.state.in_(
                    (PushState.PENDING, PushState.FAILED, PushState.CONFLICT, PushState.FORCE)
                ),
            )
            .values(state=PushState.CANCELLED, updated_at=now)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.change_id == change_id)
            .values(
                state=PushState.CANCELLED,
                last_error=f"cancelled by {who}",
                finished_at=now,
                updated_at=now,
            )
        )
        return load_change(conn, change_id)


def as_rows(changes: list[ChangeView], wide: bool = False) -> list[dict[str, Any]]:
    """Changes as table rows for the CLI: fields and error cut at 60 characters unless
    ``wide``."""
    cut = None if wide else 60
    return [
        {
            "change": c.change_id,
            "state": c.state,
            "customer": c.golden_id or "",
            "entity": c.entity,
            "op": c.op,
            "fields": ", ".join(f"{f}={v['new']}" for f, v in c.changes.items())[:cut],
            "targets": ", ".join(f"{t['target']}:{t['state']}" for t in c.targets),
            "who": c.who,
            "attempts": c.attempts,
            "error": (c.last_error or "")[:cut],
        }
        for c in changes
    ]
