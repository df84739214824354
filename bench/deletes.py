"""``python -m bench deletes``: a detect pass of deletes against a full sync, same run.

The PostgreSQL source holds N order lines (a database of this benchmark's own, since rows
are deleted from it); a full sync loads them into a fresh PostgreSQL store; 0.1% of the
lines are then deleted in the source, and ``sync --detect-deletes`` finds them: an
incremental read that finds nothing new, then the detect pass (the source's keys and the
store's, compared on the hub's side; only the keys gone are marked). Its time is set
against the full sync's (the goal: under 15%), and its peak memory is measured at two
sizes, a tenth of N and N, to show that it stays flat (each job runs in a child process
of its own, see :mod:`bench.measure`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench import jobs, pgdata, report
from bench.measure import PEAK_SNIPPET, Measurement, run_job
from schemas.settings import DEFAULT_BATCH_SIZE

SOURCE_DB = "crmhub_bench_deletes_src"
STORE_DB = "crmhub_bench_deletes_store"
#: One line in this many is deleted (0.1%).
DELETE_EVERY = 1000
GOAL = 0.15

DETECT = (
    PEAK_SNIPPET
    + """
import time
from crm_core.store.db import open_store
from crm_core.pull.sync import SyncEngine
from schemas.settings import load_config
config = load_config($config)
engine = SyncEngine(config, open_store(config.store_url()))
started = time.perf_counter()
[result] = engine.sync_source("bench_erp", detect_deletes=True)
seconds = time.perf_counter() - started
if result.error:
    raise SystemExit("sync failed: " + result.error)
deletes = result.counts.checks["deletes"]
_report(
    deletes["source_keys"],
    deletes["seconds"],
    run_seconds=seconds,
    rows_deleted=result.counts.rows_deleted,
    rows_read=result.counts.rows_read,
)
"""
)


def build_source(rows: int) -> None:
    """The bench's order lines, in a source database of this benchmark's own."""
    pgdata.recreate_database(SOURCE_DB)
    customers = max(1, rows // (pgdata.LINES_PER_ORDER * pgdata.ORDERS_PER_CUSTOMER))
    with psycopg.connect(
        pgdata.url(SOURCE_DB), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        conn.execute(pgdata.SOURCE_DDL.replace("%(layout)s", f"'{pgdata.LAYOUT}'"))
        conn.execute(
            pgdata.FILL_SQL,
            {"rows": rows, "customers": customers, "lines": pgdata.LINES_PER_ORDER},
        )


def delete_share() -> int:
    """Delete one line in :data:`DELETE_EVERY` (spread over the table); return how many."""
    with psycopg.connect(pgdata.url(SOURCE_DB), autocommit=True) as conn:
        cur = conn.execute(
            "DELETE FROM order_lines WHERE (hashtext(order_id::text || '/' || line_no) "
            "& 2147483647) %% %s = 0",
            (DELETE_EVERY,),
        )
        conn.execute("ANALYZE order_lines")
        return cur.rowcount


def config(work: Path, batch_size: int) -> Path:
    """A fresh store and a config syncing this benchmark's source, ``deletes: detect``."""
    pgdata.recreate_database(STORE_DB)
    path = jobs.write_hub_config(
        work,
        store_url=pgdata.url(STORE_DB, "postgresql+psycopg"),
        source_url=pgdata.url(SOURCE_DB, "postgresql+psycopg"),
        batch_size=batch_size,
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("cursor: [updated_at]\n", "cursor: [updated_at]\n        deletes: detect\n"),
        encoding="utf-8",
    )
    return path


def one_size(rows: int, batch_size: int) -> tuple[Measurement, Measurement, int]:
    """Full sync, delete 0.1%, detect: the two measurements and the lines deleted."""
    build_source(rows)
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-deletes-") as tmp:
        path = config(Path(tmp), batch_size)
        full = run_job(
            f"full sync {rows:,}", jobs.render(jobs.HUB_SYNC, config=str(path), full_refresh=False)
        )
        deleted = delete_share()
        detect = run_job(f"detect pass {rows:,}", jobs.render(DETECT, config=str(path)))
    if detect.extra["rows_deleted"] != deleted:
        raise SystemExit(f"the detect pass marked {detect.extra['rows_deleted']}, {deleted} gone")
    return full, detect, deleted


def run(
    rows: int, *, batch_size: int = DEFAULT_BATCH_SIZE, as_json: bool = False
) -> dict[str, Any]:
    """Measure at a tenth of ``rows`` and at ``rows``; print a table, save JSON."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    small = max(rows // 10, 1_000)
    say(f"{small:,} order lines ...")
    small_full, small_detect, _ = one_size(small, batch_size)
    say(f"{rows:,} order lines ...")
    full, detect, deleted = one_size(rows, batch_size)
    share = detect.seconds / full.seconds if full.seconds else 0.0
    say("")
    say(
        report.table(
            "deletes: detect pass against a full sync", [small_full, small_detect, full, detect]
        )
    )
    say(
        f"\ndetect pass: {detect.seconds:.2f}s = {share:.1%} of the full sync's "
        f"{full.seconds:.2f}s (goal: under {GOAL:.0%}); {deleted:,} deletes found of {rows:,}; "
        f"peak memory {small_detect.peak_mb:,.0f} MB at {small:,} rows, "
        f"{detect.peak_mb:,.0f} MB at {rows:,}"
    )
    figures = {
        "rows": rows,
        "full_seconds": round(full.seconds, 3),
        "detect_seconds": round(detect.seconds, 3),
        "detect_run_seconds": round(detect.extra["run_seconds"], 3),
        "detect_share": round(share, 4),
        "rows_deleted": deleted,
        "batch_size": batch_size,
        "detect_peak_mb": {
            str(small): round(small_detect.peak_mb),
            str(rows): round(detect.peak_mb),
        },
        "full_peak_mb": {str(small): round(small_full.peak_mb), str(rows): round(full.peak_mb)},
    }
    result = {
        "benchmark": "deletes",
        "machine": report.machine(),
        "figures": figures,
        "series": [vars(m) for m in (small_full, small_detect, full, detect)],
    }
    saved = report.save(f"deletes-{rows}", result)
    say(f"saved {saved}")
    if as_json:
        print(json.dumps(figures))
    return result
