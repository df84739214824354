"""``crm-hub sync`` killed with SIGKILL at random moments, then compared row by row.

A PostgreSQL source of order lines is synced into a PostgreSQL store by ``crm-hub sync``
run as a child process. Each trial starts a sync (into a fresh store every third trial, so
that the first load's append path is killed too, otherwise a ``--full-refresh`` over the
loaded store), kills it with SIGKILL once the ledger shows a random number of batches
committed (plus a random fraction of a batch), checks that ``crm-hub status --json`` shows
the killed run as ``interrupted``, changes the source in every other trial (updates and
inserts), reruns ``crm-hub sync`` to completion, checks that the rerun resumed from the
killed run's position, and compares the store with the source: rows lost (in the source,
not in the store), duplicated (one key twice) and stale (a value differing).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench import jobs, pgdata

SOURCE_DB = "crmhub_bench_kills_src"
STORE_DB = "crmhub_bench_kills_store"
SOURCE = "bench_erp"
STREAM = "order_lines"
CRM_HUB = str(Path(sys.executable).with_name("crm-hub"))
#: Every this many trials the store is recreated (the first trial's store is always new).
FRESH_EVERY = 3
#: Share of the rows updated, and added, in a trial that changes the source.
UPDATED_SHARE, INSERTED_SHARE = 0.005, 0.0025
#: Longest wait for the batch a kill waits for (seconds).
DEADLINE = 600.0

UPDATE_SQL = """
UPDATE order_lines SET amount = amount + 1, updated_at = now()
WHERE (hashtext(order_id::text || '/' || line_no || '/' || %(salt)s) & 2147483647) %% 100000
      < %(per_100k)s
"""
INSERT_SQL = """
INSERT INTO order_lines
SELECT m.top + g / 4 + 1, g %% 4 + 1, 1 + g %% 97, 'NEW' || lpad((g %% 997)::text, 4, '0'),
       'added after a kill, trial ' || %(salt)s, 2.5, 3.2, 8.00, 'E', NULL, now()
FROM (SELECT max(order_id) AS top FROM order_lines) AS m, generate_series(0, %(rows)s - 1) AS g
"""


@dataclass
class PullTrial:
    """One killed sync, what the ledger said about it, and the check after its rerun."""

    trial: int
    fresh_store: bool
    #: batches the killed run had committed (None: the sync ended before the kill)
    killed_batches: int | None
    killed_rows: int
    #: whether ``status --json`` showed the killed run as interrupted (None: no run opened)
    interrupted: bool | None
    updated: int
    inserted: int
    rerun_mode: str
    rerun_rows: int
    #: whether the rerun went on from the killed run's position (None: nothing to resume)
    resumed: bool | None
    source_rows: int
    lost: int
    duplicated: int
    stale: int
    seconds: float


def _store(conn_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(conn_url, autocommit=True)


def _last_run_id(store_url: str) -> int:
    try:
        with _store(store_url) as conn:
            row = conn.execute("SELECT max(id) FROM hub_runs").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0] or 0) if row else 0


def _run_of(conn: psycopg.Connection[Any], pid: int, after: int) -> dict[str, Any] | None:
    """The newest pull run of process ``pid`` opened after run ``after``, or None."""
    try:
        cur = conn.execute(
            "SELECT id, mode, status, batches, rows_read, rows_loaded FROM hub_runs "
            "WHERE pid = %s AND id > %s AND source = %s ORDER BY id DESC LIMIT 1",
            (pid, after, SOURCE),
        )
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return None  # a fresh store the sync has not migrated yet
    row = cur.fetchone()
    if row is None:
        return None
    return dict(
        zip(("id", "mode", "status", "batches", "rows_read", "rows_loaded"), row, strict=True)
    )


def _sync_and_kill(
    config: Path, store_url: str, args: list[str], batches: int, delay: float
) -> tuple[dict[str, Any] | None, bool]:
    """Start ``crm-hub sync``; SIGKILL it ``delay`` seconds after its run has committed
    ``batches`` batches. Returns the run as the ledger holds it after the kill (None if
    it never opened one) and whether the kill landed before the sync ended."""
    after = _last_run_id(store_url)
    proc = subprocess.Popen(
        [CRM_HUB, "--config", str(config), "sync", SOURCE, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = False
    try:
        with _store(store_url) as conn:
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline and proc.poll() is None:
                run = _run_of(conn, proc.pid, after)
                if run is not None and run["batches"] >= batches:
                    time.sleep(delay)
                    if proc.poll() is None:
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
                    break
                time.sleep(0.01)
    finally:
        if proc.poll() is None and not killed:
            proc.kill()  # the deadline passed: do not leave it running
        proc.wait()
    with _store(store_url) as conn:
        return _run_of(conn, proc.pid, after), killed


def _hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRM_HUB, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )


def _shown_interrupted(config: Path, run_id: int) -> bool:
    shown = _hub(config, "status", "--json", "--source", SOURCE)
    if shown.returncode != 0:
        raise SystemExit(f"crm-hub status --json failed: {shown.stderr[-2000:]}")
    rows = [r for r in json.loads(shown.stdout) if r["run_id"] == run_id]
    return bool(rows) and rows[0]["status"] == "interrupted"


def change_source(trial: int, rows: int) -> tuple[int, int]:
    """Update some rows (amount, change time) and add new ones; return how many of each."""
    with psycopg.connect(pgdata.url(SOURCE_DB), autocommit=True) as conn:
        per_100k = round(UPDATED_SHARE * 100_000)
        updated = conn.execute(UPDATE_SQL, {"salt": trial, "per_100k": per_100k}).rowcount
        added = max(4, round(rows * INSERTED_SHARE))
        inserted = conn.execute(INSERT_SQL, {"salt": trial, "rows": added}).rowcount
    return updated, inserted


def compare(store_url: str) -> tuple[int, int, int, int]:
    """Rows of the source missing from the store, keys held twice, rows whose amount or
    change time differ, and the source's row count."""
    with psycopg.connect(pgdata.url(SOURCE_DB)) as conn:
        source = {
            (str(order), line): (Decimal(amount), at)
            for order, line, amount, at in conn.execute(
                "SELECT order_id, line_no, amount, updated_at FROM order_lines"
            )
        }
    with psycopg.connect(store_url) as conn:
        total, keys = conn.execute(
            "SELECT count(*), count(DISTINCT (order_id, line_no)) FROM order_lines "
            "WHERE source = %s",
            (SOURCE,),
        ).fetchone() or (0, 0)
        stored = {
            (order, int(line)): (Decimal(amount), at)
            for order, line, amount, at in conn.execute(
                "SELECT order_id, line_no, amount, updated_at FROM order_lines WHERE source = %s",
                (SOURCE,),
            )
        }
    lost = sum(key not in stored for key in source)
    stale = sum(key in stored and stored[key] != value for key, value in source.items())
    return lost, int(total) - int(keys), stale, len(source)


def batch_size(rows: int) -> int:
    """A batch size giving about 20 batches, so that kills land between many commits."""
    return max(500, min(10_000, rows // 20))


def trial(
    number: int, config: Path, store_url: str, rows: int, rng: random.Random, say: Any
) -> PullTrial:
    """One trial: sync, kill, look at the ledger, maybe change the source, rerun, compare."""
    started = time.perf_counter()
    fresh = number % FRESH_EVERY == 0
    if fresh:
        pgdata.recreate_database(STORE_DB)
    with psycopg.connect(pgdata.url(SOURCE_DB)) as conn:
        current = int((conn.execute("SELECT count(*) FROM order_lines").fetchone() or (0,))[0])
    total_batches = -(-current // batch_size(rows))
    at_batch = rng.randint(0, max(0, total_batches - 2))
    delay = rng.uniform(0.0, 0.3)
    run, killed = _sync_and_kill(
        config, store_url, [] if fresh else ["--full-refresh"], at_batch, delay
    )
    interrupted = _shown_interrupted(config, run["id"]) if run and killed else None
    updated = inserted = 0
    if number % 2 == 1:
        updated, inserted = change_source(number, rows)
    rerun = _hub(config, "sync", SOURCE)
    if rerun.returncode != 0:
        raise SystemExit(f"trial {number}: the rerun failed: {rerun.stderr[-3000:]}")
    with _store(store_url) as conn:
        row = conn.execute(
            "SELECT mode, rows_read FROM hub_runs WHERE source = %s ORDER BY id DESC LIMIT 1",
            (SOURCE,),
        ).fetchone()
    assert row is not None
    mode, rerun_rows = str(row[0]), int(row[1])
    committed = run["batches"] if run and killed else 0
    resumed = None
    if committed:
        resumed = mode == "incremental" and rerun_rows < current + inserted
    lost, duplicated, stale, compare_rows = compare(store_url)
    result = PullTrial(
        trial=number,
        fresh_store=fresh,
        killed_batches=committed if killed else None,
        killed_rows=run["rows_loaded"] if run and killed else 0,
        interrupted=interrupted,
        updated=updated,
        inserted=inserted,
        rerun_mode=mode,
        rerun_rows=rerun_rows,
        resumed=resumed,
        source_rows=compare_rows,
        lost=lost,
        duplicated=duplicated,
        stale=stale,
        seconds=round(time.perf_counter() - started, 2),
    )
    say(
        f"  pull trial {number}: "
        + (
            f"killed after {committed} batches ({result.killed_rows:,} rows)"
            if killed
            else "ended before the kill"
        )
        + f", interrupted shown: {interrupted}, changed +{inserted}/~{updated}, rerun "
        f"{mode} {rerun_rows:,} rows, lost {lost}, duplicated {duplicated}, stale {stale}"
    )
    return result


def run(rows: int, trials: int, rng: random.Random, work: Path, say: Any) -> list[PullTrial]:
    """Build the source, then run the trials; return them."""
    say(f"pull: {rows:,} order lines in PostgreSQL database {SOURCE_DB} ...")
    pgdata.build_source(rows, SOURCE_DB, reuse=False)
    store_url = pgdata.url(STORE_DB)
    config = jobs.write_hub_config(
        work / "pull",
        store_url=pgdata.url(STORE_DB, "postgresql+psycopg"),
        source_url=pgdata.url(SOURCE_DB, "postgresql+psycopg"),
        batch_size=batch_size(rows),
    )
    return [trial(n, config, store_url, rows, rng, say) for n in range(trials)]
