"""Conflicts between CRM-side changes and back-office changes: list them, settle them.

A conflict is open when its field's policy is ``manual`` (or ``newest_wins`` could not
tell which side is newer). Resolving it for the CRM side sends the delivery back to the
queue to be written regardless of the target's value; for the target, the delivery is
skipped and the target's value stays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, select, update

from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.store.tables import conflicts, outbox, outbox_targets
from schemas.pushback import ConflictState, PushState


def list_conflicts(
    store: Engine, state: str | None = ConflictState.OPEN, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Conflicts, newest first (open ones unless ``state`` says otherwise; None: all)."""
    if state not in (ConflictState.OPEN, ConflictState.RESOLVED, None):
        raise ChangeRejected(f"state must be open, resolved or all, not {state!r}")
    stmt = select(conflicts).order_by(conflicts.c.id.desc()).limit(limit).offset(offset)
    if state:
        stmt = stmt.where(conflicts.c.state == state)
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def count_conflicts(store: Engine, state: str | None = ConflictState.OPEN) -> int:
    """How many conflicts there are (in ``state``; None: all)."""
    stmt = select(func.count()).select_from(conflicts)
    if state:
        stmt = stmt.where(conflicts.c.state == state)
    with store.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def resolve(
    store: Engine, conflict_id: int, keep: Literal["crm", "target"], who: str
) -> dict[str, Any]:
    """Settle an open conflict: ``crm`` writes the change over the target's value at the
    next push-back, ``target`` keeps the target's value. Other open conflicts of the same
    delivery are settled the same way."""
    if keep not in ("crm", "target"):
        raise ChangeRejected("keep must be crm or target")
    now = datetime.now(UTC)
    with store.begin() as conn:
        row = (
            conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)).mappings().first()
        )
        if row is None:
            raise UnknownChange(f"no conflict {conflict_id}")
        if row["state"] != ConflictState.OPEN:
            raise ChangeRejected(
                f"conflict {conflict_id} was resolved already ({row['resolution']} by "
                f"{row['resolved_by']})",
                conflict=True,
            )
        same_delivery = (
            conflicts.c.change_id == row["change_id"],
            conflicts.c.target == row["target"],
            conflicts.c.record_key == row["record_key"],
            conflicts.c.state == ConflictState.OPEN,
        )
        conn.execute(
            update(conflicts)
            .where(*same_delivery)
            .values(state=ConflictState.RESOLVED, resolution=keep, resolved_by=who, resolved_at=now)
        )
        conn.execute(
            update(outbox_targets)
            .where(
                outbox_targets.c.change_id == row["change_id"],
                outbox_targets.c.target == row["target"],
                outbox_targets.c.record_key == row["record_key"],
                outbox_targets.c.state == PushState.CONFLICT,
            )
            .values(state=PushState.FORCE if keep == "crm" else PushState.SKIPPED, updated_at=now)
        )
        still = conn.execute(
            select(outbox_targets.c.state).where(
                outbox_targets.c.change_id == row["change_id"],
                outbox_targets.c.state == PushState.CONFLICT,
            )
        ).first()
        if still is None:
            conn.execute(
                update(outbox)
                .where(outbox.c.change_id == row["change_id"])
                .values(state=PushState.PENDING, next_attempt_at=None, updated_at=now)
            )
        resolved = conn.execute(select(conflicts).where(conflicts.c.id == conflict_id))
        return dict(resolved.mappings().one())
