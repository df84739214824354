"""What ops see without Airflow: run history, the health check, metrics, the DAG plan."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update

from crm_core.ledger import health
from crm_core.ledger import runs as run_ledger
from crm_core.ledger.metrics import prometheus_text
from crm_core.pull.sync import SyncEngine
from crm_core.scheduling import dag_plan, local_airflow, local_celery
from crm_core.store.db import open_store
from crm_core.store.tables import runs as run_table
from schemas.errors import ConfigError
from schemas.settings import HubConfig, load_config
from tests import shop_kit
from tests.test_cli import crm_hub

NOWHERE = "sqlite:///nowhere/erp.db"


@pytest.fixture
def ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[HubConfig, Engine, dict[str, str]]:
    """The shop synced once, then its orders failing three times (ERP unreachable)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(url)
    shop_kit.add_customers(
        erp, [(f"C{i}", "Ada", "ada@example.com", shop_kit.T0) for i in range(7)]
    )
    shop_kit.add_orders(erp, 12)
    erp.dispose()
    config = load_config(shop_kit.write_files(tmp_path, "sqlite:///store.db", batch=5))
    store = open_store(config.store_url())
    monkeypatch.setenv("SHOP_URL", url)
    SyncEngine(config, store).sync_source("shop")
    monkeypatch.setenv("SHOP_URL", NOWHERE)
    for _ in range(3):
        SyncEngine(config, store).sync_source("shop", ["orders"])
    return config, store, {"SHOP_URL": url}


def test_history_filters_and_duration(ledger: tuple[HubConfig, Engine, dict[str, str]]) -> None:
    _config, store, _env = ledger
    failed = health.history(store, status="failed")
    assert [r["stream"] for r in failed] == ["orders"] * 3
    assert [r["stream"] for r in health.history(store, stream="customers")] == ["customers"]
    assert len(health.history(store, source="shop", limit=2)) == 2
    first = health.run_json(health.history(store, status="success", stream="orders")[0])
    assert first["rows_loaded"] == 12 and first["mode"] == "full"
    assert first["duration_seconds"] is not None and first["duration_seconds"] >= 0
    assert first["watermark"] != "-"


def test_health_flags_repeated_failures_and_lateness(
    ledger: tuple[HubConfig, Engine, dict[str, str]],
) -> None:
    config, store, _env = ledger
    now = datetime.now(UTC)
    by_stream = {h.stream: h for h in health.health(config, store, now=now)}
    assert by_stream["orders"].consecutive_failures == 3 and not by_stream["orders"].ok
    assert "failed its last 3 runs" in by_stream["orders"].problems[0]
    assert "nowhere" in by_stream["orders"].problems[0]  # the last error, to act on
    assert by_stream["customers"].ok and not by_stream["customers"].late
    assert all(h.ok for h in health.health(config, store, now=now, failures=4))
    # @hourly (the shop's default): a success two hours ago means a whole hour was missed
    late = {h.stream: h for h in health.health(config, store, now=now + timedelta(hours=2))}
    assert late["customers"].late and "late: last successful run" in late["customers"].problems[0]
    grace = health.health(config, store, now=now + timedelta(hours=2), grace=timedelta(hours=2))
    assert not {h.stream: h for h in grace}["customers"].late


def test_scheduler_retries_of_one_run_count_as_one_failure(
    ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path
) -> None:
    """Airflow's tries of one scheduled run are one failure, said to be retrying while
    tries are left; tries of separate scheduled runs, or runs by hand, count apiece."""
    config, store, env = ledger
    failed = sorted(r["id"] for r in health.history(store, stream="orders", status="failed"))
    for attempt, run_id in enumerate(failed, start=1):  # tries 1, 2, 3 of 4 of one run
        run_ledger.set_attempt(store, run_id, attempt, 4)
    [orders] = [h for h in health.health(config, store, failures=1) if h.stream == "orders"]
    assert orders.consecutive_failures == 1 and orders.retrying == "retrying, try 4 of 4"
    assert "failed its last 1 runs (retrying, try 4 of 4)" in orders.problems[0]
    check = crm_hub("status", "--check", cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr
    assert "shop.orders: retrying, try 4 of 4" in check.stdout
    shown = json.loads(crm_hub("status", "--check", "--json", cwd=tmp_path, env=env).stdout)
    assert {h["stream"]: h["retrying"] for h in shown}["orders"] == "retrying, try 4 of 4"

    run_ledger.set_attempt(store, failed[2], 4, 4)  # the last try failed too: no more retrying
    [orders] = [h for h in health.health(config, store) if h.stream == "orders"]
    assert orders.consecutive_failures == 1 and orders.retrying is None
    for run_id in failed:  # three scheduled runs, each failed at its first try of 1
        run_ledger.set_attempt(store, run_id, 1, 1)
    [orders] = [h for h in health.health(config, store) if h.stream == "orders"]
    assert orders.consecutive_failures == 3 and "failed its last 3 runs" in orders.problems[0]


def test_is_late_follows_the_cron_schedule() -> None:
    at = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)
    every15 = "*/15 * * * *"
    assert not health.is_late(
        every15, datetime(2026, 11, 20, 9, 45, 3, tzinfo=UTC), at, timedelta(0)
    )
    assert health.is_late(every15, datetime(2026, 11, 20, 9, 44, tzinfo=UTC), at, timedelta(0))
    assert not health.is_late(
        every15, datetime(2026, 11, 20, 9, 40, tzinfo=UTC), at, timedelta(minutes=5)
    )
    assert health.is_late("@daily", None, at, timedelta(0))
    assert not health.is_late("@daily", datetime(2026, 11, 19, 0, 1, tzinfo=UTC), at, timedelta(0))
    assert not health.is_late("@once", None, at, timedelta(0))


def test_status_check_and_runs_on_the_command_line(
    ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path
) -> None:
    _config, _store, env = ledger
    bad = crm_hub("status", "--check", cwd=tmp_path, env=env)
    assert bad.returncode == 1
    assert "CRITICAL shop.orders: failed its last 3 runs" in bad.stderr
    runs = json.loads(crm_hub("runs", "--status", "failed", "--json", cwd=tmp_path).stdout)
    assert len(runs) == 3 and {r["status"] for r in runs} == {"failed"}
    statuses = json.loads(crm_hub("status", "--json", cwd=tmp_path).stdout)
    expected = {
        "source",
        "stream",
        "mode",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "started_at",
        "finished_at",
        "duration_seconds",
        "watermark",
    }
    assert all(expected <= set(r) for r in statuses)
    table = crm_hub("runs", "--stream", "customers", cwd=tmp_path)
    assert table.returncode == 0 and "customers" in table.stdout and "orders" not in table.stdout
    wrong = crm_hub("runs", "--status", "done", cwd=tmp_path)
    assert wrong.returncode == 2 and "use success, failed or running" in wrong.stderr


def test_metrics_in_prometheus_text_format(
    ledger: tuple[HubConfig, Engine, dict[str, str]],
) -> None:
    config, store, _env = ledger
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(prometheus_text(config, store))
        for s in family.samples
    }
    orders = (("source", "shop"), ("stream", "orders"))
    customers = (("source", "shop"), ("stream", "customers"))
    assert samples[("crm_hub_runs_total", (*orders[:1], ("status", "failed"), orders[1]))] == 3
    assert samples[("crm_hub_rows_loaded_total", orders)] == 12
    assert samples[("crm_hub_consecutive_failures", orders)] == 3
    assert samples[("crm_hub_last_run_success", orders)] == 0
    assert samples[("crm_hub_last_run_success", customers)] == 1
    assert samples[("crm_hub_stream_unhealthy", orders)] == 1
    assert samples[("crm_hub_stream_unhealthy", customers)] == 0
    assert samples[("crm_hub_last_success_timestamp_seconds", customers)] > 1.7e9


def test_metrics_command(ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path) -> None:
    out = crm_hub("metrics", cwd=tmp_path)
    assert out.returncode == 0
    assert "# TYPE crm_hub_runs_total counter" in out.stdout
    assert 'crm_hub_rows_read_total{source="shop",stream="customers"} 7.0' in out.stdout


def _config(tmp_path: Path, sources: str) -> HubConfig:
    (tmp_path / "m.yaml").write_text("system: x\nstreams: {}\n", encoding="utf-8")
    path = tmp_path / "crm-hub.yaml"
    path.write_text("defaults: {schedule: '@daily'}\nsources:\n" + sources, encoding="utf-8")
    return load_config(path)


def test_plan_gives_a_pull_dag_and_a_pool_per_source(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
  erp:
    url: sqlite:///erp.db
    mapping: m.yaml
    schedule: "*/10 * * * *"
    max_connections: 4
    streams:
      orders: {table: O, primary_key: [ID]}
      order lines: {table: L, primary_key: [ID]}
      old: {table: X, primary_key: [ID], enabled: false}
  finance:
    url: sqlite:///fin.db
    mapping: m.yaml
    streams:
      invoices: {table: I, primary_key: [ID]}
""",
    )
    plan = dag_plan.plan(config)
    erp, finance = plan.pulls
    assert (erp.dag_id, erp.schedule, finance.schedule) == (
        "crm_hub_pull_erp",
        "*/10 * * * *",
        "@daily",
    )
    assert [(s.stream, s.task_id) for s in erp.streams] == [
        ("orders", "orders"),
        ("order lines", "order_lines"),
    ]
    assert erp.pool.slots == 4 and finance.pool.slots == 2  # max_connections, its default
    assert plan.reconcile.assets == ("crm_hub.store.erp", "crm_hub.store.finance")
    assert [p.name for p in plan.pools] == ["crm_hub_erp", "crm_hub_finance", "crm_hub_core"]
    assert local_airflow.pools_json(plan)["crm_hub_erp"]["slots"] == 4


def test_plan_refuses_streams_that_clash_as_task_ids(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
  erp:
    url: sqlite:///erp.db
    mapping: m.yaml
    streams:
      order lines: {table: O, primary_key: [ID]}
      order_lines: {table: L, primary_key: [ID]}
""",
    )
    with pytest.raises(ConfigError, match="same task id"):
        dag_plan.plan(config)


def test_airflow_environment_and_its_secrets(tmp_path: Path) -> None:
    project = local_airflow.project_dir()
    home = tmp_path / "home"
    env = local_airflow.airflow_env(project, home, tmp_path / "crm-hub.yaml", base={"PATH": "/bin"})
    assert env["AIRFLOW_CONFIG"] == str(project / "airflow.cfg")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(project / "dags")
    assert env["CRM_HUB_CONFIG"] == str((tmp_path / "crm-hub.yaml").resolve())
    assert env["PATH"].endswith(os.pathsep + "/bin")
    secrets = home / local_airflow.SECRETS_FILE
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    again = local_airflow.airflow_env(project, home, tmp_path / "c.yaml", base={})
    assert again["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    mine = local_airflow.airflow_env(
        project, home, tmp_path / "c.yaml", base={"AIRFLOW__CORE__FERNET_KEY": "from-vault"}
    )
    assert mine["AIRFLOW__CORE__FERNET_KEY"] == "from-vault"


def test_airflow_pools_json_and_env_commands(
    ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path
) -> None:
    pools = crm_hub("airflow", "pools", "--json", cwd=tmp_path)
    assert pools.returncode == 0, pools.stderr
    assert json.loads(pools.stdout)["crm_hub_shop"]["slots"] == 2
    env = crm_hub("airflow", "--home", str(tmp_path / "h"), "env", cwd=tmp_path)
    assert env.returncode == 0, env.stderr
    assert f"export AIRFLOW_HOME={tmp_path / 'h'}" in env.stdout
    assert "SECRET" not in env.stdout and "FERNET" not in env.stdout


def test_airflow_port_reaches_the_api_server_and_the_tasks(tmp_path: Path) -> None:
    """`crm-hub airflow --port 8099`: Airflow 3's API server (the web UI) reads [api] port,
    and the tasks call the execution API back on the same port."""
    project, home = local_airflow.project_dir(), tmp_path / "home"
    env = local_airflow.airflow_env(project, home, tmp_path / "c.yaml", base={}, port=8099)
    assert env["AIRFLOW__API__PORT"] == "8099"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8099/execution/"
    behind_proxy = {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "https://af.example/execution/"}
    mine = local_airflow.airflow_env(project, home, tmp_path / "c.yaml", behind_proxy, port=8099)
    assert mine["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "https://af.example/execution/"
    default = local_airflow.airflow_env(project, home, tmp_path / "c.yaml", base={})
    assert "AIRFLOW__API__PORT" not in default
    helped = crm_hub("airflow", "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert helped.returncode == 0 and "--port" in helped.stdout
    refused = crm_hub("airflow", "--port", "99999", cwd=tmp_path)
    assert refused.returncode == 2 and "--port" in refused.stderr and "65535" in refused.stderr


def test_airflow_celery_environment_and_what_it_refuses(
    ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path
) -> None:
    """`crm-hub airflow --executor celery`: the executor, broker, metadata database (psycopg
    3, sync and async) and result backend; slots = workers x concurrency; no broker, no
    metadata database or SQLite is refused before anything starts, naming the option."""
    project, home = local_airflow.project_dir(), tmp_path / "home"
    base = local_airflow.airflow_env(project, home, tmp_path / "c.yaml", base={})
    env = local_celery.celery_env(
        base,
        "redis://:s3cret@127.0.0.1:6379/3",
        "postgresql://airflow:pw@db:5432/airflow",
        workers=3,
        concurrency=2,
    )
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:s3cret@127.0.0.1:6379/3"
    sync = "postgresql+psycopg://airflow:pw@db:5432/airflow"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == sync
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == (
        "postgresql+psycopg_async://airflow:pw@db:5432/airflow"
    )
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+{sync}"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "6"
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"
    workers = [s for s in local_celery.celery_services(2) if s.args[0] == "celery"]
    assert [s.env[local_celery.WORKER_ENV] for s in workers] == [
        local_celery.worker_name(1),
        local_celery.worker_name(2),
    ]
    for args, needle in (
        (["--metadata-db", "postgresql://x@127.0.0.1/af"], "--broker"),
        (["--broker", "redis://127.0.0.1:6379/0"], "--metadata-db"),
        (["--broker", "redis://h/0", "--metadata-db", f"sqlite:///{tmp_path}/af.db"], "SQLite"),
    ):
        done = crm_hub("airflow", "--home", str(home), "--executor", "celery", *args, cwd=tmp_path)
        assert done.returncode == 2 and needle in done.stderr, (args, done.stdout, done.stderr)
        assert not (home / "airflow.db").exists()


FAKE_AIRFLOW = """#!/bin/sh
trap 'echo "stopped by SIGINT"; exit 0' INT
trap 'echo "SIGTERM is not how airflow standalone stops"; exit 9' TERM
echo "running $*"
while true; do sleep 0.1; done
"""


def test_standalone_is_stopped_with_one_sigint(tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM to crm-hub reaches `airflow standalone` as SIGINT, its clean stop."""
    fake = tmp_path / "airflow"
    fake.write_text(FAKE_AIRFLOW, encoding="utf-8")
    fake.chmod(0o755)
    code = (
        "import os, sys; from crm_core.scheduling import local_airflow as a; "
        "sys.exit(a.run_standalone(os.environ))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "running standalone"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert proc.stdout.read().strip() == "stopped by SIGINT"


def test_status_of_a_failed_run_is_honest_and_its_lines_stay_whole_when_piped(
    ledger: tuple[HubConfig, Engine, dict[str, str]], tmp_path: Path
) -> None:
    """The orders' last run failed before reading: its contract was not checked (not "ok"),
    its position is the saved one (not "-", null in JSON), its error is cut at a word with an
    ellipsis, and `status --check` piped to a monitor is one line per problem."""
    _config, store, _env = ledger
    with store.begin() as conn:  # a long error, as a driver may give
        conn.execute(
            update(run_table)
            .where(run_table.c.status == "failed")
            .values(
                error="source shop: reading stream orders: the server closed the connection "
                "unexpectedly; this probably means the server terminated abnormally before or "
                "while processing the request"
            )
        )
    out = crm_hub("status", cwd=tmp_path, env={"COLUMNS": "400"})
    assert out.returncode == 0, out.stderr
    [orders] = [line for line in out.stdout.splitlines() if "│ orders " in line]
    cells = [c.strip() for c in orders.strip("│").split("│")]
    contract, watermark, error = cells[-3:]
    assert cells[3] == "failed" and contract == "-"
    assert watermark.endswith(", 12 (unchanged)")
    assert error == "source shop: reading stream orders: the server closed the connection…"
    customers = next(line for line in out.stdout.splitlines() if "│ customers " in line)
    assert "customers v1: ok" in customers
    runs = json.loads(crm_hub("status", "--json", cwd=tmp_path).stdout)
    assert {r["watermark"] for r in runs if r["status"] == "failed"} == {None}
    assert all(r["watermark"] for r in runs if r["status"] == "success")
    check = crm_hub("status", "--check", cwd=tmp_path)
    [line] = [line for line in check.stderr.splitlines() if line.strip()]
    assert len(line) > 160 and line.startswith("CRITICAL shop.orders: failed its last 3 runs")
    assert line.endswith("before or while processing the request")
