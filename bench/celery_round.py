"""``python -m bench celery``: one pull round of the demo's three sources on CeleryExecutor,
with 1 worker and then 2 workers (2 task processes each).

Each round starts from an empty PostgreSQL store and a fresh Airflow (``crm-hub airflow
--executor celery``, Redis broker, PostgreSQL metadata; ``tests/celery_kit.py`` drives it)
and unpauses the three pull DAGs at once: the wall time runs from the unpause to the end of
the last pull run. Every source gets ``max_connections: 8``, so only the workers bound how
many streams run at once. Per stream task: its time in Airflow (start to end), the hub's own
time (the ledger run), the wait in the queue, and the CPU and peak memory of the workers.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from bench import report
from crm_core.store.db import open_store
from crm_core.store.tables import runs
from sample_erps import scenario
from tests import celery_kit

PG_ADMIN = os.environ.get(
    "CRM_HUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PAGE = 4096


def _database(action: str, name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if action == "create":
                conn.execute(text(f"CREATE DATABASE {name}"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        return admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()


def _worker_rss_mb(deployment: celery_kit.Deployment) -> float:
    """Resident memory of the workers' sessions now (workers, their pools, task processes)."""
    sessions = {pid for name, pid in deployment.pids().items() if name.startswith("worker")}
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) in sessions:
                    total += int((entry / "statm").read_text().split()[1]) * PAGE
            except (OSError, ValueError):
                continue
    return total / 2**20


def _round(config: Path, work: Path, workers: int, concurrency: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    store_url = _database("create", f"crmhub_bench_store_{tag}")
    metadata_url = _database("create", f"crmhub_bench_airflow_{tag}")
    try:
        open_store(store_url).dispose()
        with celery_kit.deployment(
            config,
            work / f"airflow-{workers}",
            metadata_url=metadata_url,
            store_url=store_url,
            workers=workers,
            concurrency=concurrency,
        ) as airflow:
            cpu_before = airflow.cpu_seconds()
            peak_rss = 0.0
            started = time.monotonic()
            for dag_id in celery_kit.PULLS:
                airflow.unpause(dag_id)

            def done() -> bool:
                nonlocal peak_rss
                peak_rss = max(peak_rss, _worker_rss_mb(airflow))
                pulls = [r for r in airflow.dag_runs() if r["dag_id"] in celery_kit.PULLS]
                return len(pulls) == len(celery_kit.PULLS) and all(
                    r["state"] in ("success", "failed") for r in pulls
                )

            airflow.wait_until(done, timeout=900, what="the pull round")
            wall = time.monotonic() - started
            cpu_after = airflow.cpu_seconds()
            dag_runs = airflow.dag_runs()
            tasks = airflow.task_instances()
        engine = create_engine(store_url)
        with engine.connect() as conn:
            ledger = conn.execute(
                select(runs.c.started_at, runs.c.finished_at, runs.c.rows_loaded)
            ).all()
        engine.dispose()
    finally:
        _database("drop", f"crmhub_bench_store_{tag}")
        _database("drop", f"crmhub_bench_airflow_{tag}")
    streams = [t for t in tasks if t["task_id"] not in ("announce", "watcher") and t["start_date"]]
    in_airflow = [(t["end_date"] - t["start_date"]).total_seconds() for t in streams]
    queued = [(t["start_date"] - t["queued_dttm"]).total_seconds() for t in streams]
    hub = [(r.finished_at - r.started_at).total_seconds() for r in ledger]
    cpu = {k: round(cpu_after.get(k, 0) - cpu_before.get(k, 0), 1) for k in cpu_after}
    worker_cpu = sum(v for k, v in cpu.items() if k.startswith("worker"))
    return {
        "workers": workers,
        "concurrency": concurrency,
        "wall_seconds": round(wall, 1),
        "runs": {r["dag_id"]: r["state"] for r in dag_runs},
        "stream_tasks": len(streams),
        "tasks": len([t for t in tasks if t["start_date"]]),
        "rows_loaded": sum(r.rows_loaded or 0 for r in ledger),
        "task_seconds_median": round(statistics.median(in_airflow), 2),
        "task_seconds_max": round(max(in_airflow), 2),
        "hub_seconds_median": round(statistics.median(hub), 3),
        "hub_seconds_max": round(max(hub), 3),
        "queue_wait_median": round(statistics.median(queued), 1),
        "cpu_seconds": cpu,
        "worker_cpu_per_task": round(worker_cpu / max(1, len(tasks)), 2),
        "workers_peak_rss_mb": round(peak_rss),
    }


def run(customers: int = 300, *, concurrency: int = 2, as_json: bool = False) -> dict[str, Any]:
    """A pull round with 1 and with 2 workers; print the figures, save JSON."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    problem = celery_kit.redis_problem()
    if problem:
        raise SystemExit(f"bench celery: {problem}")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-celery-") as tmp:
        work = Path(tmp)
        port = celery_kit.free_port()
        desk_port = celery_kit.free_port()
        config = celery_kit.make_demo(
            work / "demo", customers, port, max_connections=8, service_desk_port=desk_port
        )
        with scenario.servers(work / "demo", port, desk_port):
            for workers in (1, 2):
                say(f"pull round with {workers} worker(s) x {concurrency} ...")
                rounds.append(_round(config, work, workers, concurrency))
                say(json.dumps(rounds[-1]))
    for r in rounds:
        say(
            f"{r['workers']} worker(s) x {r['concurrency']}: {r['wall_seconds']:.0f} s for "
            f"{r['stream_tasks']} streams ({r['rows_loaded']:,} rows); a stream task "
            f"{r['task_seconds_median']:.1f} s in Airflow (hub {r['hub_seconds_median']:.2f} s), "
            f"{r['worker_cpu_per_task']:.1f} CPU-s per task, workers' peak "
            f"{r['workers_peak_rss_mb']} MB"
        )
    result = {"benchmark": "celery", "machine": report.machine(), "rounds": rounds}
    saved = report.save("celery-round", result)
    say(f"saved {saved}")
    if as_json:
        print(json.dumps(result))
    return result
