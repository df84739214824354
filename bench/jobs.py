"""The measured jobs, each a snippet run in a child process by :func:`bench.measure.run_job`.

Every job times only its own work (not interpreter start or imports) and reports rows,
seconds and its process's peak memory as the last line of its output.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from bench.measure import PEAK_SNIPPET
from schemas.settings import DEFAULT_BATCH_SIZE


def render(snippet: str, **values: Any) -> str:
    """The snippet with ``$name`` placeholders replaced by the values' Python literals."""
    return Template(snippet).substitute({k: repr(v) for k, v in values.items()})


DRIVER_FETCHMANY = (
    PEAK_SNIPPET
    + """
import time, psycopg
with psycopg.connect($url) as conn:
    started = time.perf_counter()
    rows = 0
    with conn.cursor(name="bench") as cur:
        cur.itersize = 10_000
        cur.execute("SELECT * FROM order_lines")
        while batch := cur.fetchmany(10_000):
            rows += len(batch)
    _report(rows, time.perf_counter() - started)
"""
)

DRIVER_COPY = (
    PEAK_SNIPPET
    + """
import time, psycopg
with psycopg.connect($url) as conn:
    started = time.perf_counter()
    size = 0
    with conn.cursor() as cur, cur.copy("COPY order_lines TO STDOUT") as copy:
        for block in copy:
            size += len(block)
    rows = conn.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    _report(rows, time.perf_counter() - started, bytes=size)
"""
)

HUB_SYNC = (
    PEAK_SNIPPET
    + """
import time
from crm_core.store.db import open_store
from crm_core.pull.sync import SyncEngine
from schemas.settings import load_config
config = load_config($config)
store = open_store(config.store_url())
engine = SyncEngine(config, store)
started = time.perf_counter()
results = engine.sync_source("bench_erp", full_refresh=$full_refresh)
seconds = time.perf_counter() - started
failed = [r.error for r in results if r.error]
if failed:
    raise SystemExit("sync failed: " + "; ".join(failed))
_report(
    sum(r.counts.rows_read for r in results),
    seconds,
    loaded=sum(r.counts.rows_loaded for r in results),
    quarantined=sum(r.counts.rows_quarantined for r in results),
    contract_seconds=sum(r.counts.checks.get("seconds", 0.0) for r in results),
)
"""
)

HUB_CONFIG = """\
store:
  url: {store_url}
defaults:
  batch_size: {batch_size}
sources:
  bench_erp:
    kind: sql
    url: {source_url}
    mapping: {mapping}
    streams:
      order_lines:
        table: order_lines
        primary_key: [order_id, line_no]
        cursor: [updated_at]
"""


def write_hub_config(
    folder: Path, *, store_url: str, source_url: str, batch_size: int = DEFAULT_BATCH_SIZE
) -> Path:
    """A crm-hub.yaml for the benchmark source and a given store."""
    mapping = Path(__file__).parent / "erp" / "bench_erp.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "crm-hub.yaml"
    path.write_text(
        HUB_CONFIG.format(
            store_url=store_url, source_url=source_url, mapping=mapping, batch_size=batch_size
        ),
        encoding="utf-8",
    )
    return path
