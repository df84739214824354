"""Data contracts: every batch is checked before it is loaded; failing rows are quarantined
with the expectation that failed and the offending value; the ledger counts both."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.ledger import runs
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, quarantine
from schemas.contract import load_contract
from schemas.entities import ENTITIES
from schemas.errors import ConfigError
from schemas.settings import load_config
from tests import shop_kit

MODEL_STREAMS = [
    "customers",
    "orders",
    "order_lines",
    "inventory",
    "credit",
    "invoices",
    "payments",
]


@pytest.mark.parametrize("entity", MODEL_STREAMS)
def test_contract_exists_and_loads_for_every_model_stream(entity: str) -> None:
    contract = load_contract(entity)
    assert contract is not None and contract.entity == entity
    nulls = {k["column"] for n, k in contract.expectation_list() if n.endswith("not_be_null")}
    assert set(ENTITIES[entity].key) <= nulls  # the key is never null


def test_contract_file_errors_name_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "orders.yaml").write_text(
        "entity: orders\nversion: 1\nexpectations:\n"
        "  - expect_column_values_to_not_be_null: {column: no_such_field}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_contract("orders", tmp_path)
    text = str(err.value) + " ".join(getattr(err.value, "problems", []) or [])
    assert "orders.yaml:4" in text and "no_such_field" in text


@pytest.fixture()
def shop_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source_url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("SHOP_URL", source_url)
    erp = shop_kit.create(source_url)
    shop_kit.add_customers(
        erp, [(f"C{i}", f"Customer {i}", f"c{i}@example.com", shop_kit.T0) for i in range(7)]
    )
    config = load_config(
        shop_kit.write_files(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", batch=50)
    )
    return erp, config, open_store(config.store_url())


def test_contract_failures_are_quarantined_with_expectation_and_value(shop_setup) -> None:
    erp, config, store = shop_setup
    shop_kit.add_orders(erp, 40)
    with erp.begin() as conn:
        conn.execute(
            shop_kit.orders.update().where(shop_kit.orders.c.id == 3).values(total=Decimal("-9.50"))
        )
        conn.execute(
            shop_kit.orders.update()
            .where(shop_kit.orders.c.id == 4)
            .values(ordered_on="2099-01-01")
        )
        conn.execute(
            shop_kit.orders.update().where(shop_kit.orders.c.id == 5).values(customer_id="C404")
        )
    results = SyncEngine(config, store).sync_source("shop")
    orders = results[1]
    assert orders.status == "success"
    assert (orders.counts.rows_read, orders.counts.rows_loaded, orders.counts.rows_quarantined) == (
        40,
        37,
        3,
    )
    with store.connect() as conn:
        held = {r.record_key: r.reason for r in conn.execute(select(quarantine))}
        loaded = set(conn.execute(select(RECORD_TABLES["orders"].c.order_id)).scalars())
    assert "3" not in loaded and "4" not in loaded and "5" not in loaded and "6" in loaded
    assert "expect_column_values_to_be_between failed on total_amount: value '-9.5" in held["3"]
    assert "order_date: value '2099-01-01'" in held["4"]
    assert "customer_id 'C404' is not a known customers.customer_id" in held["5"]
    [ledger] = runs.list_runs(store, stream="orders")
    assert ledger["checks"]["contract"] == "orders v1"
    assert ledger["checks"]["failed"]["expect_column_values_to_be_between(total_amount)"] == 1
    assert ledger["checks"]["seconds"] >= 0


def test_a_stream_that_mostly_fails_its_contract_stops_and_loads_nothing(shop_setup) -> None:
    erp, config, store = shop_setup
    shop_kit.add_orders(erp, 30)
    with erp.begin() as conn:
        conn.execute(shop_kit.orders.update().values(total=Decimal("-1")))
    orders = SyncEngine(config, store).sync_source("shop")[1]
    assert orders.status == "failed"
    assert "failed the mapping or the contract" in (orders.error or "")
    with store.connect() as conn:
        assert conn.execute(select(RECORD_TABLES["orders"].c.order_id)).first() is None


def test_contracts_can_be_switched_off_and_replaced(shop_setup, tmp_path: Path) -> None:
    erp, config, store = shop_setup
    shop_kit.add_orders(erp, 10)
    with erp.begin() as conn:
        conn.execute(
            shop_kit.orders.update().where(shop_kit.orders.c.id == 3).values(total=Decimal("-9.50"))
        )
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "orders.yaml").write_text(
        "entity: orders\nversion: 7\nexpectations:\n"
        "  - expect_column_values_to_not_be_null: {column: order_id}\n",
        encoding="utf-8",
    )
    custom = config.model_copy(update={"contracts_dir": tmp_path / "contracts"})
    orders = SyncEngine(custom, store).sync_source("shop", ["orders"])[0]
    assert orders.counts.rows_loaded == 10 and orders.counts.checks["contract"] == "orders v7"
    off = config.model_copy(
        update={"defaults": config.defaults.model_copy(update={"contracts": False})}
    )
    again = SyncEngine(off, store).sync_source("shop", ["orders"], full_refresh=True)[0]
    assert again.counts.rows_loaded == 10 and "contract" not in again.counts.checks


def test_dates_in_the_future_beyond_a_day_fail_the_contract() -> None:
    import polars as pl

    from crm_core.pull.contracts import ContractChecker

    contract = load_contract("payments")
    assert contract is not None
    checker = ContractChecker(contract, today=date(2026, 1, 10))
    frame = pl.DataFrame(
        {
            "payment_id": ["1", "2", "3"],
            "customer_id": ["C1"] * 3,
            "invoice_id": [None] * 3,
            "payment_date": [date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)],
            "amount": [Decimal("1.00")] * 3,
            "currency": ["EUR"] * 3,
            "method": [None] * 3,
            "updated_at": [None] * 3,
        },
        schema_overrides={"amount": pl.Decimal(38, 4), "invoice_id": pl.Utf8, "method": pl.Utf8},
    )
    outcome = checker.check(frame)
    assert sorted(outcome.failed_rows) == [2]
