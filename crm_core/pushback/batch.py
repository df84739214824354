"""The store side of a push-back run, a chunk of changes at a time: what it reads before
writing (deliveries, the values the hub last pulled, its own writes not read back yet) in
a few queries, and what it records after (deliveries, conflicts, the changes' states) in
one transaction.

Recording a chunk at once is safe because every write is idempotent: a crash before the
chunk is recorded leaves its changes pending, and the next run finds each value already in
its target (``done``) and writes nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, and_, insert, select, update

from crm_core.pushback.routing import key_field
from crm_core.store.tables import RECORD_TABLES, conflicts, outbox, outbox_targets
from schemas.pushback import WRITTEN_DELIVERIES


class ChunkState:
    """Prefetched store state of a chunk of changes, and the updates it collects."""

    def __init__(self, store: Engine, changes: list[dict[str, Any]]) -> None:
        self.store = store
        self.deliveries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._stored: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._own: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._target_updates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._conflicts: list[dict[str, Any]] = []
        self._change_updates: list[tuple[int, dict[str, Any]]] = []
        self._load(changes)

    def _load(self, changes: list[dict[str, Any]]) -> None:
        ids = [c["change_id"] for c in changes]
        entity_of = {c["change_id"]: c["entity"] for c in changes}
        with self.store.connect() as conn:
            rows = conn.execute(
                select(outbox_targets).where(outbox_targets.c.change_id.in_(ids))
            ).mappings()
            wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
            for row in rows:
                delivery = dict(row)
                self.deliveries[delivery["change_id"]].append(delivery)
                wanted[entity_of[delivery["change_id"]], delivery["target"]].add(
                    delivery["record_key"]
                )
            for (entity, target), keys in wanted.items():
                table = RECORD_TABLES[entity]
                key = table.c[key_field(entity)]
                found = conn.execute(
                    select(table).where(table.c.source == target, key.in_(sorted(keys)))
                ).mappings()
                for record in found:
                    self._stored[entity, target, record[key.name]] = dict(record)
            every_key = sorted({k for ks in wanted.values() for k in ks})
            own = conn.execute(
                select(
                    outbox_targets.c.target,
                    outbox_targets.c.record_key,
                    outbox_targets.c.change_id,
                    outbox_targets.c.written,
                )
                .where(
                    outbox_targets.c.record_key.in_(every_key),
                    outbox_targets.c.echoed_at.is_(None),
                    outbox_targets.c.state.in_(WRITTEN_DELIVERIES),
                )
                .order_by(outbox_targets.c.written_at)
            )
            for target, record_key, change_id, written in own:
                self._own[target, record_key].append((change_id, written or {}))

    def pulled(self, entity: str, target: str, record_key: str) -> dict[str, Any]:
        """What the hub last pulled of one record (empty: never pulled)."""
        return self._stored.get((entity, target, record_key), {})

    def own_writes(
        self, target: str, record_key: str, but: str, fields: list[str]
    ) -> dict[str, Any]:
        """The hub's own writes to one record that no pull has read back yet, oldest first
        overlaid (change ``but``'s own aside): what the target should hold now."""
        out: dict[str, Any] = {}
        for change_id, written in self._own.get((target, record_key), []):
            if change_id != but:
                out.update({f: v for f, v in written.items() if f in fields})
        return out

    def record_delivery(self, delivery: dict[str, Any], values: dict[str, Any]) -> None:
        """Queue a delivery's new values; a write also becomes one of the hub's own."""
        delivery.update(values)
        self._target_updates.append((delivery, values))
        if values.get("state") in WRITTEN_DELIVERIES:
            key = (delivery["target"], delivery["record_key"])
            self._own[key].append((delivery["change_id"], values.get("written") or {}))

    def record_conflicts(self, rows: list[dict[str, Any]]) -> None:
        """Queue conflict rows."""
        self._conflicts += rows

    def record_change(self, change_row_id: int, values: dict[str, Any]) -> None:
        """Queue a change's new state."""
        self._change_updates.append((change_row_id, values))

    def flush(self) -> None:
        """Record everything queued, in one transaction."""
        if not (self._target_updates or self._conflicts or self._change_updates):
            return
        with self.store.begin() as conn:
            for delivery, values in self._target_updates:
                conn.execute(
                    update(outbox_targets)
                    .where(
                        and_(
                            outbox_targets.c.change_id == delivery["change_id"],
                            outbox_targets.c.target == delivery["target"],
                            outbox_targets.c.record_key == delivery["record_key"],
                        )
                    )
                    .values(**values)
                )
            if self._conflicts:
                conn.execute(insert(conflicts), self._conflicts)
            for row_id, values in self._change_updates:
                conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))
        self._target_updates, self._conflicts, self._change_updates = [], [], []
