"""The floor under an incremental sync: the changed rows copied and updated by plain SQL.

No mapping, checks, ledger or upsert logic: on each of two connections (the hub's default
``store.load_connections``) half of the rows changed since a time are copied out of the
source in PostgreSQL's binary format, into a temporary table of the store, and the store's
rows with those keys are updated from it (the columns the change touched, and the load's
lineage). What that takes is what updating rows spread over the whole table costs this
store server (a page read, a dirty page written back, after a checkpoint a full-page image
in the WAL, per changed row), which no tool can avoid; the hub's incremental is set
against it as well as against its own full sync.
"""

from __future__ import annotations

from datetime import datetime

from bench import jobs, pgdata
from bench.measure import PEAK_SNIPPET, Measurement, run_job

FLOOR = (
    PEAK_SNIPPET
    + """
import threading, time, psycopg
COLUMNS = "order_id, line_no, amount, updated_at"
def share(part, counts):
    with psycopg.connect($source) as src, psycopg.connect($store) as dst:
        dst.execute(
            "CREATE TEMP TABLE changed (order_id bigint, line_no int, amount numeric, "
            "updated_at timestamptz)"
        )
        query = (
            f"COPY (SELECT {COLUMNS} FROM order_lines WHERE updated_at > %s "
            f"AND (order_id + line_no) %% 2 = %s) TO STDOUT (FORMAT binary)"
        )
        with src.cursor().copy(query, ($since, part)) as out:
            with dst.cursor().copy("COPY changed FROM STDIN (FORMAT binary)") as into:
                for block in out:
                    into.write(block)
        # a probe of the key index per changed row, as the hub's MERGE is planned: without
        # the table's statistics (no autovacuum here) the planner would hash all of it
        dst.execute("SET enable_hashjoin = off")
        dst.execute("SET enable_mergejoin = off")
        counts[part] = dst.execute(
            "UPDATE order_lines t SET amount = c.amount, updated_at = c.updated_at, "
            "run_id = -1, loaded_at = now() FROM changed c WHERE t.source = 'bench_erp' "
            "AND t.order_id = c.order_id::text AND t.line_no = c.line_no"
        ).rowcount
counts = {}
started = time.perf_counter()
threads = [threading.Thread(target=share, args=(part, counts)) for part in (0, 1)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
_report(sum(counts.values()), time.perf_counter() - started)
"""
)


def last_change() -> datetime:
    """The source's latest change time: the floor copies the rows changed after it."""
    import psycopg

    with psycopg.connect(pgdata.url(pgdata.SOURCE_DB)) as conn:
        found = conn.execute("SELECT max(updated_at) FROM order_lines").fetchone()
    assert found is not None and found[0] is not None
    return found[0]


def job(store_db: str, since: datetime) -> Measurement:
    """The floor's run against the store database ``store_db``: rows changed after
    ``since``."""
    code = jobs.render(
        FLOOR,
        source=pgdata.url(pgdata.SOURCE_DB),
        store=pgdata.url(store_db),
        since=since.isoformat(),
    )
    return run_job("plain SQL update of the changed rows", code)
