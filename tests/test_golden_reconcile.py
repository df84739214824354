"""Reconcile runs on a real store: golden ids stable across runs and incremental batches,
merges keep the older id, lineage names the record and run; customer 360 totals across
systems. Deterministic rules only here (fast); the model runs in the end-to-end test."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, and_, func, select

from crm_core.golden import customer_360, reconcile
from crm_core.ledger.runs import list_runs
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, golden_lineage, golden_match_features
from schemas.reconcile import ReconcileConfig
from tests.golden_kit import T0, customer, golden, golden_ids, load

RULES_ONLY = ReconcileConfig(probabilistic=False)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Engine:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = open_store(url)
    yield engine
    engine.dispose()


def seed(store: Engine) -> None:
    load(
        store,
        "erp",
        "customers",
        [
            customer("C1", "Acme Trading Ltd", tax_id="91310000MA1FL0001X", country="CN"),
            customer("C2", "ACME Trading", tax_id="91310000MA1FL0001X", email="ar@acme.cn"),
            customer("C3", "Beta GmbH", email="info@beta.de", country="DE"),
        ],
    )
    load(
        store,
        "finance",
        "customers",
        [
            customer(
                "F1",
                "Acme Trading Ltd",
                tax_id="91310000MA1FL0001X",
                email="ap@acme.cn",
                updated_at=T0 + timedelta(days=1),
            ),
            customer("F2", "Gamma Oy", phone="+358 9 123 4567", country="FI"),
        ],
    )


def test_golden_ids_stay_across_runs_and_incremental_batches(store: Engine) -> None:
    seed(store)
    first = reconcile(store, RULES_ONLY)
    assert (first["mode"], first["matching"], first["records_matched"]) == ("full", "rules", 5)
    assert (first["golden_created"], first["golden_total"]) == (3, 3)
    ids = golden_ids(store)
    acme, beta, gamma = ids[("erp", "C1")], ids[("erp", "C3")], ids[("finance", "F2")]
    assert ids[("erp", "C2")] == ids[("finance", "F1")] == acme
    assert len({acme, beta, gamma}) == 3

    again = reconcile(store, RULES_ONLY)
    assert (again["mode"], again["records_matched"], again["golden_updated"]) == (
        "unchanged",
        0,
        0,
    )
    assert golden_ids(store) == ids
    # --full matches everything again: the ids stay all the same
    full = reconcile(store, RULES_ONLY, full=True)
    assert full["mode"] == "full" and full["golden_created"] == full["golden_updated"] == 0
    assert golden_ids(store) == ids

    # a batch: a new record of a known customer, and a new customer
    run = load(
        store,
        "crm",
        "customers",
        [customer("K1", "Beta", email="INFO@beta.de"), customer("K2", "Delta AB")],
    )
    batch = reconcile(store, RULES_ONLY)
    assert (batch["mode"], batch["records_matched"], batch["golden_created"]) == (
        "incremental",
        2,
        1,
    )
    later = golden_ids(store)
    assert {k: later[k] for k in ids} == ids
    assert later[("crm", "K1")] == beta and later[("crm", "K2")] not in ids.values()

    # a changed record: its golden record follows, lineage names the new run
    changed = load(
        store,
        "erp",
        "customers",
        [customer("C3", "Beta GmbH", email="sales@beta.de", updated_at=T0 + timedelta(days=9))],
    )
    reconcile(store, RULES_ONLY)
    assert golden(store, beta)["email"] == "sales@beta.de"
    with store.connect() as conn:
        email = conn.execute(
            select(golden_lineage).where(
                golden_lineage.c.golden_id == beta, golden_lineage.c.field == "email"
            )
        ).one()
    assert (email.source, email.stream, email.source_key, email.run_id) == (
        "erp",
        "customers",
        "C3",
        changed,
    )
    assert email.rule == "never_empty_over_value" and run != changed

    # a record that bridges two golden customers: the older id stays, the other is merged
    load(
        store,
        "crm",
        "customers",
        [customer("K3", "Acme", tax_id="91310000MA1FL0001X", phone="+358 9 123 4567")],
    )
    bridged = reconcile(store, RULES_ONLY)
    assert bridged["golden_merged"] == 1
    final = golden_ids(store)
    assert final[("finance", "F2")] == final[("crm", "K3")] == acme == min(acme, gamma)
    assert golden(store, gamma)["merged_into"] == acme
    # every record's match features are kept, for the version of the record they describe
    customers = RECORD_TABLES["customers"]
    with store.connect() as conn:
        kept = conn.execute(
            select(func.count())
            .select_from(golden_match_features)
            .join(
                customers,
                and_(
                    customers.c.source == golden_match_features.c.source,
                    customers.c.customer_id == golden_match_features.c.customer_id,
                    customers.c.loaded_at == golden_match_features.c.record_loaded_at,
                ),
            )
        ).scalar_one()
    assert kept == len(final) == 8
    ledger = list_runs(store, source="_hub")
    assert [r["mode"] for r in ledger] == ["reconcile"] * 6
    assert {r["status"] for r in ledger} == {"success"}
    assert ledger[0]["checks"]["reconcile"]["golden_merged"] == 1


def test_customer_360_adds_up_every_systems_orders_credit_and_invoices(store: Engine) -> None:
    seed(store)
    reconcile(store, RULES_ONLY)
    acme = golden_ids(store)[("erp", "C1")]
    d = date(2026, 2, 1)

    def order(
        key: str, customer_id: str, amount: str, currency: str = "CNY", status: str = "shipped"
    ) -> dict[str, object]:
        return {
            "order_id": key,
            "customer_id": customer_id,
            "order_date": d,
            "status": status,
            "currency": currency,
            "total_amount": Decimal(amount),
        }

    load(
        store,
        "erp",
        "orders",
        [
            order("1", "C1", "100.10"),
            order("2", "C2", "50.05"),
            order("3", "C1", "999", status="cancelled"),
            order("4", "C3", "7"),
        ],
    )
    load(store, "finance", "orders", [order("1", "F1", "20.00", "USD")])
    load(
        store,
        "finance",
        "invoices",
        [
            {
                "invoice_id": "I1",
                "customer_id": "F1",
                "invoice_date": d,
                "due_date": d,
                "amount": Decimal("150.15"),
                "open_amount": Decimal("100.15"),
                "currency": "CNY",
                "status": "open",
            },
            {
                "invoice_id": "I2",
                "customer_id": "F1",
                "invoice_date": d,
                "due_date": d + timedelta(days=60),
                "amount": Decimal("10"),
                "open_amount": Decimal("10"),
                "currency": "CNY",
                "status": "open",
            },
            {
                "invoice_id": "I3",
                "customer_id": "F1",
                "invoice_date": d,
                "amount": Decimal("5"),
                "open_amount": Decimal("5"),
                "currency": "CNY",
                "status": "void",
            },
        ],
    )
    load(
        store,
        "finance",
        "payments",
        [
            {
                "payment_id": "P1",
                "customer_id": "F1",
                "payment_date": d,
                "amount": Decimal("50.00"),
                "currency": "CNY",
            }
        ],
    )
    load(
        store,
        "erp",
        "credit",
        [
            {
                "customer_id": "C1",
                "credit_limit": Decimal("1000"),
                "exposure": Decimal("150.15"),
                "on_hold": False,
                "currency": "CNY",
            }
        ],
    )
    load(
        store,
        "finance",
        "credit",
        [
            {
                "customer_id": "F1",
                "credit_limit": Decimal("500"),
                "exposure": Decimal("110.15"),
                "on_hold": True,
                "currency": "CNY",
            }
        ],
    )

    view = customer_360(store, acme, as_of=d + timedelta(days=45))
    assert view["golden"]["golden_id"] == acme and view["golden"]["name"]
    assert {(s["source"], s["source_key"]) for s in view["sources"]} == {
        ("erp", "C1"),
        ("erp", "C2"),
        ("finance", "F1"),
    }
    assert {r["field"] for r in view["lineage"]} >= {"name", "tax_id", "email"}
    cny, usd = view["totals"]["CNY"], view["totals"]["USD"]
    assert (cny["orders"], cny["revenue"]) == (2, Decimal("150.15"))  # cancelled left out
    assert (usd["orders"], usd["revenue"]) == (1, Decimal("20.00"))
    assert (cny["invoiced"], cny["open_balance"], cny["paid"]) == (
        Decimal("160.15"),
        Decimal("110.15"),
        Decimal("50.00"),
    )
    assert (cny["credit_limit"], cny["credit_exposure"], cny["on_hold"]) == (
        Decimal("1500"),
        Decimal("260.30"),
        True,
    )
    [receivable] = view["receivables"]
    assert (receivable["balance"], receivable["overdue"], receivable["open_items"]) == (
        Decimal("110.15"),
        Decimal("100.15"),
        2,
    )
    assert receivable["buckets"]["days_31_60"] == Decimal("100.15")
    assert receivable["buckets"]["current"] == Decimal("10")


def test_new_survivorship_rules_rebuild_every_golden_record(store: Engine) -> None:
    seed(store)
    reconcile(store, RULES_ONLY)
    acme = golden_ids(store)[("erp", "C1")]
    assert golden(store, acme)["email"] == "ap@acme.cn"  # the newest (finance's)
    erp_first = ReconcileConfig.model_validate(
        {
            "probabilistic": False,
            "survivorship": {"source_priority": ["erp"], "default": "source_priority"},
        }
    )
    again = reconcile(store, erp_first)
    assert again["mode"] == "unchanged" and again["golden_updated"] >= 1
    assert golden(store, acme)["email"] == "ar@acme.cn"
    assert reconcile(store, erp_first)["golden_updated"] == 0
