"""The hub's own writes coming back: recognised on the next pull, not taken for news.

After push-back writes a change, the target's next pull reads the record again. Each
loaded batch is compared with the deliveries not yet read back (by record key and value):
a record that carries exactly what the hub wrote is the echo of that write. The delivery
is marked ``echoed_at`` with the run that read it, the run's ledger row counts it under
``checks.echoes``, and from then on the pulled value is what the hub expects there.

A delivery still to be written is awaited too (with the values its change will write): a
pull that finds them in the target shows the write was made, by an attempt that crashed
before recording it. The delivery is marked read back, and push-back records it ``done``
without asking the target again, so a back-office edit made after the write is not taken
for a conflict with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, and_, select, update

from crm_core.pushback.values import same, typed
from crm_core.store.tables import outbox, outbox_targets
from schemas.entities import ENTITIES
from schemas.errors import HubError
from schemas.pushback import UNWRITTEN_DELIVERIES, WRITTEN_DELIVERIES, PushBackConfig


@dataclass
class Awaited:
    """The hub's writes to one stream that no pull has read back yet, by record key:
    loaded once per sync run, so a stream with none pays nothing per batch."""

    source: str
    entity: str
    by_key: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_key)


def awaiting(
    store: Engine, source: str, stream: str, entity: str, push_back: PushBackConfig | None = None
) -> Awaited:
    """The writes of the hub to this stream of ``source`` not read back yet; with the
    ``push_back`` settings (which fields go where), also the deliveries still to be
    written, with the values their changes will write there."""
    awaited = Awaited(source, entity)
    with store.connect() as conn:
        if push_back is not None:
            _awaiting_unwritten(conn, awaited, stream, push_back)
        rows = conn.execute(
            select(
                outbox_targets.c.change_id,
                outbox_targets.c.record_key,
                outbox_targets.c.written,
            ).where(
                outbox_targets.c.target == source,
                outbox_targets.c.stream == stream,
                outbox_targets.c.state.in_(WRITTEN_DELIVERIES),
                outbox_targets.c.echoed_at.is_(None),
            )
        )
        for change_id, record_key, written in rows:
            awaited.by_key.setdefault(record_key, []).append((change_id, written or {}))
    return awaited


def note_echoes(
    conn: Connection, awaited: Awaited, records: pl.DataFrame, run_id: int | None
) -> int:
    """Mark the awaited writes this loaded batch carries (in the batch's transaction) and
    stop awaiting them; return how many."""
    key_field = ENTITIES[awaited.entity].key[0]
    if not awaited or records.is_empty() or key_field not in records.columns:
        return 0
    batch = records.filter(pl.col(key_field).is_in(list(awaited.by_key)))
    now = datetime.now(UTC)
    echoed = 0
    for row in batch.iter_rows(named=True):
        key = row[key_field]
        for change_id, written in list(awaited.by_key.get(key, [])):
            if not _carries(awaited.entity, row, written):
                continue
            conn.execute(
                update(outbox_targets)
                .where(
                    and_(
                        outbox_targets.c.change_id == change_id,
                        outbox_targets.c.target == awaited.source,
                        outbox_targets.c.record_key == key,
                    )
                )
                .values(echoed_at=now, echo_run_id=run_id, updated_at=now)
            )
            awaited.by_key[key].remove((change_id, written))
            echoed += 1
        if not awaited.by_key.get(key, True):
            del awaited.by_key[key]
    return echoed


def _awaiting_unwritten(
    conn: Connection, awaited: Awaited, stream: str, push_back: PushBackConfig
) -> None:
    rows = conn.execute(
        select(
            outbox_targets.c.change_id,
            outbox_targets.c.record_key,
            outbox_targets.c.target_key,
            outbox.c.op,
            outbox.c.entity,
            outbox.c.changes,
        )
        .join(outbox, outbox.c.change_id == outbox_targets.c.change_id)
        .where(
            outbox_targets.c.target == awaited.source,
            outbox_targets.c.stream == stream,
            outbox_targets.c.state.in_(UNWRITTEN_DELIVERIES),
            outbox_targets.c.echoed_at.is_(None),
        )
    )
    fields = ENTITIES[awaited.entity].fields
    for change_id, record_key, target_key, op, entity, changes in rows:
        if entity != awaited.entity:
            continue
        values = {
            f: change["new"]
            for f, change in (changes or {}).items()
            if f in fields and (op == "create" or _routed(push_back, entity, f, awaited.source))
        }
        if op == "create":
            values.update({f: v for f, v in (target_key or {}).items() if f in fields})
        if values:
            awaited.by_key.setdefault(record_key, []).append((change_id, values))


def _routed(push_back: PushBackConfig, entity: str, field: str, target: str) -> bool:
    rule = push_back.rule(entity, field)
    return rule is not None and target in rule.targets


def _carries(entity: str, row: dict[str, Any], written: dict[str, Any]) -> bool:
    try:
        return all(
            f in row and same(row[f], typed(entity, f, v) if v is not None else None)
            for f, v in written.items()
        )
    except HubError:  # a value that does not fit the model is in no pulled record
        return False
