"""A large upsert on PostgreSQL shared between connections of the store: every row once,
and a share that fails fails the batch, whose rows the next run loads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, text, update

from crm_core.pull import load, state
from crm_core.pull.load import Spread
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from tests import shop_kit


def test_shares_are_disjoint_by_key_and_cover_the_batch() -> None:
    frame = pl.DataFrame({"source": ["erp"] * 5_000, "order_id": [str(i) for i in range(5_000)]})
    spread = Spread(engine=None, connections=3)  # type: ignore[arg-type]
    shares = spread.split(frame, ["source", "order_id"])
    keys = [set(share.get_column("order_id")) for share in shares]
    assert len(shares) == 3 and all(len(k) > 1_000 for k in keys)
    assert sum(map(len, keys)) == 5_000 and set().union(*keys) == set(frame["order_id"])
    again = spread.split(frame.reverse(), ["source", "order_id"])  # by key, not by position
    assert [set(s.get_column("order_id")) for s in again] == keys
    small = frame.head(load.SPREAD_MIN_ROWS - 1)
    [alone] = spread.split(small, ["source", "order_id"])  # too small to spread
    assert alone.equals(small)


@pytest.fixture
def shop_on_pg(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch):
    """The shop ERP on SQLite, a PostgreSQL store, batches of 10, every upsert spread."""
    monkeypatch.setattr(load, "SPREAD_MIN_ROWS", 2)
    return shop_kit.world(tmp_path, pg_url, monkeypatch)


def _raise_totals(erp, n: int, by: int) -> None:
    """Orders 1..n cost ``by`` more, changed a day later (in their order)."""
    with erp.begin() as conn:
        for i in range(1, n + 1):
            conn.execute(
                update(shop_kit.orders)
                .where(shop_kit.orders.c.id == i)
                .values(
                    total=Decimal(i) / 4 + by,
                    updated_at=shop_kit.T0 + timedelta(days=1, minutes=i),
                )
            )


def _totals(store) -> dict[str, Decimal]:
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        rows = conn.execute(select(table.c.order_id, table.c.total_amount)).all()
    return dict(rows)


def test_a_spread_upsert_uses_more_connections_and_writes_each_row_once(shop_on_pg) -> None:
    erp, config, store = shop_on_pg
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])  # a first load: plain COPY, nothing to spread
    _raise_totals(erp, 30, by=1)
    shop_kit.add_orders(erp, 5, start=31, t0=shop_kit.T0 + timedelta(days=2))
    [result] = engine.sync_source("shop", ["orders"])
    assert (result.status, result.counts.rows_read, result.counts.rows_loaded) == (
        "success",
        35,
        35,
    )
    with store.connect() as conn:  # each share commits in a transaction of its own
        writers = conn.execute(text("SELECT count(DISTINCT xmin::text) FROM orders")).scalar()
    assert writers > result.counts.batches
    totals = _totals(store)
    assert len(totals) == 35
    assert (totals["4"], totals["30"], totals["33"]) == (2, Decimal("8.5"), Decimal("8.25"))


def test_a_failing_share_fails_the_batch_and_the_next_run_loads_it(shop_on_pg) -> None:
    erp, config, store = shop_on_pg
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    with store.begin() as conn:  # the store refuses one row's new value: a real failure
        conn.execute(
            text(
                "ALTER TABLE orders ADD CONSTRAINT no_13 "
                "CHECK (order_id <> '13' OR total_amount < 100) NOT VALID"
            )
        )
    _raise_totals(erp, 30, by=100)
    [failed] = engine.sync_source("shop", ["orders"])
    assert failed.status == "failed" and "no_13" in failed.error
    assert failed.counts.rows_loaded == 10  # orders 1-10; the batch of 11-20 failed
    with store.connect() as conn:
        assert state.get_position(conn, "shop", "orders")[-1] == 10
    with store.begin() as conn:
        conn.execute(text("ALTER TABLE orders DROP CONSTRAINT no_13"))
    [resumed] = engine.sync_source("shop", ["orders"])
    assert (resumed.status, resumed.counts.rows_read) == ("success", 20)
    totals = _totals(store)
    assert len(totals) == 30 and (totals["13"], totals["30"]) == (
        Decimal("103.25"),
        Decimal("107.5"),
    )
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 30


@pytest.mark.parametrize("rows", [10, 3_000], ids=["alone", "spread"])
def test_a_first_load_that_meets_a_key_again_becomes_an_upsert(pg_url: str, rows: int) -> None:
    """A row changed while a full read runs is read twice (its new position comes later):
    the plain COPY of a first load meets its key, and that batch is redone as an upsert."""
    store = open_store(pg_url)
    spread = Spread(store, 2)
    loader = load.Loader("orders", "erp", run_id=None, append=True, spread=spread)
    try:
        with store.begin() as conn:
            assert loader.load(conn, shop_kit.mapped_orders(range(rows), "1")) == rows
        with store.begin() as conn:  # the second batch holds every key again, changed
            assert (
                loader.load(conn, shop_kit.mapped_orders(range(rows // 2, rows + 5), "2"))
                == rows - rows // 2 + 5
            )
    finally:
        spread.close()
    assert not loader.append  # from now on every batch is an upsert
    table = RECORD_TABLES["orders"]
    with store.connect() as conn:
        totals = dict(
            conn.execute(
                select(table.c.total_amount, func.count()).group_by(table.c.total_amount)
            ).all()
        )
    assert totals == {Decimal(1): rows // 2, Decimal(2): rows - rows // 2 + 5}
