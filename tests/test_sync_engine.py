"""The sync engine's rules: watermarks, ties on the cursor, crashes, upserts, quarantine."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, update

from connectors.sql import SqlConnector
from crm_core.ledger import runs
from crm_core.pull import load, state
from crm_core.pull.sync import SyncEngine
from crm_core.store.tables import RECORD_TABLES, quarantine
from tests import shop_kit


@pytest.fixture(params=["sqlite", "postgres", "postgres-spread"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A small SQLite ERP, and a store on SQLite or on the real PostgreSQL; with
    ``postgres-spread`` every upsert of two rows or more is shared between two connections
    of the store (as a large batch is), so each rule below holds for that path too."""
    if request.param == "postgres-spread":
        monkeypatch.setattr(load, "SPREAD_MIN_ROWS", 2)
    store_url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    return shop_kit.world(tmp_path, store_url, monkeypatch)


def _count(store, entity: str) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(RECORD_TABLES[entity])).scalar_one()


def test_full_then_incremental_reads_only_new_rows(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 35)
    engine = SyncEngine(config, store)
    [first] = engine.sync_source("shop", ["orders"])
    assert (first.mode, first.status, first.counts.rows_read) == ("full", "success", 35)
    assert first.counts.batches == 4  # batch_size 10: memory bounded per batch
    shop_kit.add_orders(erp, 5, start=36)
    [second] = engine.sync_source("shop", ["orders"])
    assert (second.mode, second.counts.rows_read, second.counts.rows_loaded) == (
        "incremental",
        5,
        5,
    )
    assert _count(store, "orders") == 40
    [third] = engine.sync_source("shop", ["orders"])
    assert third.counts.rows_read == 0 and third.status == "success"


def test_ties_on_the_cursor_are_neither_skipped_nor_read_twice(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 25, same_time=True)  # 25 rows, one cursor value, batches of 10
    engine = SyncEngine(config, store)
    [result] = engine.sync_source("shop", ["orders"])
    assert result.counts.rows_read == 25 and result.counts.batches == 3
    shop_kit.add_orders(erp, 3, start=26, same_time=True)  # more rows with the same timestamp
    [again] = engine.sync_source("shop", ["orders"])
    assert again.counts.rows_read == 3
    assert _count(store, "orders") == 28


def _ship_order_3(erp) -> None:
    """The ERP ships order 3 (status S), changed later than every other row."""
    with erp.begin() as conn:
        conn.execute(
            update(shop_kit.orders)
            .where(shop_kit.orders.c.id == 3)
            .values(status="S", updated_at=shop_kit.T0.replace(year=2026))
        )


def _status_of_order_3(store) -> str:
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        return conn.execute(select(table.c.status).where(table.c.order_id == "3")).scalar_one()


def test_updated_rows_are_upserted_not_duplicated(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 10)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    _ship_order_3(erp)
    [result] = engine.sync_source("shop", ["orders"])
    assert result.counts.rows_read == 1
    status = _status_of_order_3(store)
    assert status == "shipped" and _count(store, "orders") == 10


class CrashingConnector(SqlConnector):
    """Dies after yielding ``crash_after`` batches, like a process killed mid-run."""

    crash_after = 2

    def read(self, stream: str, since, batch_size: int) -> Iterator[pl.DataFrame]:
        for i, batch in enumerate(super().read(stream, since, batch_size)):
            if i == self.crash_after:
                raise ConnectionResetError("connection lost")
            yield batch


def test_a_crash_between_batches_resumes_without_loss_or_duplicates(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 45)
    engine = SyncEngine(config, store)
    mapping = engine.mapping_for("shop")
    crashing = CrashingConnector("shop", config.source("shop"), config.base_dir)
    result = engine.sync_stream(crashing, mapping, crashing.stream("orders"))
    assert result.status == "failed" and "connection lost" in result.error
    assert result.counts.rows_loaded == 20  # two whole batches were committed
    with store.connect() as conn:
        assert state.get_position(conn, "shop", "orders")[-1] == 20
    [resumed] = engine.sync_source("shop", ["orders"])
    assert resumed.mode == "incremental" and resumed.counts.rows_read == 25
    assert _count(store, "orders") == 45
    ledger = runs.list_runs(store, source="shop")
    assert [r["status"] for r in ledger] == ["success", "failed"]


def test_a_killed_run_is_marked_interrupted_by_the_next(setup) -> None:
    _erp, config, store = setup
    run_id = runs.start_run(store, "shop", "orders", "orders", "full")  # never finished
    SyncEngine(config, store).sync_source("shop", ["orders"])
    [old] = [r for r in runs.list_runs(store) if r["id"] == run_id]
    assert old["status"] == "failed" and "interrupted" in old["error"]


def test_bad_rows_are_quarantined_with_reasons_and_the_rest_load(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 20)
    with erp.begin() as conn:
        conn.execute(update(shop_kit.orders).where(shop_kit.orders.c.id == 4).values(status="?"))
        conn.execute(
            update(shop_kit.orders).where(shop_kit.orders.c.id == 9).values(ordered_on="2025-02-30")
        )
    [result] = SyncEngine(config, store).sync_source("shop", ["orders"])
    assert result.status == "success"
    assert (result.counts.rows_loaded, result.counts.rows_quarantined) == (18, 2)
    with store.connect() as conn:
        rows = {r.record_key: r for r in conn.execute(select(quarantine))}
    assert set(rows) == {"4", "9"}
    assert "status (from status): value '?' is not a code of table 'status'" in rows["4"].reason
    assert "order_date" in rows["9"].reason and "2025-02-30" in rows["9"].reason
    assert rows["9"].raw["ordered_on"] == "2025-02-30" and rows["9"].raw["id"] == 9


def test_a_batch_of_mostly_bad_rows_fails_the_run_and_loads_nothing(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 30)
    with erp.begin() as conn:
        conn.execute(update(shop_kit.orders).values(status="?"))
    [result] = SyncEngine(config, store).sync_source("shop", ["orders"])
    assert result.status == "failed" and "threshold" in result.error
    assert "the stream stopped before loading this batch" in result.error
    assert _count(store, "orders") == 0
    assert result.counts.rows_read < 30  # it stopped early, not at the end


def test_a_stream_stopped_by_the_threshold_counts_the_rows_it_read(setup) -> None:
    """The batch that tips the threshold was read (and judged), just not loaded: the run
    says so rather than 'read 10' for the batch before it (or 'read 0' on a first batch)."""
    erp, config, store = setup
    shop_kit.add_orders(erp, 30)
    with erp.begin() as conn:
        conn.execute(update(shop_kit.orders).values(status="?"))
    [result] = SyncEngine(config, store).sync_source("shop", ["orders"])
    assert "20 of 20 rows failed" in result.error
    assert (result.counts.rows_read, result.counts.rows_loaded) == (20, 0)
    assert result.counts.rows_quarantined == 10  # the first batch; the stopped one is not kept
    [run] = runs.list_runs(store, "shop", "orders")
    assert (run["rows_read"], run["status"]) == (20, "failed")


def test_full_refresh_rereads_everything_and_changes_nothing(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 12)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        before = conn.execute(select(table).order_by(table.c.order_id)).all()
    [again] = engine.sync_source("shop", ["orders"], full_refresh=True)
    assert again.mode == "full" and again.counts.rows_read == 12
    with store.connect() as conn:
        after = conn.execute(select(table).order_by(table.c.order_id)).all()
    assert before == after  # unchanged rows are not rewritten (same run id and load time)


def test_schema_drift_fails_the_stream_with_a_clear_message(setup, tmp_path: Path) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 3)
    with erp.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE shop_orders RENAME COLUMN status TO order_status")
    [result] = SyncEngine(config, store).sync_source("shop", ["orders"])
    assert result.status == "failed"
    assert "schema drift" in result.error and "status" in result.error


def test_an_edited_mapping_applies_from_the_next_run_of_the_same_process(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 4)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    assert engine.mapping_for("shop") is engine.mapping_for("shop")  # parsed once per process
    path = config.source("shop").mapping
    path.write_text(
        path.read_text(encoding="utf-8").replace("S: shipped", "S: confirmed"), encoding="utf-8"
    )
    _ship_order_3(erp)
    [result] = engine.sync_source("shop", ["orders"])
    assert result.counts.rows_read == 1
    status = _status_of_order_3(store)
    assert status == "confirmed"  # not "shipped", as the first version said


def test_a_run_keeps_the_collector_off_start_up_objects_but_collects_its_own(setup) -> None:
    erp, config, store = setup
    shop_kit.add_orders(erp, 3)
    SyncEngine(config, store).sync_source("shop", ["orders"])
    frozen = gc.get_freeze_count()
    assert frozen > 0  # start-up's objects: a full collection no longer walks them
    SyncEngine(config, store).sync_source("shop", ["orders"])
    assert gc.get_freeze_count() == frozen  # once per process

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None  # what a run makes later is collected as usual
