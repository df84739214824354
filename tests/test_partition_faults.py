"""Network partitions between the hub and its databases: a source or a store connection
that goes silent (black hole) or is reset mid-run ends the run, failed with its reason in
the ledger, within the configured timeouts; the rerun loads every row exactly once."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text

from crm_core.ledger import runs
from crm_core.pull.sync import StreamResult, SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from schemas.settings import HubConfig, load_config
from tests import shop_kit
from tests.conftest import PG_ADMIN
from tests.tcp_proxy_kit import TcpProxy

ROWS = 3000
BATCH = 200
TIMEOUT = 3  # seconds: connect and read, source and store
CONFIG = """\
store:
  url_env: STORE_URL
  timeouts: {{connect: {t}, read: {t}}}
defaults:
  batch_size: {batch}
sources:
  shop:
    kind: sql
    url_env: SHOP_URL
    mapping: shop.yaml
    timeouts: {{connect: {t}, read: {source_read}}}
    options: {{columnar: {columnar}}}
    streams:
      orders: {{table: shop_orders, primary_key: [id], cursor: [updated_at]}}
"""


def _config(folder: Path, columnar: bool = False, source_read: int = TIMEOUT) -> HubConfig:
    (folder / "shop.yaml").write_text(shop_kit.MAPPING, encoding="utf-8")
    path = folder / "crm-hub.yaml"
    text = CONFIG.format(
        t=TIMEOUT, source_read=source_read, batch=BATCH, columnar=str(columnar).lower()
    )
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _sync(config: HubConfig, store: Engine, fault_after: int | None = None, fault=None):
    """Sync the orders; run ``fault()`` once ``fault_after`` batches are committed."""

    def progress(result: StreamResult) -> None:
        if fault is not None and result.counts.batches == fault_after and result.error is None:
            fault()

    started = time.monotonic()
    [result] = SyncEngine(config, store).sync_source("shop", ["orders"], progress=progress)
    return result, time.monotonic() - started


def _loaded(store: Engine) -> tuple[int, int]:
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        total = conn.execute(select(func.count()).select_from(table)).scalar_one()
        keys = conn.execute(select(func.count(table.c.order_id.distinct()))).scalar_one()
    return total, keys


def _last_run(store: Engine) -> dict:
    [run] = runs.list_runs(store, "shop", "orders", limit=1)
    return run


@pytest.mark.parametrize("columnar", [False, True], ids=["psycopg", "adbc"])
def test_partition_source_black_hole_fails_in_time_and_rerun_loads_once(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, columnar: bool
) -> None:
    erp = shop_kit.create(pg_url)
    shop_kit.add_orders(erp, ROWS)
    erp.dispose()
    monkeypatch.setenv("STORE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    with TcpProxy("127.0.0.1", 5432) as proxy:
        monkeypatch.setenv("SHOP_URL", proxy.url_for(pg_url))
        config = _config(tmp_path, columnar=columnar)
        store = open_store(config.store_url(), config.store.timeouts)
        # a whole read may already sit in the socket buffers: black-hole before the first
        # batch for the columnar read, after two batches for the cursor's round trips
        if columnar:
            proxy.blackhole()
        result, seconds = _sync(config, store, fault_after=2, fault=proxy.blackhole)
        assert result.status == runs.FAILED and result.retriable
        # the read timeout, or (the columnar read's connection opened in the black hole)
        # the connect timeout
        assert re.search(r"timeouts\.read|timeout expired", result.error or "")
        assert seconds < 4 * TIMEOUT  # not for ever: the timeout, then the cleanup
        run = _last_run(store)
        assert run["status"] == runs.FAILED and run["error"] == result.error

        proxy.heal()
        again, _ = _sync(config, store)
    assert again.status == runs.SUCCESS, again.error
    assert _loaded(store) == (ROWS, ROWS)


def test_partition_source_reset_is_a_retriable_recorded_failure(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp = shop_kit.create(pg_url)
    shop_kit.add_orders(erp, ROWS)
    erp.dispose()
    monkeypatch.setenv("STORE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    with TcpProxy("127.0.0.1", 5432) as proxy:
        monkeypatch.setenv("SHOP_URL", proxy.url_for(pg_url))
        config = _config(tmp_path)  # the cursor's round trips: a columnar read is in already
        store = open_store(config.store_url(), config.store.timeouts)
        result, _ = _sync(config, store, fault_after=1, fault=proxy.reset)
        assert result.status == runs.FAILED and result.retriable, result.error
        run = _last_run(store)
        assert run["status"] == runs.FAILED and "source 'shop'" in run["error"]
        again, _ = _sync(config, store)
    assert again.status == runs.SUCCESS, again.error
    assert _loaded(store) == (ROWS, ROWS)


@pytest.fixture
def pg_store_url() -> object:
    """A second scratch PostgreSQL database, for the store."""
    from tests.conftest import _scratch_database

    yield from _scratch_database(PG_ADMIN, "crmhub_store")


@pytest.mark.parametrize("fault", ["black_hole", "reset"])
def test_partition_store_fault_mid_run_is_recorded_and_rerun_loads_once(
    tmp_path: Path, pg_store_url: str, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    source_url = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(source_url)
    shop_kit.add_orders(erp, ROWS)
    monkeypatch.setenv("SHOP_URL", source_url)
    with TcpProxy("127.0.0.1", 5432) as proxy:
        monkeypatch.setenv("STORE_URL", proxy.url_for(pg_store_url))
        # the source waits longer than the store: on a busy machine the reader, blocked
        # behind the stalled load, must not time out first and take the blame
        config = _config(tmp_path, source_read=3 * TIMEOUT)
        store = open_store(config.store_url(), config.store.timeouts)
        # the fault hits inside the third batch's transaction, at its first statement: a
        # silent drop of the flows open then (new ones get through, so the failure can be
        # recorded), or a reset of them
        act = (lambda: proxy.blackhole(new_too=False)) if fault == "black_hole" else proxy.reset
        armed = threading.Event()

        def strike(*_: object) -> None:
            if armed.is_set():
                armed.clear()
                act()

        event.listen(store, "before_cursor_execute", strike)
        result, seconds = _sync(config, store, fault_after=2, fault=armed.set)
        event.remove(store, "before_cursor_execute", strike)
        assert result.status == runs.FAILED and result.retriable, result.error
        assert seconds < 4 * TIMEOUT
        run = _last_run(store)
        assert run["status"] == runs.FAILED and run["error"] == result.error
        assert run["error"].startswith("store: ")
        if fault == "black_hole":
            assert "store.timeouts.read" in run["error"]
        # the partition ends with the stalled connections dropped: the failed run's session
        # on the server goes, and with it its lease on the stream
        proxy.reset()
        _wait_for_no_advisory_lock(pg_store_url)
        again, _ = _sync(config, store)
    assert again.status == runs.SUCCESS, again.error
    assert _loaded(store) == (ROWS, ROWS)


def _wait_for_no_advisory_lock(url: str, seconds: float = 10.0) -> None:
    """Wait until the server has ended the dropped sessions (their advisory locks free)."""
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                held = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE l.locktype = 'advisory' AND a.datname = current_database()"
                    )
                ).scalar_one()
            if not held:
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
