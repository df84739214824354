"""The Airflow DAGs generated from the config: integrity, and real runs with ``dag.test()``.

Airflow runs in subprocesses (``tests/airflow_kit.py`` and the ``airflow`` command) with a
temporary AIRFLOW_HOME, so importing it never changes logging in the pytest process. The
config has two sources: the demo's sample ERP, and a second one with a stream its mapping
does not know, which fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from crm_core.scheduling.dag_plan import plan
from crm_core.store.tables import RECORD_TABLES, runs
from sample_erps import scenario
from schemas.settings import load_config

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("airflow_kit.py")
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PULL_A, PULL_B = "crm_hub_pull_legacy_erp", "crm_hub_pull_second_erp"
RECONCILE, PUSH_BACK = "crm_hub_reconcile", "crm_hub_push_back"
SECOND_SOURCE = """
  second_erp:
    kind: sql
    url: sqlite:///second/legacy_erp.db
    mapping: mappings/legacy_erp.yaml
    schedule: "0 * * * *"
    max_connections: 3
    streams:
      customers: {table: RCM, primary_key: [CCUST], cursor: [CCHGD, CCHGT]}
      orders: {table: ECH, primary_key: [HORD], cursor: [HCHGD, HCHGT]}
      unmapped: {table: RCM, primary_key: [CCUST]}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two sample ERPs and a config naming both; returns the config path."""
    folder = tmp_path_factory.mktemp("hub")
    scenario.prepare(folder / "second", seed=8, customers=30, as_of=date(2026, 11, 20))
    scenario.prepare(folder, seed=7, customers=60, as_of=date(2026, 11, 20))
    config = folder / scenario.CONFIG_NAME
    config.write_text(config.read_text(encoding="utf-8") + SECOND_SOURCE, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory, hub: Path) -> dict[str, str]:
    """The environment of an Airflow with a fresh home, the hub's dags/ and the config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("CRM_HUB_DATABASE_URL", None)
    env.update(
        AIRFLOW_HOME=str(tmp_path_factory.mktemp("airflow-home")),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        CRM_HUB_CONFIG=str(hub),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    return env


def probe(env: dict[str, str], tmp: Path, *args: str) -> dict[str, Any]:
    out = tmp / f"probe-{args[0]}.json"
    done = subprocess.run(
        [sys.executable, str(PROBE), args[0], str(out), *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def json_output(stdout: str) -> Any:
    """The JSON a command printed on its last line (Airflow logs warnings before it)."""
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def described(
    airflow_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return probe(airflow_env, tmp_path_factory.mktemp("probe"), "describe")


def test_a_pull_dag_per_source_plus_reconcile_and_push_back(described: dict[str, Any]) -> None:
    assert described["import_errors"] == {}
    assert set(described["dags"]) == {PULL_A, PULL_B, RECONCILE, PUSH_BACK}


def test_every_task_has_retries_pool_timeout_owner_and_every_dag_tags(
    described: dict[str, Any],
) -> None:
    pools = {"crm_hub_legacy_erp", "crm_hub_second_erp", "crm_hub_core"}
    for dag_id, dag in described["dags"].items():
        assert "crm-hub" in dag["tags"], dag_id
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False, dag_id
        assert dag["order"], dag_id  # a topological order exists: no cycles
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["retries"] >= 1 and task["retry_exponential_backoff"] > 1, where
            assert task["pool"] in pools, where
            assert 0 < task["execution_timeout"] <= 24 * 3600, where
            assert task["owner"] == "crm-hub", where


def test_pull_dag_runs_each_stream_in_the_sources_pool_then_announces(
    described: dict[str, Any],
) -> None:
    dag = described["dags"][PULL_B]
    streams = {"customers", "orders", "unmapped"}
    assert set(dag["tasks"]) == streams | {"announce", "watcher"}
    assert {"pull", "second_erp"} <= set(dag["tags"])
    assert dag["schedule"]["summary"] == "0 * * * *"
    for name in streams:
        task = dag["tasks"][name]
        assert task["pool"] == "crm_hub_second_erp" and task["upstream"] == []
        assert task["on_failure_callback"]
    announce, watcher = dag["tasks"]["announce"], dag["tasks"]["watcher"]
    assert set(announce["upstream"]) == set(watcher["upstream"]) == streams
    assert announce["outlets"] == ["crm_hub.store.second_erp"]
    assert announce["trigger_rule"] == "all_done" and watcher["trigger_rule"] == "one_failed"
    # the demo source has no schedule of its own in a config without one: */15 here
    assert described["dags"][PULL_A]["schedule"]["summary"] == "*/15 * * * *"
    assert len(described["dags"][PULL_A]["tasks"]) == 9 + 2  # a task per stream, and two


def test_reconcile_follows_any_pull_and_push_back_runs_often(described: dict[str, Any]) -> None:
    reconcile = described["dags"][RECONCILE]
    assert reconcile["schedule"]["assets"] == [
        "crm_hub.store.legacy_erp",
        "crm_hub.store.second_erp",
    ]
    assert list(reconcile["tasks"]) == ["reconcile"]
    push_back = described["dags"][PUSH_BACK]
    assert push_back["schedule"]["summary"] == "* * * * *"  # push_back.schedule of the demo
    assert list(push_back["tasks"]) == ["push_back"]


def test_hub_errors_become_retries_or_failures(described: dict[str, Any]) -> None:
    assert described["error_mapping"] == {
        "RetriableError": "RetriableError",  # Airflow retries it, with backoff
        "FatalSyncError": "AirflowFailException",  # no retry: a human must look
        "ConfigError": "AirflowFailException",
        "ValueError": "ValueError",  # not the hub's: Airflow's default (retry)
    }


@pytest.fixture(scope="module")
def migrated(airflow_env: dict[str, str]) -> dict[str, str]:
    """The same environment with Airflow's metadata database migrated (about 4 s)."""
    airflow(airflow_env, "db", "migrate")
    return airflow_env


@pytest.mark.slow
def test_how_this_is_checked(tmp_path: Path) -> None:
    """The issue's check, literally: a fresh AIRFLOW_HOME, the demo's config, then migrate.

    Only AIRFLOW_HOME, AIRFLOW__CORE__DAGS_FOLDER and CRM_HUB_CONFIG are set (so Airflow's
    defaults hold, example DAGs included), and nothing runs ``dags reserialize``: crm-hub's
    Airflow provider stores the DAGs during ``airflow db migrate``. A second migrate, with the
    config gone, still succeeds and says in one line why the DAGs are missing.
    """
    scenario.prepare(tmp_path / "demo", seed=1, customers=20, as_of=date(2026, 11, 20))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("CRM_HUB_DATABASE_URL", None)
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow-home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        CRM_HUB_CONFIG=str(tmp_path / "demo" / scenario.CONFIG_NAME),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    airflow(env, "db", "migrate")
    assert json_output(airflow(env, "dags", "list-import-errors", "-o", "json")) == []
    ids = {d["dag_id"] for d in json_output(airflow(env, "dags", "list", "-o", "json"))}
    assert {PULL_A, RECONCILE, PUSH_BACK} <= ids

    env["CRM_HUB_CONFIG"] = str(tmp_path / "nowhere.yaml")
    again = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    said = again.stdout + again.stderr
    assert "crm-hub: crm_hub_dags.py in" in said and "nowhere.yaml does not exist" in said
    assert "Traceback" not in said


def _count(url: str, stmt: Any) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_dag_test_pulls_into_the_store_then_reconcile_and_push_back(
    migrated: dict[str, str], hub: Path, tmp_path: Path
) -> None:
    report = probe(migrated, tmp_path, "run", PULL_A, PULL_B, RECONCILE, PUSH_BACK)
    pull_a, pull_b = report["runs"][PULL_A], report["runs"][PULL_B]
    assert pull_a["state"] == "success", pull_a
    assert pull_a["tasks"].pop("watcher") == "skipped"
    assert set(pull_a["tasks"].values()) == {"success"}

    store = f"sqlite:///{hub.parent / scenario.STORE_DB}"
    erp = f"sqlite:///{hub.parent / scenario.ERP_DB}"
    orders = RECORD_TABLES["orders"]
    for table, in_erp in (("orders", "ECH"), ("order_lines", "ECL"), ("customers", "RCM")):
        stored = RECORD_TABLES[table]
        assert _count(
            store, select(func.count()).select_from(stored).where(stored.c.source == "legacy_erp")
        ) == _count(erp, text(f'SELECT COUNT(*) FROM "{in_erp}"'))
    assert _count(
        store, select(func.count()).select_from(orders).where(orders.c.source == "second_erp")
    ) == _count(
        f"sqlite:///{hub.parent / 'second' / scenario.ERP_DB}", text('SELECT COUNT(*) FROM "ECH"')
    )

    # the stream without a mapping fails at once (no retry), the run fails, the rest loads
    assert pull_b["state"] == "failed"
    assert pull_b["tasks"] == {
        "customers": "success",
        "orders": "success",
        "unmapped": "failed",
        "announce": "success",
        "watcher": "failed",
    }
    engine = create_engine(store)
    with engine.connect() as conn:
        failed = conn.execute(
            select(runs).where(runs.c.source == "second_erp", runs.c.stream == "unmapped")
        ).all()
        reconciled = conn.execute(
            select(runs).where(runs.c.source == "_hub", runs.c.stream == "reconcile")
        ).all()
        loaded = conn.execute(
            select(func.sum(runs.c.rows_loaded)).where(runs.c.source != "_hub")
        ).scalar_one()
        tried = conn.execute(select(runs.c.checks).where(runs.c.source == "legacy_erp")).all()
    engine.dispose()
    assert len(failed) == 1 and failed[0].status == "failed"  # the failure callback's row
    assert "has no stream 'unmapped'" in failed[0].error
    # each run knows its try of the scheduled run, for `status --check` to count tries once
    tries = plan(load_config(hub)).task.retries + 1
    assert failed[0].checks == {"attempt": 1, "max_attempts": tries}
    assert tried and all((c["attempt"], c["max_attempts"]) == (1, tries) for (c,) in tried)

    # each pull that loaded rows updated its asset once; reconcile counted every loaded row
    assert report["asset_events"] == {"crm_hub.store.legacy_erp": 1, "crm_hub.store.second_erp": 1}
    assert report["runs"][RECONCILE] == {"state": "success", "tasks": {"reconcile": "success"}}
    assert [r.rows_read for r in reconciled] == [loaded]
    assert report["runs"][PUSH_BACK] == {"state": "success", "tasks": {"push_back": "success"}}
