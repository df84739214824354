"""The sync engine: read each stream from its saved position, map, load, advance.

For every batch, in one store transaction: upsert the mapped rows by key, quarantine the
rejected ones, save the position of the batch's last row, update the run's counts. A crash
between batches therefore loses nothing and duplicates nothing: the next run starts after
the last committed batch, and loads are upserts anyway (which is also what lets a large
batch on PostgreSQL be shared with other connections, see :mod:`crm_core.pull.load`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors import open_source
from connectors.errors import first_line, is_driver_error
from connectors.timeouts import ConnectionWatch
from crm_core.ledger import leases, runs
from crm_core.pull import deleted_since, deletes, filecache, heap, positions, state, stream_columns
from crm_core.pull.contracts import CheckOutcome, ContractChecker
from crm_core.pull.load import Loader, Spread, has_rows, known_keys
from crm_core.pull.prefetch import Prefetch, Stalled
from crm_core.pull.quarantine import quarantine_rows
from crm_core.pull.unmapped_codes import note_unmapped
from crm_core.pushback import echo
from crm_core.store.db import store_error
from mappings import CompiledMapping, MappedBatch, compile_mapping, load_mapping
from mappings.compile import REASON, CompiledStream
from schemas.contract import Reference, contract_path, load_contract
from schemas.errors import FatalSyncError, HubError, MappingError, RetriableError
from schemas.secrets import mask_secrets
from schemas.settings import HubConfig
from schemas.source import ConnectsAhead, Source, StreamSpec

MIN_ROWS_FOR_THRESHOLD = 20
#: Batches read and mapped ahead of the one being loaded (see :mod:`crm_core.pull.prefetch`).
PREFETCH_DEPTH = 2


@dataclass
class StreamResult:
    """The outcome of syncing one stream."""

    source: str
    stream: str
    entity: str
    mode: str
    run_id: int | None = None
    status: str = runs.RUNNING
    counts: runs.RunCounts = field(default_factory=runs.RunCounts)
    seconds: float = 0.0
    error: str | None = None
    retriable: bool = False

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall time."""
        return self.counts.rows_read / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[StreamResult], None]


class SyncEngine:
    """Runs syncs of the sources a config declares into the store."""

    def __init__(self, config: HubConfig, store: Engine) -> None:
        self.config = config
        self.store = store
        #: cuts the store's connections when a ledger or batch transaction overruns the
        #: store's read timeout (while ``sync_source`` runs; see :mod:`connectors.timeouts`)
        self.watch: ConnectionWatch | None = None

    def _store_deadline(self) -> AbstractContextManager[None]:
        """The store's read timeout on the block, when the watch runs."""
        if self.watch is None:
            return nullcontext()
        return self.watch.deadline(self.config.store.timeouts.read)

    def mapping_for(self, source: str) -> CompiledMapping:
        """The compiled mapping of a source (parsed and compiled once per process and
        version of the file, see :mod:`crm_core.pull.filecache`)."""
        path = self.config.source(source).mapping
        return filecache.cached("mapping", path, lambda: compile_mapping(load_mapping(path)))

    def checker_for(self, entity: str, source: str) -> ContractChecker | None:
        """The contract checker of an entity's stream from ``source`` (None if switched off
        or the entity has no contract); references resolve against this store."""
        if not self.config.defaults.contracts:
            return None
        folder = self.config.contracts_folder()
        contract = filecache.cached(
            "contract", contract_path(entity, folder), lambda: load_contract(entity, folder)
        )
        if contract is None:
            return None

        def store_keys(ref: Reference, values: list[Any]) -> pl.Series | None:
            # read ahead, in the reader's thread: bounded like the batch's own transaction
            with self._store_deadline():
                return known_keys(self.store, ref.entity, ref.field, source, values)

        return ContractChecker(contract, store_keys, engine=self.config.defaults.contracts_engine)

    def sync_source(
        self,
        source_name: str,
        streams: Iterable[str] | None = None,
        full_refresh: bool = False,
        progress: Progress | None = None,
        detect_deletes: bool = False,
    ) -> list[StreamResult]:
        """Sync the given (default: all enabled) streams of one source, in config order;
        ``detect_deletes`` forces a detect pass on the streams declaring ``deletes: detect``."""
        heap.freeze_startup()
        cfg = self.config.source(source_name)
        mapping = self.mapping_for(source_name)
        wanted_here = list(streams) if streams else None
        unmapped = stream_columns.unmapped_streams(
            self.config, source_name, mapping.streams, wanted_here
        )
        if unmapped:  # before anything loads: a sync loads all its streams or none
            raise MappingError(f"source {source_name!r} cannot be synced:", unmapped)
        source = open_source(source_name, cfg, self.config.base_dir)
        self.watch = ConnectionWatch(self.store).start()
        try:
            wanted = list(streams) if streams else [s.name for s in source.streams()]
            specs = [source.stream(name) for name in wanted]
            return [
                self.sync_stream(source, mapping, spec, full_refresh, progress, detect_deletes)
                for spec in specs
            ]
        finally:
            self.watch.stop()
            self.watch = None
            source.close()

    def sync_stream(
        self,
        source: Source,
        mapping: CompiledMapping,
        spec: StreamSpec,
        full_refresh: bool = False,
        progress: Progress | None = None,
        detect_deletes: bool = False,
    ) -> StreamResult:
        """Sync one stream; failures are recorded in the run ledger and returned, not raised.
        A stream's deletes are known as its ``deletes:`` says (:mod:`crm_core.pull.deletes`)."""
        compiled = mapping.stream(spec.name)
        if isinstance(source, ConnectsAhead):
            source.prepare(spec.name)  # it connects while the position is read, the run opened
        with self.store.connect() as conn:
            since = None if full_refresh else state.get_position(conn, source.name, spec.name)
        mode = "incremental" if spec.incremental and since is not None else "full"
        result = StreamResult(source.name, spec.name, compiled.entity.name, mode)
        batch_size = self.config.batch_size(source.name, spec.name)
        checker = self.checker_for(compiled.entity.name, source.name)
        stream_deletes = self.config.source(source.name).streams[spec.name].deletes

        def batches() -> Iterator[tuple[pl.DataFrame, MappedBatch, CheckOutcome | None]]:
            for raw in source.read(spec.name, since, batch_size):
                stream_columns.require_columns(
                    self.config, self.store, source.name, spec, compiled, raw.columns
                )
                live, deleted = deletes.split_flagged(raw, stream_deletes, compiled)
                mapped = compiled.apply(live)
                outcome = checker.check(mapped.records) if checker is not None else None
                if outcome is not None:
                    mapped = mapped.reject(live, outcome.failed_rows)
                mapped.deleted = deleted
                yield raw, mapped, outcome

        # the source connects and runs its query while the run is opened in the store; a
        # stream whose source lists its deletes is read once they are marked (see
        # crm_core.pull.deleted_since: the log of deletes first, the state after it)
        read_timeout = self.config.source(source.name).timeouts.read
        listed = stream_deletes.deleted_since is not None
        ahead = None if listed else Prefetch(batches, PREFETCH_DEPTH, wait=read_timeout)
        try:
            with self._store_deadline():
                run = self._open_run(source.name, spec, compiled.entity.name, result)
        except SQLAlchemyError as exc:
            if ahead is not None:
                ahead.close()
            raise store_error(exc, "opening the run") from None
        except BaseException:
            if ahead is not None:
                ahead.close()
            raise
        if checker is not None:
            result.counts.checks = {"contract": checker.label, "failed": {}, "seconds": 0.0}
        try:
            if ahead is None:
                assert result.run_id is not None  # _open_run set it
                deleted_since.read_pass(
                    self.store,
                    source,
                    compiled,
                    spec,
                    result.run_id,
                    result.counts,
                    batch_size,
                    self._store_deadline,
                )
                ahead = Prefetch(batches, PREFETCH_DEPTH, wait=read_timeout)
            for raw, mapped, outcome in ahead:
                self._commit_batch(run, spec, raw, mapped, outcome)
                if progress:
                    progress(result)
            self._detect_deletes(run, source, compiled, spec, detect_deletes)
        except Stalled:
            result.error, result.retriable = (
                f"source {source.name!r}: no rows came for {read_timeout:g} s "
                "(timeouts.read): the connection is taken as lost",
                True,
            )
        except RetriableError as exc:
            result.error, result.retriable = mask_secrets(str(exc)), True
        except HubError as exc:
            result.error = mask_secrets(str(exc))
        except Exception as exc:  # noqa: BLE001 - the ledger must record any failure
            error, result.retriable = self._unexpected(exc)
            result.error = mask_secrets(error)
        finally:
            run.heartbeat.stop()
            if ahead is not None:
                ahead.close()  # stops the reader thread and closes the source's cursor
            if run.loader.spread is not None:
                run.loader.spread.close()
        self._close_run(run, progress)
        return result

    def _unexpected(self, exc: Exception) -> tuple[str, bool]:
        """The error line of a failure that is not a HubError, and whether it is worth a
        retry: a driver's error is the store's (the source's come as HubErrors)."""
        if not is_driver_error(exc):
            return f"{type(exc).__name__}: {exc}", False
        if self.watch is not None and self.watch.fired is not None:
            return (
                f"store: no answer for {self.watch.fired:g} s (store.timeouts.read), "
                f"its connections were cut: {first_line(exc)}"
            ), True
        named = store_error(exc, "loading a batch")
        return str(named), isinstance(named, RetriableError)

    def _open_run(
        self, source: str, spec: StreamSpec, entity: str, result: StreamResult
    ) -> _OpenRun:
        """Open the run in the ledger and get what its batches need: the loader (appending
        when the store has no rows of this source yet), the push-back echoes awaited, and
        the run's heartbeat, started. The run holds its stream's lease until it is closed:
        another runner of the stream gets :class:`~crm_core.ledger.leases.AlreadyRunning`."""
        result.run_id, lease = leases.start_leased_run(
            self.store, source, spec.name, entity, result.mode, heartbeat=True
        )
        started = time.perf_counter()
        with self.store.connect() as conn:
            fresh = not has_rows(conn, entity, source)
        loader = Loader(
            entity,
            source,
            result.run_id,
            append=fresh,
            spread=Spread(self.store, self.config.store.load_connections),
        )
        loader.warm_up(self.store)
        echoes = echo.awaiting(self.store, source, spec.name, entity, self.config.push_back)
        # read now, while the source runs its query, not before the first batch's load
        columns = runs.last_columns(self.store, source, spec.name)
        heartbeat = runs.Heartbeat(self.store, result.run_id, guard=self._store_deadline)
        return _OpenRun(result, started, loader, echoes, heartbeat, lease, columns)

    def _commit_batch(
        self,
        run: _OpenRun,
        spec: StreamSpec,
        raw: pl.DataFrame,
        mapped: MappedBatch,
        outcome: CheckOutcome | None,
    ) -> None:
        """Load one batch, quarantine its rejects, save its position and the run's counts,
        in one store transaction; raise FatalSyncError, before loading, when the rows
        rejected so far pass the quarantine threshold."""
        result, counts = run.result, run.result.counts
        if counts.batches == 0:
            stream_columns.note_schema(
                result.source, spec.name, raw.columns, counts.checks, run.columns
            )
        if outcome is not None:
            _count_checks(counts.checks, outcome)
        threshold = self.config.defaults.quarantine_threshold
        bad = counts.rows_quarantined + mapped.reject_count
        seen = counts.rows_read + raw.height
        if seen >= MIN_ROWS_FOR_THRESHOLD and bad / seen > threshold:
            counts.rows_read = seen  # the stopped batch was read, just not loaded
            raise FatalSyncError(
                f"{bad} of {seen} rows failed the mapping or the contract, more than "
                f"the threshold "
                f"of {threshold:.0%}; the stream stopped before loading this batch. "
                f"First reason: {mapped.rejects.get_column(REASON)[0]}"
            )
        last = raw.select(list(spec.order_by)).row(-1)
        run_id = result.run_id
        assert run_id is not None
        with self._store_deadline(), self.store.begin() as conn:
            counts.rows_loaded += run.loader.load(conn, mapped.records)
            counts.rows_quarantined += quarantine_rows(
                conn, result.source, spec.name, mapped.rejects, spec.primary_key, run_id
            )
            counts.rows_deleted += deletes.mark_deleted(
                conn, result.entity, result.source, mapped.deleted, run_id
            )
            unmapped = note_unmapped(conn, result.source, spec.name, mapped.unmapped)
            if unmapped:
                counts.checks["unmapped_codes"] = counts.checks.get("unmapped_codes", 0) + unmapped
            if run.echoes:
                counts.checks["echoes"] = counts.checks.get("echoes", 0) + echo.note_echoes(
                    conn, run.echoes, mapped.records, run_id
                )
            counts.rows_read += raw.height
            counts.batches += 1
            if spec.incremental:
                state.set_position(conn, result.source, spec.name, last, run_id)
            runs.record_progress(conn, run_id, counts, positions.encode(last))
        result.seconds = time.perf_counter() - run.started

    def _detect_deletes(
        self,
        run: _OpenRun,
        source: Source,
        compiled: CompiledStream,
        spec: StreamSpec,
        forced: bool,
    ) -> None:
        """After the stream's batches: a detect pass of deletes when the stream declares
        ``deletes: detect`` and one is due (or ``forced``); see :mod:`crm_core.pull.deletes`."""
        cfg = self.config.source(source.name).streams[spec.name].deletes
        if cfg.detect is None or run.loader.append:
            return  # a first load: the store had no rows of the stream to lose
        result = run.result
        assert result.run_id is not None  # _open_run set it
        if not forced and not deletes.detect_due(
            self.store, source.name, spec.name, cfg.detect.every
        ):
            return
        batch_size = self.config.batch_size(source.name, spec.name)
        deletes.detect(
            self.store, source, compiled, spec.name, result.run_id, result.counts, cfg, batch_size
        )
        result.seconds = time.perf_counter() - run.started

    def _close_run(self, run: _OpenRun, progress: Progress | None) -> None:
        """Close the run in the ledger as success, or failed with the result's error. A
        store that cannot be reached now leaves the run ``running``, with a heartbeat that
        goes stale: it shows as interrupted, and the next run closes it."""
        result = run.result
        result.seconds = time.perf_counter() - run.started
        result.status = runs.FAILED if result.error else runs.SUCCESS
        assert result.run_id is not None  # _open_run set it
        try:
            with self._store_deadline():
                runs.finish_run(self.store, result.run_id, result.counts, result.error)
        except SQLAlchemyError as exc:
            result.status, result.retriable = runs.FAILED, result.retriable or not result.error
            result.error = (
                f"{result.error + '; ' if result.error else ''}the run could not be closed "
                f"in the ledger, the store failed: {first_line(exc)}"
            )
        finally:
            run.lease.release()
        if progress:
            progress(result)


@dataclass
class _OpenRun:
    """A run opened in the ledger, and what its batches are loaded with."""

    result: StreamResult
    started: float
    loader: Loader
    echoes: echo.Awaited
    heartbeat: runs.Heartbeat
    lease: leases.Lease
    #: the source columns the last run that read any saw (None if none did)
    columns: list[str] | None


def _count_checks(checks: dict[str, Any], outcome: CheckOutcome) -> None:
    """Add one batch's contract outcome to the run's totals."""
    failed = checks.setdefault("failed", {})
    for check, n in outcome.failures.items():
        failed[check] = failed.get(check, 0) + n
    checks["seconds"] = round(checks.get("seconds", 0.0) + outcome.seconds, 3)
