"""What readers make of deleted records: the API and the customer 360 hide them unless
asked, a golden customer whose every record is deleted is retired, one that loses one of
several records is re-survived from the others (SQLite and PostgreSQL stores)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import Engine

from crm_core.api import service
from crm_core.golden import customer_360, reconcile
from crm_core.ledger.runs import start_run
from crm_core.pull.deletes import mark_deleted
from crm_core.store.db import open_store
from schemas.reconcile import ReconcileConfig
from tests.golden_kit import T0, customer, golden, golden_ids, load

RULES = ReconcileConfig(probabilistic=False)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Engine:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return open_store(url)


def _order(order_id: str, customer_id: str, total: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "order_date": date(2026, 2, 1),
        "status": "confirmed",
        "currency": "EUR",
        "total_amount": Decimal(total),
        "updated_at": T0,
    }


def _delete(store: Engine, source: str, entity: str, keys: dict[str, list[object]]) -> int:
    """Mark records deleted as a pull that saw them go would."""
    run_id = start_run(store, source, entity, entity, "incremental")
    with store.begin() as conn:
        return mark_deleted(conn, entity, source, pl.DataFrame(keys), run_id)


@pytest.fixture
def world(store: Engine) -> Engine:
    load(
        store,
        "erp_a",
        "customers",
        [
            customer("C1", "Acme Trading Ltd", tax_id="91310000MA1FL0001X"),
            customer("C2", "Beta Works", tax_id="91310000MA1FL0002Y"),
        ],
    )
    load(
        store,
        "erp_b",
        "customers",
        [customer("X1", "Acme Trading Ltd", tax_id="91310000MA1FL0001X", email="a@x.cn")],
    )
    load(store, "erp_a", "orders", [_order("O1", "C1", "10.00"), _order("O2", "C1", "5.00")])
    load(store, "erp_a", "order_lines", [])
    reconcile(store, RULES)
    return store


def test_deleted_orders_are_hidden_unless_include_deleted(world: Engine) -> None:
    acme = golden_ids(world)[("erp_a", "C1")]
    assert _delete(world, "erp_a", "orders", {"order_id": ["O1"]}) == 1
    page = service.orders(world, acme)
    assert [o.order_id for o in page.items] == ["O2"] and page.total == 1
    shown = service.orders(world, acme, include_deleted=True)
    assert {(o.order_id, o.deleted) for o in shown.items} == {("O1", True), ("O2", False)}
    totals = customer_360(world, acme)["totals"]["EUR"]
    assert (totals["orders"], totals["revenue"]) == (1, Decimal("5.00"))


def test_a_golden_customer_whose_every_record_is_deleted_is_retired(world: Engine) -> None:
    beta = golden_ids(world)[("erp_a", "C2")]
    _delete(world, "erp_a", "customers", {"customer_id": ["C2"]})
    reconcile(world, RULES)
    assert golden(world, beta)["retired_at"] is not None
    detail = service.detail(world, beta)
    assert (detail.id, detail.status) == (beta, "retired")
    assert [s.deleted for s in detail.sources] == [True]
    assert beta not in {c.id for c in service.search(world).items}
    assert beta in {c.id for c in service.search(world, include_retired=True).items}
    # the id is never reused: a new customer gets a new one
    load(world, "erp_a", "customers", [customer("C3", "Gamma", tax_id="91310000MA1FL0003Z")])
    reconcile(world, RULES)
    assert golden_ids(world)[("erp_a", "C3")] != beta


def test_a_golden_customer_that_loses_one_record_is_survived_again(world: Engine) -> None:
    acme = golden_ids(world)[("erp_b", "X1")]
    assert golden_ids(world)[("erp_a", "C1")] == acme
    assert golden(world, acme)["email"] == "a@x.cn"  # only erp_b's record had one
    _delete(world, "erp_b", "customers", {"customer_id": ["X1"]})
    reconcile(world, RULES)
    after = golden(world, acme)
    assert after["email"] is None and after["retired_at"] is None
    assert service.detail(world, acme).status == "active"
