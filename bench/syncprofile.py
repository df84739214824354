"""``python -m bench.syncprofile --rows N``: where the hub's full sync of the bench's order
lines spends its time, PostgreSQL to PostgreSQL, in this process.

Each stage is timed where it runs (seconds summed over its calls, per thread): the source's
read (the reader thread: query, fetch, frames), mapping and contract checks (the reader
thread too), and in the loading thread the wait for the next batch, the load (CSV encoding
of the frame, COPY into the store, and waiting for the other connections' shares), and the
batch's ledger writes. The servers' side is the CPU time of the PostgreSQL backends serving
this run's two databases, read from /proc while the sync runs (Linux only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import jobs, pgdata
from schemas.settings import DEFAULT_BATCH_SIZE

SOURCE_DB = "crmhub_bench_profile_src"
STORE_DB = "crmhub_bench_profile_store"
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Timers:
    """Seconds and calls per stage, summed across threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += seconds
            self.calls[stage] += 1

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed under ``stage``."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - started)

        return timed

    def iterate(self, stage: str, items: Iterator[Any]) -> Iterator[Any]:
        """``items``, the time taken to produce each summed under ``stage``."""
        while True:
            started = time.perf_counter()
            try:
                item = next(items)
            except StopIteration:
                self.add(stage, time.perf_counter() - started)
                return
            self.add(stage, time.perf_counter() - started)
            yield item


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving given databases, sampled from /proc
    (a backend's title names its database) until stopped; the last sample of each counts."""

    def __init__(self, databases: list[str], every: float = 0.1) -> None:
        self.databases, self.every = databases, every
        self.cpu: dict[str, dict[int, float]] = {d: {} for d in databases}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if not title.startswith("postgres:"):
                    continue
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            words = title.split()
            for db in self.databases:
                if db in words:
                    self.cpu[db][int(pid)] = (int(fields[11]) + int(fields[12])) / TICK

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> BackendCpu:
        self._sample()
        self.base = {d: dict(pids) for d, pids in self.cpu.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def seconds(self, db: str) -> float:
        """CPU seconds the backends of ``db`` spent since entering."""
        base = self.base[db]
        return sum(cpu - base.get(pid, 0.0) for pid, cpu in self.cpu[db].items())


def instrument(timers: Timers) -> None:
    """Time the sync's stages (module attributes replaced in this process only)."""
    from crm_core.pull import contracts, load, sync
    from mappings import compile as mapping_compile

    opened = sync.open_source

    def open_timed(*args: Any, **kwargs: Any) -> Any:
        source = opened(*args, **kwargs)
        read = source.read
        stage = "read (source, reader thread)"
        source.read = lambda *a, **k: timers.iterate(stage, read(*a, **k))  # type: ignore[method-assign]
        return source

    sync.open_source = open_timed
    apply = mapping_compile.CompiledStream.apply
    mapping_compile.CompiledStream.apply = timers.wrap("map (reader thread)", apply)  # type: ignore[method-assign]
    check = contracts.ContractChecker.check
    contracts.ContractChecker.check = timers.wrap("check (reader thread)", check)  # type: ignore[method-assign]
    commit = sync.SyncEngine._commit_batch
    sync.SyncEngine._commit_batch = timers.wrap("commit batch (load + ledger)", commit)  # type: ignore[method-assign]
    loader = load.Loader.load
    load.Loader.load = timers.wrap("load (COPY, all shares)", loader)  # type: ignore[method-assign]
    load._csv = timers.wrap("CSV encoding (every share)", load._csv)
    load.copy_binary.encode = timers.wrap("binary encoding (every share)", load.copy_binary.encode)


def run(rows: int, batch_size: int) -> dict[str, Any]:
    """Build the source, sync it once into a fresh store with the stages timed."""
    from crm_core.pull.sync import SyncEngine
    from crm_core.store.db import open_store
    from schemas.settings import load_config

    pgdata.build_source(rows, SOURCE_DB)
    pgdata.recreate_database(STORE_DB)
    timers = Timers()
    instrument(timers)
    with tempfile.TemporaryDirectory(prefix="crmhub-profile-") as tmp:
        path = jobs.write_hub_config(
            Path(tmp),
            store_url=pgdata.url(STORE_DB, "postgresql+psycopg"),
            source_url=pgdata.url(SOURCE_DB, "postgresql+psycopg"),
            batch_size=batch_size,
        )
        config = load_config(path)
        store = open_store(config.store_url())
        engine = SyncEngine(config, store)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with BackendCpu([SOURCE_DB, STORE_DB]) as servers:
            started = time.perf_counter()
            results = engine.sync_source("bench_erp", full_refresh=True)
            seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    failed = [r.error for r in results if r.error]
    if failed:
        raise SystemExit("sync failed: " + "; ".join(e or "" for e in failed))
    stages = {k: round(v, 3) for k, v in sorted(timers.seconds.items())}
    commit = timers.seconds["commit batch (load + ledger)"]
    stages["waiting for a batch (loading thread)"] = round(seconds - commit, 3)
    return {
        "rows": sum(r.counts.rows_read for r in results),
        "seconds": round(seconds, 3),
        "stages": stages,
        "calls": dict(timers.calls),
        "hub_process_cpu": round(
            after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 3
        ),
        "source_server_cpu": round(servers.seconds(SOURCE_DB), 3),
        "store_server_cpu": round(servers.seconds(STORE_DB), 3),
    }


def main() -> None:
    """Parse the command line, profile one full sync, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.syncprofile", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="order lines (200,000)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    args = parser.parse_args()
    try:
        print(json.dumps(run(args.rows, args.batch_size), indent=2))
    finally:
        if not args.keep:
            with psycopg.connect(pgdata.ADMIN_URL, autocommit=True) as conn:
                for db in (SOURCE_DB, STORE_DB):
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(db)
                        )
                    )


if __name__ == "__main__":
    main()
