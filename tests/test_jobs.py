"""The functions Airflow's tasks call, run without Airflow; two sources pulled at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from crm_core.ledger import runs
from crm_core.scheduling import jobs
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, stream_state
from crm_core.store.tables import runs as runs_table
from sample_erps import scenario
from schemas.settings import load_config
from tests import shop_kit


@pytest.fixture
def shop_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(url)
    shop_kit.add_customers(
        erp, [(f"C{i}", "Ada", "ada@example.com", shop_kit.T0) for i in range(7)]
    )
    shop_kit.add_orders(erp, 10)
    erp.dispose()
    monkeypatch.setenv("SHOP_URL", url)
    return shop_kit.write_files(tmp_path, "sqlite:///store.db")


def test_reconcile_counts_what_changed_since_the_last_one(shop_config: Path) -> None:
    jobs.sync_stream("shop", "orders", shop_config)
    jobs.sync_stream("shop", "customers", shop_config)
    first = jobs.reconcile(shop_config)
    assert first["rows_changed"] == 17 and first["runs"] == 2 and first["since"] is None
    assert first["streams"] == {"shop.customers": 7, "shop.orders": 10}
    assert jobs.reconcile(shop_config)["rows_changed"] == 0
    erp = create_engine(f"sqlite:///{shop_config.parent / 'shop.db'}")
    shop_kit.add_orders(erp, 3, start=100, t0=shop_kit.T0 + timedelta(days=1))
    erp.dispose()
    jobs.sync_stream("shop", "orders", shop_config)
    third = jobs.reconcile(shop_config)
    assert third["rows_changed"] == 3 and third["streams"] == {"shop.orders": 3}
    assert third["since"] is not None and third["since"] < third["until"]
    store = open_store(load_config(shop_config).store_url())
    ledger = runs.list_runs(store, source="_hub")
    store.dispose()
    assert [r["rows_read"] for r in ledger] == [3, 0, 17]
    assert {r["status"] for r in ledger} == {"success"}


def test_push_back_with_an_empty_outbox_writes_nothing_and_leaves_a_ledger_row(
    shop_config: Path,
) -> None:
    result = jobs.push_back(shop_config)
    assert result["changes"] == 0 and result["written"] == 0 and result["failed"] == 0
    store = open_store(load_config(shop_config).store_url())
    [row] = runs.list_runs(store, source="_hub")
    store.dispose()
    assert row["stream"] == "push_back" and row["status"] == "success"


def test_loaded_since_counts_a_sources_new_rows(shop_config: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    jobs.sync_stream("shop", "orders", shop_config)
    assert jobs.loaded_since("shop", before, shop_config)["rows_loaded"] == 10
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert jobs.loaded_since("shop", later, shop_config) == {
        "source": "shop",
        "runs": 0,
        "rows_loaded": 0,
    }


def test_a_failure_the_engine_could_not_record_reaches_the_ledger(shop_config: Path) -> None:
    store = open_store(load_config(shop_config).store_url())
    started = datetime.now(UTC)
    # failed before its run began (e.g. a bad mapping): a failed run is added
    line = jobs.record_failure(
        "shop", "orders", "MappingError: no stream\nmore", started, shop_config
    )
    assert line.startswith("crm-hub: shop.orders failed: MappingError: no stream (run ")
    # killed at its timeout while running: that run is closed as failed
    run_id = runs.start_run(store, "shop", "customers", "customers", "full")
    jobs.record_failure("shop", "customers", "AirflowTaskTimeout: timed out", started, shop_config)
    # already recorded by the engine since the attempt began: nothing is added
    jobs.record_failure("shop", "customers", "again", started, shop_config)
    rows = runs.list_runs(store)
    store.dispose()
    assert [(r["stream"], r["status"], r["error"].splitlines()[0]) for r in rows] == [
        ("customers", "failed", "AirflowTaskTimeout: timed out"),
        ("orders", "failed", "MappingError: no stream"),
    ]
    assert rows[0]["id"] == run_id


def test_a_failure_callback_never_raises(tmp_path: Path) -> None:
    line = jobs.record_failure("x", "y", "boom", None, tmp_path / "missing.yaml")
    assert line == "crm-hub: x.y failed: boom"


TWO_SOURCES = """\
store:
  url_env: HUB_STORE
defaults:
  batch_size: 400
sources:
{sources}
"""
SOURCE = """\
  {name}:
    kind: sql
    url: sqlite:///{folder}/legacy_erp.db
    mapping: {folder}/mappings/legacy_erp.yaml
    streams:
      order_lines: {{table: ECL, primary_key: [LORD, LLINE], cursor: [LCHGD, LCHGT]}}
"""


@pytest.mark.postgres
@pytest.mark.slow
def test_two_sources_pull_at_once_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pull tasks of different sources at the same time: separate runs and watermarks."""
    sources = {"erp_north": 11, "erp_south": 12}
    for name, seed in sources.items():
        scenario.prepare(tmp_path / name, seed=seed, customers=150, as_of=date(2026, 11, 20))
    config = tmp_path / "crm-hub.yaml"
    config.write_text(
        TWO_SOURCES.format(
            sources="".join(SOURCE.format(name=n, folder=tmp_path / n) for n in sources)
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("HUB_STORE", pg_url)
    open_store(pg_url).dispose()  # migrated once, before the tasks start
    barrier = threading.Barrier(len(sources))
    results: dict[str, Any] = {}

    def task(name: str) -> None:
        barrier.wait()
        try:
            results[name] = jobs.sync_stream(name, "order_lines", config)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            results[name] = exc

    threads = [threading.Thread(target=task, args=(n,)) for n in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    store = open_store(pg_url)
    lines = RECORD_TABLES["order_lines"]
    with store.connect() as conn:
        ledger = {r.source: r for r in conn.execute(select(runs_table))}
        stored = dict(
            conn.execute(select(lines.c.source, func.count()).group_by(lines.c.source)).all()
        )
        state = dict(conn.execute(select(stream_state.c.source, stream_state.c.run_id)).all())
    store.dispose()
    for name in sources:
        result = results[name]
        assert isinstance(result, dict), result
        assert result["status"] == "success" and result["rows_loaded"] == stored[name] > 400
        erp = scenario.erp_engine(tmp_path / name)
        with erp.connect() as conn:
            assert conn.exec_driver_sql('SELECT COUNT(*) FROM "ECL"').scalar() == stored[name]
        erp.dispose()
        assert state[name] == ledger[name].id  # each watermark written by its own run
    north, south = ledger["erp_north"], ledger["erp_south"]
    assert north.batches > 1 and south.batches > 1
    # the two runs overlapped in time: they ran concurrently, not one after the other
    assert north.started_at < south.finished_at and south.started_at < north.finished_at
    assert not [r for r in ledger.values() if r.error]
