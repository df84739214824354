"""The hub on Airflow's CeleryExecutor with two workers: the pulls of the demo's three
sources, started by unpausing them through Airflow's REST API, each row once in a
PostgreSQL store, and the reconcile their assets trigger.

``crm-hub airflow --executor celery --workers 2`` runs a scheduler, a DAG processor, an API
server, a triggerer and two Celery workers (Redis broker; PostgreSQL for Airflow's metadata
and Celery's results); ``tests/celery_kit.py`` drives it and always stops it. Deselect with
``-m "not celery"``; it needs Redis at 127.0.0.1:6379 (CI starts it: a skip fails the run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from crm_core.scheduling.local_celery import worker_name
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, golden_customers, runs
from sample_erps import scenario
from tests import celery_kit
from tests.celery_kit import PULLS, RECONCILE
from tests.conftest import PG_ADMIN, _scratch_database

pytestmark = [pytest.mark.slow, pytest.mark.celery, pytest.mark.postgres]
WORKERS = 2
ENDED = {"success", "failed"}


@pytest.fixture
def metadata_url() -> Iterator[str]:
    """A scratch PostgreSQL database for Airflow's metadata and Celery's results."""
    yield from _scratch_database(PG_ADMIN, "crmhub_airflow")


def test_celery_two_workers_pull_every_row_once_and_reconcile_from_the_assets(
    tmp_path: Path, pg_url: str, metadata_url: str
) -> None:
    problem = celery_kit.redis_problem()
    if problem:
        pytest.skip(f"redis: {problem} (start redis-server; .ci/run does)")
    rest_port, desk_port = celery_kit.free_port(), celery_kit.free_port()
    config = celery_kit.make_demo(
        tmp_path / "demo", 300, rest_port, max_connections=None, service_desk_port=desk_port
    )
    open_store(pg_url).dispose()  # the store migrated once, before tasks race to do it

    with (
        scenario.servers(tmp_path / "demo", rest_port, desk_port),
        celery_kit.deployment(
            config,
            tmp_path / "airflow-home",
            metadata_url=metadata_url,
            store_url=pg_url,
            workers=WORKERS,
        ) as airflow,
    ):
        airflow.unpause(RECONCILE)
        for dag_id in PULLS:  # each starts the run of its latest scheduled time
            airflow.unpause(dag_id)

        def settled() -> bool:
            dag_runs = airflow.dag_runs()
            pulls = [r for r in dag_runs if r["dag_id"] in PULLS]
            reconciles = [r for r in dag_runs if r["dag_id"] == RECONCILE]
            waiting = airflow.query("SELECT count(*) AS n FROM asset_dag_run_queue")[0]["n"]
            return (
                len(pulls) == len(PULLS)
                and all(r["state"] in ENDED for r in pulls)
                and waiting == 0
                and bool(reconciles)
                and all(r["state"] in ENDED for r in reconciles)
            )

        airflow.wait_until(settled, timeout=240, what="the pulls and the reconcile")
        dag_runs = airflow.dag_runs()
        tasks = airflow.task_instances()
        expected = celery_kit.source_rows(config)  # the HTTP systems are still served here
        logs = airflow.logs()

    # a run per pull (its scheduled one) and the reconciles the assets started; all succeeded
    assert Counter(r["dag_id"] for r in dag_runs if r["dag_id"] in PULLS) == dict.fromkeys(PULLS, 1)
    assert {(r["dag_id"], r["run_type"]) for r in dag_runs} == {
        *((d, "scheduled") for d in PULLS),
        (RECONCILE, "asset_triggered"),
    }, dag_runs
    assert all(r["state"] == "success" for r in dag_runs), (dag_runs, logs)
    # every task succeeded; each pull's watcher, which fails the run when a stream failed,
    # was skipped
    failed = [
        (t["dag_id"], t["task_id"], t["state"])
        for t in tasks
        if t["state"] != ("skipped" if t["task_id"] == "watcher" else "success")
    ]
    assert not failed, (failed, logs)
    streams = sum(len(s) for s in _streams(expected).values())
    assert len([t for t in tasks if t["dag_id"] in PULLS]) == streams + 2 * len(PULLS)

    # the tasks ran on both workers
    hosts = Counter(t["hostname"] for t in tasks if t["dag_id"] in PULLS and t["hostname"])
    assert set(hosts) == {worker_name(i) for i in range(1, WORKERS + 1)}, hosts

    # every source row arrived exactly once: one run per stream read and loaded each row,
    # and the store holds as many rows per source and stream as the source has
    store = create_engine(pg_url)
    try:
        with store.connect() as conn:
            ledger = conn.execute(
                select(
                    runs.c.source,
                    runs.c.stream,
                    runs.c.entity,
                    runs.c.status,
                    runs.c.rows_read,
                    runs.c.rows_loaded,
                ).where(runs.c.source.in_(scenario.SOURCES))
            ).all()
            per_stream = {(r.source, r.stream): r for r in ledger}
            assert len(ledger) == len(per_stream) == len(expected)
            stored = {}
            for (source, stream), row in per_stream.items():
                table = RECORD_TABLES[row.entity]
                stored[(source, stream)] = conn.scalar(
                    select(func.count()).select_from(table).where(table.c.source == source)
                )
            golden = conn.scalar(select(func.count()).select_from(golden_customers))
    finally:
        store.dispose()
    assert {k: (r.status, r.rows_read, r.rows_loaded) for k, r in per_stream.items()} == {
        k: ("success", n, n) for k, n in expected.items()
    }
    assert stored == expected
    assert sum(expected.values()) > 20_000
    assert golden and golden > 300  # the reconcile the assets triggered made golden records


def _streams(counts: dict[tuple[str, str], int]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source, stream in counts:
        out.setdefault(source, []).append(stream)
    return out
