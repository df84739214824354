"""The push-back run: drain the outbox through the targets' write paths.

Delivery is at least once, and every write is idempotent, so the effect is exactly once:

- each delivery (one change, one target record) reads the target's current values inside
  the write's transaction; values already equal to the change's are ``done`` (a retry
  after a crash between the write and the outbox update finds its own write there);
- values equal to what the hub last read (or last wrote, until the pull reads it back)
  are overwritten; any other value is a change made in the back office since, and is a
  conflict, settled by the field's policy (``owner_wins``, ``newest_wins``) or left open
  for a person (``manual``): see :mod:`crm_core.pushback.decide`;
- REST targets get the same idempotency key on every attempt;
- a transient failure is retried with exponential backoff and jitter; after
  ``max_attempts`` (or at once, for a permanent error) the change is a dead letter;
- a change that cannot be processed at all (an unexpected error, or values the store will
  not record) is a dead letter on its own, with the reason: the others go on, and the
  writes they made are recorded (see :mod:`crm_core.pushback.batch`);
- changes of one customer are delivered in the order they were made: a change waits
  while an earlier one of the same customer is unfinished.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, or_, select, update

from connectors import open_source
from connectors.base import stamps_writes
from crm_core.ledger import leases, runs
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK
from crm_core.pushback import routing
from crm_core.pushback.batch import ChunkState, error_line, printable
from crm_core.pushback.decide import Attempt
from crm_core.pushback.failpoints import failpoint
from crm_core.pushback.values import jsonable, typed
from crm_core.store.tables import outbox
from crm_core.store.tables import runs as ledger
from mappings.compile import CompiledStream
from mappings.inverse import to_source
from schemas.errors import HubError, RetriableError
from schemas.pushback import FINISHED_DELIVERIES, UNFINISHED_CHANGES, ConflictState, PushState
from schemas.settings import HubConfig
from schemas.source import (
    BatchWritableSource,
    Source,
    WritableSource,
    Write,
    WriteOutcome,
    WriteRequest,
)

log = logging.getLogger("crm_hub.pushback")

#: Changes whose store state is read and recorded together (see crm_core.pushback.batch).
CHUNK = 200
#: Dead letters a failed run's error names one by one.
DEAD_LETTERS_NAMED = 10


@dataclass
class PushResult:
    """What one push-back run did."""

    run_id: int | None = None
    changes: int = 0
    delivered: int = 0
    written: int = 0
    already_applied: int = 0
    conflicts: int = 0
    retrying: int = 0
    failed: int = 0
    gone: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the CLI, the API and a scheduler's log."""
        return dict(self.__dict__)


def _backoff(config: HubConfig, attempts: int) -> timedelta:
    base = config.push_back.backoff_seconds * 2 ** max(0, attempts - 1)
    capped = min(base, config.push_back.max_backoff_seconds)
    return timedelta(seconds=capped * random.uniform(0.5, 1.0))


class PushBack:
    """One push-back run over the store's outbox."""

    def __init__(self, config: HubConfig, store: Engine) -> None:
        self.config = config
        self.store = store
        self._sources: dict[str, Source] = {}

    def _source(self, target: str) -> WritableSource:
        if target not in self._sources:
            self._sources[target] = open_source(
                target, self.config.source(target), self.config.base_dir
            )
        source = self._sources[target]
        if not isinstance(source, WritableSource):
            raise HubError(f"source {target!r} ({type(source).__name__}) cannot write changes")
        return source

    def close(self) -> None:
        """Close the connectors this run opened."""
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Pending changes whose next attempt is due, oldest first."""
        with self.store.connect() as conn:
            rows = conn.execute(
                select(outbox)
                .where(
                    outbox.c.state == PushState.PENDING,
                    or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
                )
                .order_by(outbox.c.id)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def _unfinished(self, due: list[dict[str, Any]]) -> dict[str, list[int]]:
        """For the customers of the due changes: the ids of their unfinished changes
        (pending, in conflict, dead letters), oldest first. One query per run."""
        goldens = {c["golden_id"] for c in due if c["golden_id"]}
        out: dict[str, list[int]] = {}
        with self.store.connect() as conn:
            for part in _chunks(sorted(goldens), 500):
                rows = conn.execute(
                    select(outbox.c.golden_id, outbox.c.id)
                    .where(
                        outbox.c.golden_id.in_(part),
                        outbox.c.state.in_(UNFINISHED_CHANGES),
                    )
                    .order_by(outbox.c.id)
                )
                for golden, change_id in rows:
                    out.setdefault(golden, []).append(change_id)
        return out

    def run(
        self, limit: int | None = None, progress: Callable[[PushResult], None] | None = None
    ) -> PushResult:
        """Deliver what is due, as a run of the ledger: failed when a change became a dead
        letter (its error names each one, its target and why). A run with nothing due is
        counted in the hour's no-op row instead of a row of its own (see :func:`fold_noop`).
        One push-back at a time: another one running makes this one
        :class:`~crm_core.ledger.leases.AlreadyRunning`."""
        result = PushResult()
        result.run_id, lease = leases.start_leased_run(
            self.store, HUB_SOURCE, PUSH_BACK, "", "push"
        )
        try:
            return self._run(result, limit, progress)
        finally:
            lease.release()

    def _run(
        self,
        result: PushResult,
        limit: int | None,
        progress: Callable[[PushResult], None] | None,
    ) -> PushResult:
        assert result.run_id is not None
        counts = runs.RunCounts()
        error = None
        try:
            due = self.due(datetime.now(UTC), limit or self.config.push_back.batch_size)
            unfinished = self._unfinished(due)
            for part in _chunks(due, CHUNK):
                chunk = ChunkState(self.store, part)
                try:
                    self._deliver_chunk(part, unfinished, result, chunk)
                finally:
                    dead = chunk.flush()
                for letter in dead:
                    result.failed += 1
                    if letter.was == PushState.DELIVERED:
                        result.delivered -= 1
                    result.errors.append(letter.reason)
                if progress:
                    progress(result)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.close()
            counts.rows_read = result.changes
            counts.rows_loaded = result.written
            counts.checks = {
                k: v for k, v in result.as_dict().items() if k not in ("run_id", "errors")
            }
            if error is None and result.failed:
                error = dead_letters_error(result)
            if error is None and not result.changes:
                result.run_id = fold_noop(self.store, result.run_id, counts.checks)
            else:
                runs.finish_run(self.store, result.run_id, counts, error)
        return result

    def _deliver_chunk(
        self,
        part: list[dict[str, Any]],
        unfinished: dict[str, list[int]],
        result: PushResult,
        chunk: ChunkState,
    ) -> None:
        """Deliver a chunk's changes, oldest first, in waves written together: a change
        joins the wave unless an earlier change of its customer, or a change of one of its
        records, is in it already (then the wave is delivered first, and the change waits
        if that earlier change did not finish)."""
        finished = (PushState.DELIVERED, PushState.CANCELLED, PushState.GONE)
        wave: list[dict[str, Any]] = []
        customers: set[str] = set()
        records: set[tuple[str, str]] = set()

        def flush() -> None:
            for change, state in zip(wave, self.deliver_many(wave, result, chunk), strict=True):
                earlier = unfinished.get(change["golden_id"] or "", [])
                if state in finished and change["id"] in earlier:
                    earlier.remove(change["id"])
            wave.clear()
            customers.clear()
            records.clear()

        for change in part:
            result.changes += 1
            mine = {
                (d["target"], d["record_key"])
                for d in chunk.deliveries.get(change["change_id"], [])
            }
            if (change["golden_id"] and change["golden_id"] in customers) or mine & records:
                flush()
            earlier = unfinished.get(change["golden_id"] or "", [])
            if earlier and earlier[0] < change["id"]:
                result.waiting += 1  # an earlier change of this customer first
                continue
            wave.append(change)
            customers.add(change["golden_id"] or "")
            records.update(mine)
        flush()

    def deliver(self, change: dict[str, Any], result: PushResult, chunk: ChunkState) -> str:
        """Try every unfinished delivery of one change and queue in ``chunk`` what became
        of them and of the change; return the change's new state."""
        return self.deliver_many([change], result, chunk)[0]

    def deliver_many(
        self, changes: list[dict[str, Any]], result: PushResult, chunk: ChunkState
    ) -> list[str]:
        """Try every unfinished delivery of changes to different records, the writes to
        each target together (:meth:`_write_all`), and queue in ``chunk`` what became of
        them and of the changes; return the changes' new states."""
        transient: set[str] = set()
        writes: list[_Write] = []
        for change in changes:
            for delivery in chunk.deliveries.get(change["change_id"], []):
                if delivery["state"] not in (PushState.PENDING, PushState.FORCE):
                    continue
                try:
                    prepared = self._prepare(change, delivery, result, chunk)
                except Exception as exc:  # noqa: BLE001 - recorded by _failed
                    self._failed(change, delivery, exc, result, chunk, transient)
                    continue
                if isinstance(prepared, _Write):
                    writes.append(prepared)
                else:
                    chunk.record_delivery(delivery, prepared)
        for write, outcome in zip(writes, self._write_all(writes), strict=True):
            change, delivery = write.change, write.delivery
            if isinstance(outcome, Exception):
                self._failed(change, delivery, outcome, result, chunk, transient)
                continue
            try:
                values, conflicting = self._finish(write, outcome, result)
            except Exception as exc:  # noqa: BLE001 - recorded by _failed
                self._failed(change, delivery, exc, result, chunk, transient)
                continue
            if values.get("state") == PushState.FAILED:  # a dead letter: say which and why
                result.errors.append(str(values["last_error"]))
            chunk.record_delivery(delivery, values)
            chunk.record_conflicts(conflicting)
        states = []
        for change in changes:
            deliveries = chunk.deliveries.get(change["change_id"], [])
            settled = self._settle(change, deliveries, change["change_id"] in transient, result)
            chunk.record_change(change["change_id"], change["id"], settled)
            states.append(str(settled["state"]))
        return states

    def _failed(
        self,
        change: dict[str, Any],
        delivery: dict[str, Any],
        exc: Exception,
        result: PushResult,
        chunk: ChunkState,
        transient: set[str],
    ) -> None:
        """Queue a delivery that failed with ``exc``: a transient error is retried, a hub
        error is a dead letter, anything else a poison change (a dead letter; the others
        go on)."""
        what = f"change {change['change_id']} -> {delivery['target']} {delivery['record_key']}"
        if isinstance(exc, RetriableError):
            transient.add(change["change_id"])
            values = self._failure(change, delivery, f"{what}: {exc}", True)
        elif isinstance(exc, HubError):
            values = self._failure(change, delivery, f"{what}: {exc}", False)
        else:
            message = f"{what}: cannot be processed: {error_line(exc)}"
            log.error("push-back: %s", message, exc_info=exc)
            values = self._failure(change, delivery, message, False)
        if values.get("state") == PushState.FAILED:  # a dead letter: say which and why
            result.errors.append(str(values["last_error"]))
        chunk.record_delivery(delivery, values)

    def _write_all(self, writes: list[_Write]) -> list[WriteOutcome | Exception]:
        """Send the writes, each target's together where it takes a batch
        (:class:`schemas.source.BatchWritableSource`), else one at a time; per write its
        outcome or error."""
        out: list[WriteOutcome | Exception] = [RuntimeError("not written")] * len(writes)
        by_target: dict[str, list[int]] = {}
        for i, write in enumerate(writes):
            by_target.setdefault(write.delivery["target"], []).append(i)
        for target, places in by_target.items():
            try:
                source = self._source(target)
                if isinstance(source, BatchWritableSource) and len(places) > 1:
                    done = source.write_many([writes[i].pair for i in places])
                    failpoint("pushback.after_write")
                else:
                    done = []
                    for i in places:
                        try:
                            done.append(source.write(*writes[i].pair))
                        except Exception as exc:  # noqa: BLE001 - this write's error
                            done.append(exc)
                            continue
                        failpoint("pushback.after_write")
            except Exception as exc:  # noqa: BLE001 - every write to this target failed
                done = [exc] * len(places)
            for i, outcome in zip(places, done, strict=True):
                out[i] = outcome
        return out

    def _prepare(
        self,
        change: dict[str, Any],
        delivery: dict[str, Any],
        result: PushResult,
        chunk: ChunkState,
    ) -> _Write | dict[str, Any]:
        """The write of one delivery, or its new values if it needs none (a pull read the
        value back already)."""
        entity, target = change["entity"], delivery["target"]
        stream = routing.target_stream(self.config, target, entity)
        create = change["op"] == "create"
        fields = [
            f
            for f in change["changes"]
            if f in stream.spec.fields and (create or self._routed(entity, f, target))
        ]
        new = {f: typed(entity, f, change["changes"][f]["new"]) for f in fields}
        if create:
            new.update(delivery["target_key"] or {})
        key_field = routing.key_field(entity)
        to_write = {f: v for f, v in new.items() if f != key_field}
        if self._stamps(target, stream):
            to_write["updated_at"] = datetime.now(UTC).replace(microsecond=0)
        key_value = delivery["record_key"]
        if delivery.get("echoed_at") is not None:
            # a pull found this value in the target already: the write was made (just
            # before a crash that kept it off the record) and whatever the back office did
            # to the record since came after it
            result.already_applied += 1
            now = datetime.now(UTC)
            return {
                "attempts": delivery["attempts"] + 1,
                "last_error": None,
                "updated_at": now,
                "state": PushState.DONE,
                "written": {f: jsonable(v) for f, v in new.items()},
                "written_at": delivery["echoed_at"],
            }
        pulled = chunk.pulled(entity, target, key_value)
        if not create and pulled.get("deleted_at") is not None:
            # a pull saw the record deleted in the target: nothing to write it to
            gone: dict[str, Any] = {
                "attempts": delivery["attempts"] + 1,
                "updated_at": datetime.now(UTC),
                "state": PushState.GONE,
                "last_error": f"the record no longer exists in {target} (deleted there, "
                f"seen by run {pulled.get('deleted_run_id')})",
            }
            log.warning(
                "push-back: %s %s %s: %s",
                change["change_id"],
                target,
                key_value,
                gone["last_error"],
            )
            return gone
        expected = {f: pulled.get(f) for f in fields if f in pulled}
        expected.update(chunk.own_writes(entity, target, key_value, change["change_id"], fields))
        attempt = Attempt(
            stream=stream,
            fields=[f for f in fields if f != key_field],
            new=new,
            expected=expected,
            rules={f: self.config.push_back.rule(entity, f) for f in fields},
            created_at=change["created_at"],
            create=create,
            force=delivery["state"] == PushState.FORCE,
        )
        raw = to_source(stream, to_write)
        stamp = stream.spec.fields.get("updated_at")
        request = WriteRequest(
            stream=stream.stream,
            key=to_source(stream, {key_field: key_value}),
            values=raw,
            idempotency_key=f"{change['change_id']}:{target}:{key_value}",
            create=create,
            # the record's change stamp, for newest_wins, where the hub does not write it
            also_read=tuple(c for c in (stamp.inputs if stamp else []) if c not in raw),
        )
        return _Write(change, delivery, attempt, request, new)

    def _finish(
        self, write: _Write, outcome: WriteOutcome, result: PushResult
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A written delivery's new values and any conflicts found."""
        change, delivery, attempt = write.change, write.delivery, write.attempt
        target, key_value = delivery["target"], delivery["record_key"]
        create = change["op"] == "create"
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "attempts": delivery["attempts"] + 1,
            "last_error": None,
            "updated_at": now,
        }
        if outcome.decision in ("write", "done"):
            if outcome.decision == "write":
                result.written += 1
            else:
                result.already_applied += 1
            values.update(
                state=PushState.APPLIED if outcome.decision == "write" else PushState.DONE,
                written={f: jsonable(v) for f, v in write.new.items()},
                written_at=now,
            )
            # written over a back-office change by the field's policy: still on record
            found = self._conflicts(change, delivery, attempt, "crm", now)
            return values, found
        if outcome.current is None and not create:
            values.update(
                state=PushState.GONE, last_error=f"the record no longer exists in {target}"
            )
            log.warning(
                "push-back: %s %s %s: %s",
                change["change_id"],
                target,
                key_value,
                values["last_error"],
            )
            return values, []
        resolution = attempt.policy_wins
        values["state"] = PushState.SKIPPED if resolution == "target" else PushState.CONFLICT
        result.conflicts += 1
        return values, self._conflicts(change, delivery, attempt, resolution, now)

    def _routed(self, entity: str, field: str, target: str) -> bool:
        """Whether ``target`` receives changes of ``entity.field``."""
        rule = self.config.push_back.rule(entity, field)
        return rule is not None and target in rule.targets

    def _stamps(self, target: str, stream: CompiledStream) -> bool:
        if not self.config.push_back.stamp_writes:
            return False
        if not stamps_writes(self.config.source(target).kind):
            return False
        stamp = stream.spec.fields.get("updated_at")
        return stamp is not None and stamp.source is not None

    def _conflicts(
        self,
        change: dict[str, Any],
        delivery: dict[str, Any],
        attempt: Attempt,
        resolution: str | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Conflict rows for the fields the target changed since the hub read them."""
        if not attempt.diverged:
            return []
        log.warning(
            "push-back: %s %s %s: %s changed since the hub read it (%s)",
            change["change_id"],
            delivery["target"],
            delivery["record_key"],
            ", ".join(attempt.diverged),
            f"kept the {resolution} value" if resolution else "left for a person to resolve",
        )
        rows = []
        for name, value in attempt.diverged.items():
            rule = attempt.rules[name]
            rows.append(
                {
                    "change_id": change["change_id"],
                    "golden_id": change["golden_id"],
                    "target": delivery["target"],
                    "stream": delivery["stream"],
                    "record_key": delivery["record_key"],
                    "field": name,
                    "crm_value": _text(attempt.new.get(name)),
                    "target_value": _text(value),
                    "pulled_value": _text(attempt.expected.get(name)),
                    "crm_at": change["created_at"],
                    "target_at": attempt.target_at,
                    "policy": rule.on_conflict if rule else "manual",
                    "state": ConflictState.RESOLVED if resolution else ConflictState.OPEN,
                    "resolution": resolution,
                    "resolved_by": f"policy:{rule.on_conflict}" if resolution and rule else None,
                    "resolved_at": now if resolution else None,
                    "created_at": now,
                }
            )
        return rows

    def _failure(
        self, change: dict[str, Any], delivery: dict[str, Any], message: str, retry: bool
    ) -> dict[str, Any]:
        """A failed attempt's values: still pending if it may be retried, else failed."""
        attempts = delivery["attempts"] + 1
        final = not retry or attempts >= self.config.push_back.max_attempts
        log.warning(
            "push-back: %s -> %s attempt %s failed%s: %s",
            change["change_id"],
            delivery["target"],
            attempts,
            " (dead letter)" if final else "",
            message,
        )
        return {
            "attempts": attempts,
            "last_error": printable(message)[:2000],
            "state": PushState.FAILED if final else delivery["state"],
            "updated_at": datetime.now(UTC),
        }

    def _settle(
        self,
        change: dict[str, Any],
        deliveries: list[dict[str, Any]],
        transient: bool,
        result: PushResult,
    ) -> dict[str, Any]:
        """The change's new values from its deliveries' states."""
        now = datetime.now(UTC)
        states = [d["state"] for d in deliveries]
        errors = [d["last_error"] for d in deliveries if d.get("last_error")]
        attempts = change["attempts"] + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "updated_at": now,
            "last_error": errors[0] if errors else None,
        }
        if PushState.FAILED in states:
            values.update(state=PushState.FAILED, finished_at=None)
            result.failed += 1
        elif PushState.CONFLICT in states:
            values.update(state=PushState.CONFLICT)
        elif all(s in FINISHED_DELIVERIES for s in states) and PushState.GONE in states:
            values.update(state=PushState.GONE, finished_at=now)
            result.gone += 1
        elif all(s in FINISHED_DELIVERIES for s in states):
            values.update(state=PushState.DELIVERED, finished_at=now, last_error=None)
            result.delivered += 1
        else:
            values.update(
                state=PushState.PENDING, next_attempt_at=now + _backoff(self.config, attempts)
            )
            if transient:
                result.retrying += 1
        return values


def dead_letters_error(result: PushResult) -> str:
    """A run's error for the changes that became dead letters: each change, its target and
    the reason."""
    reasons = list(dict.fromkeys(result.errors))  # a change's reason may come twice
    shown = "; ".join(reasons[:DEAD_LETTERS_NAMED])
    more = len(reasons) - DEAD_LETTERS_NAMED
    if more > 0:
        shown += f"; and {more} more (crm-hub outbox list --failed)"
    return f"{result.failed} change(s) became dead letters: {shown or 'see crm-hub outbox list'}"


def fold_noop(store: Engine, run_id: int, checks: dict[str, Any]) -> int:
    """Close a push-back run that had nothing to do. When the newest push-back row before
    it is a no-op row of the same hour (UTC), the run is counted there (its ``checks.runs``
    goes up by one, its ``finished_at`` moves to now) and its own row goes; else its row is
    closed as the hour's no-op row (``checks.runs`` 1). Returns the id of the row that
    counts it."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    with store.begin() as conn:
        before = (
            conn.execute(
                select(ledger.c.id, ledger.c.status, ledger.c.started_at, ledger.c.checks)
                .where(
                    ledger.c.source == HUB_SOURCE,
                    ledger.c.stream == PUSH_BACK,
                    ledger.c.id < run_id,
                    ledger.c.status != runs.REFUSED,
                )
                .order_by(ledger.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        kept: dict[str, Any] = dict(before["checks"] or {}) if before is not None else {}
        if (
            before is None
            or before["status"] != runs.SUCCESS
            or before["started_at"] < hour
            or kept.get("changes")
            or "runs" not in kept
        ):
            conn.execute(
                update(ledger)
                .where(ledger.c.id == run_id)
                .values(
                    status=runs.SUCCESS,
                    finished_at=now,
                    checks={**checks, "runs": 1},
                )
            )
            return run_id
        kept["runs"] = int(kept["runs"]) + 1
        conn.execute(
            update(ledger).where(ledger.c.id == before["id"]).values(finished_at=now, checks=kept)
        )
        conn.execute(delete(ledger).where(ledger.c.id == run_id))
        return int(before["id"])


@dataclass
class _Write:
    """One delivery's write: the change, the delivery, its decision and request."""

    change: dict[str, Any]
    delivery: dict[str, Any]
    attempt: Attempt
    request: WriteRequest
    new: dict[str, Any]

    @property
    def pair(self) -> Write:
        """The request and its ``decide``, as a source's ``write`` takes them."""
        return self.request, self.attempt.decide


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _text(value: Any) -> str | None:
    return None if value is None else str(jsonable(value))


def push_back(config: HubConfig, store: Engine, limit: int | None = None) -> PushResult:
    """Run push-back once over the store's outbox."""
    return PushBack(config, store).run(limit)
