"""The hub's own writes coming back: recognised on the next pull, not taken for news.

After push-back writes a change, the target's next pull reads the record again. Each
loaded batch is compared with the deliveries not yet read back (by record key and value):
a record that carries exactly what the hub wrote is the echo of that write. The delivery
is marked ``echoed_at`` with the run that read it, the run's ledger row counts it under
``checks.echoes``, and from then on the pulled value is what the hub expects there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, and_, select, update

from crm_core.pushback.values import same, typed
from crm_core.store.tables import outbox_targets

WRITTEN = ("applied", "done")


def awaiting(store: Engine, source: str, stream: str) -> bool:
    """Whether any write of the hub to this stream has not been read back yet (checked
    once per sync run, so a stream with none pays nothing per batch)."""
    with store.connect() as conn:
        return (
            conn.execute(
                select(outbox_targets.c.change_id)
                .where(
                    outbox_targets.c.target == source,
                    outbox_targets.c.stream == stream,
                    outbox_targets.c.state.in_(WRITTEN),
                    outbox_targets.c.echoed_at.is_(None),
                )
                .limit(1)
            ).first()
            is not None
        )


def note_echoes(
    conn: Connection,
    source: str,
    stream: str,
    entity: str,
    key_field: str,
    records: pl.DataFrame,
    run_id: int | None,
) -> int:
    """Mark the deliveries whose written values this batch carries; return how many."""
    if records.is_empty() or key_field not in records.columns:
        return 0
    pending = conn.execute(
        select(
            outbox_targets.c.change_id,
            outbox_targets.c.record_key,
            outbox_targets.c.written,
        ).where(
            outbox_targets.c.target == source,
            outbox_targets.c.stream == stream,
            outbox_targets.c.state.in_(WRITTEN),
            outbox_targets.c.echoed_at.is_(None),
        )
    ).all()
    if not pending:
        return 0
    keys = {r.record_key for r in pending}
    rows = {
        row[key_field]: row
        for row in records.filter(pl.col(key_field).is_in(list(keys))).iter_rows(named=True)
    }
    now = datetime.now(UTC)
    echoed = 0
    for change_id, record_key, written in pending:
        row = rows.get(record_key)
        if row is None or not _carries(entity, row, written or {}):
            continue
        conn.execute(
            update(outbox_targets)
            .where(
                and_(
                    outbox_targets.c.change_id == change_id,
                    outbox_targets.c.target == source,
                    outbox_targets.c.record_key == record_key,
                )
            )
            .values(echoed_at=now, echo_run_id=run_id, updated_at=now)
        )
        echoed += 1
    return echoed


def _carries(entity: str, row: dict[str, Any], written: dict[str, Any]) -> bool:
    return all(
        f in row and same(row[f], typed(entity, f, v) if v is not None else None)
        for f, v in written.items()
    )
