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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from connectors import open_source
from crm_core.ledger import leases, runs
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK
from crm_core.pushback.batch import ChunkState, error_line
from crm_core.pushback.delivery_steps import DeliverySteps, PreparedWrite
from crm_core.pushback.failpoints import failpoint
from crm_core.pushback.push_result import PushResult, dead_letters_error, fold_noop
from crm_core.store.tables import outbox
from schemas.errors import HubError, RetriableError
from schemas.pushback import UNFINISHED_CHANGES, PushState
from schemas.settings import HubConfig
from schemas.source import BatchWritableSource, Source, WritableSource, WriteOutcome

log = logging.getLogger("crm_hub.pushback")

__all__ = ["CHUNK", "PushBack", "PushResult", "dead_letters_error", "fold_noop", "push_back"]

#: Changes whose store state is read and recorded together (see crm_core.pushback.batch).
CHUNK = 200


class PushBack:
    """One push-back run over the store's outbox."""

    def __init__(self, config: HubConfig, store: Engine) -> None:
        self.config = config
        self.store = store
        self._sources: dict[str, Source] = {}
        self.steps = DeliverySteps(config)

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
        writes: list[PreparedWrite] = []
        for change in changes:
            for delivery in chunk.deliveries.get(change["change_id"], []):
                if delivery["state"] not in (PushState.PENDING, PushState.FORCE):
                    continue
                try:
                    prepared = self.steps.prepare(change, delivery, result, chunk)
                except Exception as exc:  # noqa: BLE001 - recorded by _failed
                    self._failed(change, delivery, exc, result, chunk, transient)
                    continue
                if isinstance(prepared, PreparedWrite):
                    writes.append(prepared)
                else:
                    chunk.record_delivery(delivery, prepared)
        for write, outcome in zip(writes, self._write_all(writes), strict=True):
            change, delivery = write.change, write.delivery
            if isinstance(outcome, Exception):
                self._failed(change, delivery, outcome, result, chunk, transient)
                continue
            try:
                values, conflicting = self.steps.finish(write, outcome, result)
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
            settled = self.steps.settle(
                change, deliveries, change["change_id"] in transient, result
            )
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
            values = self.steps.failure(change, delivery, f"{what}: {exc}", True)
        elif isinstance(exc, HubError):
            values = self.steps.failure(change, delivery, f"{what}: {exc}", False)
        else:
            message = f"{what}: cannot be processed: {error_line(exc)}"
            log.error("push-back: %s", message, exc_info=exc)
            values = self.steps.failure(change, delivery, message, False)
        if values.get("state") == PushState.FAILED:  # a dead letter: say which and why
            result.errors.append(str(values["last_error"]))
        chunk.record_delivery(delivery, values)

    def _write_all(self, writes: list[PreparedWrite]) -> list[WriteOutcome | Exception]:
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


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def push_back(config: HubConfig, store: Engine, limit: int | None = None) -> PushResult:
    """Run push-back once over the store's outbox."""
    return PushBack(config, store).run(limit)
