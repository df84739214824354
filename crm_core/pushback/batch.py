"""The store side of a push-back run, a chunk of changes at a time: what it reads before
writing (deliveries, the values the hub last pulled, its own writes not read back yet) in
a few queries, and what it records after (deliveries, conflicts, the changes' states) in
one transaction.

Recording a chunk at once is safe because every write is idempotent: a crash before the
chunk is recorded leaves its changes pending, and the next run finds each value already in
its target (``done``) and writes nothing twice.

One change the store refuses to record (a value it cannot hold, say) must not take the
chunk down with it: when the chunk's transaction fails, it is recorded again one change at
a time, each in a savepoint, and a change that still fails becomes a dead letter with the
reason (:class:`DeadLetter`), while the deliveries the others made are recorded. A lost
store connection is not such a change: it ends the run, as any store failure does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from crm_core.pushback.routing import key_field
from crm_core.store.tables import RECORD_TABLES, conflicts, outbox, outbox_targets, runs
from schemas.pushback import WRITTEN_DELIVERIES, PushState

log = logging.getLogger("crm_hub.pushback")


@dataclass
class _ChangeRecord:
    """What one change's delivery attempts left to record."""

    change_id: str
    row_id: int | None = None
    values: dict[str, Any] | None = None
    deliveries: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DeadLetter:
    """A change the store could not record as it was: recorded as a dead letter instead."""

    change_id: str
    #: the state the change would have had
    was: str | None
    reason: str


class ChunkState:
    """Prefetched store state of a chunk of changes, and the updates it collects."""

    def __init__(self, store: Engine, changes: list[dict[str, Any]]) -> None:
        self.store = store
        self.deliveries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._stored: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._own: dict[tuple[str, str], list[tuple[str, dict[str, Any], datetime | None]]] = (
            defaultdict(list)
        )
        self._run_started: dict[int, datetime] = {}
        self._records: dict[str, _ChangeRecord] = {}
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
            run_ids = sorted({r["run_id"] for r in self._stored.values() if r.get("run_id")})
            for part in (run_ids[i : i + 500] for i in range(0, len(run_ids), 500)):
                started = conn.execute(
                    select(runs.c.id, runs.c.started_at).where(runs.c.id.in_(part))
                )
                self._run_started.update(dict(started.all()))
            every_key = sorted({k for ks in wanted.values() for k in ks})
            own = conn.execute(
                select(
                    outbox_targets.c.target,
                    outbox_targets.c.record_key,
                    outbox_targets.c.change_id,
                    outbox_targets.c.written,
                    outbox_targets.c.written_at,
                )
                .where(
                    outbox_targets.c.record_key.in_(every_key),
                    outbox_targets.c.echoed_at.is_(None),
                    outbox_targets.c.state.in_(WRITTEN_DELIVERIES),
                )
                .order_by(outbox_targets.c.written_at)
            )
            for target, record_key, change_id, written, written_at in own:
                self._own[target, record_key].append((change_id, written or {}, written_at))

    def pulled(self, entity: str, target: str, record_key: str) -> dict[str, Any]:
        """What the hub last pulled of one record (empty: never pulled)."""
        return self._stored.get((entity, target, record_key), {})

    def _read_since(self, entity: str, target: str, record_key: str) -> datetime | None:
        """From when on the hub's last pull of one record read it: the start of the run that
        loaded it (None: never pulled)."""
        record = self.pulled(entity, target, record_key)
        started = self._run_started.get(record.get("run_id") or -1)
        return started or record.get("loaded_at")

    def own_writes(
        self, entity: str, target: str, record_key: str, but: str, fields: list[str]
    ) -> dict[str, Any]:
        """The hub's own writes to one record that no pull has read since, oldest first
        overlaid (change ``but``'s own aside): what the target should hold now, where it
        differs from what the hub last pulled. A write older than the pull that last read
        the record is not expected there any more: that pull saw what became of it (the
        back office may have changed it since, and the hub has read that)."""
        since = self._read_since(entity, target, record_key)
        out: dict[str, Any] = {}
        for change_id, written, written_at in self._own.get((target, record_key), []):
            if change_id == but:
                continue
            if since is not None and written_at is not None and written_at < since:
                continue
            out.update({f: v for f, v in written.items() if f in fields})
        return out

    def _record(self, change_id: str) -> _ChangeRecord:
        if change_id not in self._records:
            self._records[change_id] = _ChangeRecord(change_id)
        return self._records[change_id]

    def record_delivery(self, delivery: dict[str, Any], values: dict[str, Any]) -> None:
        """Queue a delivery's new values; a write also becomes one of the hub's own."""
        delivery.update(values)
        self._record(delivery["change_id"]).deliveries.append((delivery, values))
        if values.get("state") in WRITTEN_DELIVERIES:
            key = (delivery["target"], delivery["record_key"])
            written = values.get("written") or {}
            self._own[key].append((delivery["change_id"], written, values.get("written_at")))

    def record_conflicts(self, rows: list[dict[str, Any]]) -> None:
        """Queue conflict rows."""
        for row in rows:
            self._record(row["change_id"]).conflicts.append(row)

    def record_change(self, change_id: str, change_row_id: int, values: dict[str, Any]) -> None:
        """Queue a change's new state."""
        record = self._record(change_id)
        record.row_id, record.values = change_row_id, values

    def flush(self) -> list[DeadLetter]:
        """Record everything queued, in one transaction; if the store refuses it, one change
        at a time, the changes it still refuses as dead letters (returned)."""
        records = [r for r in self._records.values() if r.deliveries or r.conflicts or r.values]
        self._records = {}
        if not records:
            return []
        try:
            with self.store.begin() as conn:
                for record in records:
                    _write_record(conn, record)
            return []
        except Exception as exc:
            if _store_lost(exc):
                raise
            log.warning(
                "push-back: the store refused a chunk of %d changes (%s); recording them one "
                "at a time",
                len(records),
                error_line(exc),
            )
        dead: list[DeadLetter] = []
        with self.store.begin() as conn:
            for record in records:
                failed = _attempt(conn, _write_record, conn, record)
                if failed is not None:
                    dead.append(_record_dead_letter(conn, record, failed))
        return dead


def _write_record(conn: Connection, record: _ChangeRecord) -> None:
    """One change's deliveries, conflicts and state."""
    for delivery, values in record.deliveries:
        _update_delivery(conn, delivery, values)
    if record.conflicts:
        conn.execute(insert(conflicts), record.conflicts)
    if record.row_id is not None and record.values:
        conn.execute(update(outbox).where(outbox.c.id == record.row_id).values(**record.values))


def _update_delivery(conn: Connection, delivery: dict[str, Any], values: dict[str, Any]) -> None:
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


def _record_dead_letter(conn: Connection, record: _ChangeRecord, error: Exception) -> DeadLetter:
    """Record a change the store refused as a dead letter, keeping what its deliveries did
    in the targets where the store takes it (a write made stays on record, so a rerun after
    ``outbox retry`` finds it and writes nothing twice)."""
    now = datetime.now(UTC)
    reasons = []
    for delivery, values in record.deliveries:
        mine = [c for c in record.conflicts if c["target"] == delivery["target"]]
        failed = _attempt(conn, _write_delivery, conn, delivery, values, mine)
        if failed is None:
            continue
        reason = (
            f"change {record.change_id} -> {delivery['target']} {delivery['record_key']}: "
            f"the hub could not record it: {error_line(failed)}"
        )
        reasons.append(reason)
        kept = {"attempts": values.get("attempts", delivery["attempts"]), "updated_at": now}
        kept["last_error"] = reason[:2000]
        written = values.get("state") in WRITTEN_DELIVERIES
        fallbacks = [{**kept, "state": PushState.FAILED}]
        if written:  # the write happened: keep it on record, if the store takes that
            keep = ("state", "written", "written_at")
            fallbacks.insert(0, {**kept, **{k: values[k] for k in keep if k in values}})
        for fallback in fallbacks:
            if _attempt(conn, _update_delivery, conn, delivery, fallback) is None:
                break
        else:
            raise failed
    if not reasons:  # the deliveries are on record: it was the change's own row
        reasons.append(
            f"change {record.change_id}: the hub could not record it: {error_line(error)}"
        )
    values = record.values or {}
    reason = "; ".join(reasons)[:2000]
    dead: dict[str, Any] = {
        "state": PushState.FAILED,
        "finished_at": None,
        "next_attempt_at": None,
        "last_error": reason,
        "updated_at": now,
    }
    if "attempts" in values:
        dead["attempts"] = values["attempts"]
    mark = update(outbox).where(outbox.c.change_id == record.change_id).values(**dead)
    failed = _attempt(conn, conn.execute, mark)
    if failed is not None:
        raise failed
    log.error("push-back: dead letter: %s", reason)
    return DeadLetter(record.change_id, values.get("state"), reason)


def _write_delivery(
    conn: Connection, delivery: dict[str, Any], values: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    _update_delivery(conn, delivery, values)
    if rows:
        conn.execute(insert(conflicts), rows)


def _attempt(conn: Connection, work: Callable[..., object], *args: Any) -> Exception | None:
    """Run ``work(*args)`` in a savepoint; the error that rolled it back, if any. A lost
    store connection is raised: no change is to blame for it."""
    try:
        with conn.begin_nested():
            work(*args)
    except Exception as exc:
        if _store_lost(exc):
            raise
        return exc
    return None


def _store_lost(exc: BaseException) -> bool:
    """Whether the store itself failed (connection lost, timeout, lock) rather than refused
    one change's values."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


def printable(text: str) -> str:
    """``text`` with control characters (NUL, escapes) shown as ``\\xNN`` escapes: safe to
    store and to print whatever a value carried."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def error_line(exc: BaseException) -> str:
    """The error's type and the first line of its message, printable."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return printable(f"{type(orig).__name__}: {text}"[:500])
