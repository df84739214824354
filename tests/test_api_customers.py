"""The customer-360 API on a synced demo store: search, the golden record, orders,
inventory, insights, credit and receivables, each checked against the store itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import opencc
import pytest
from fastapi.testclient import TestClient
from pypinyin import lazy_pinyin
from sqlalchemy import Engine, and_, select, update

from crm_core.access.api_keys import create_key
from crm_core.api import create_app
from crm_core.store.tables import RECORD_TABLES, golden_customers, source_links
from tests.api_kit import AS_OF, MERGED_ID, demo_copy

ORDERS, LINES = RECORD_TABLES["orders"], RECORD_TABLES["order_lines"]


@dataclass
class Api:
    client: TestClient
    store: Engine
    key: str

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {self.key}"}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items, page = [], self.get(path, limit=200, **params)
        while True:
            items += page["items"]
            if not page["next"]:
                return items
            response = self.client.get(
                page["next"], headers={"Authorization": f"Bearer {self.key}"}
            )
            page = response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.getbasetemp()
    config, store = demo_copy(Path(root), tmp_path_factory.mktemp("api_customers") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    _info, key = create_key(store, "admin", "tests")
    with TestClient(app) as client:
        yield Api(client, store, key)
    store.dispose()


def _goldens(store: Engine) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(golden_customers)
                .where(golden_customers.c.merged_into.is_(None))
                .order_by(golden_customers.c.golden_id)
            )
        ]


def _keys(store: Engine, golden_id: str) -> list[tuple[str, str]]:
    with store.connect() as conn:
        return [
            (r.source, r.source_key)
            for r in conn.execute(select(source_links).where(source_links.c.golden_id == golden_id))
        ]


def _linked_rows(store: Engine, entity: str, golden_id: str) -> list[dict[str, Any]]:
    table = RECORD_TABLES[entity]
    stmt = (
        select(table)
        .join(
            source_links,
            and_(
                source_links.c.source == table.c.source,
                source_links.c.source_key == table.c.customer_id,
            ),
        )
        .where(source_links.c.golden_id == golden_id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def _busiest(store: Engine) -> str:
    """The golden customer with the most orders."""
    counts = {
        g["golden_id"]: len(_linked_rows(store, "orders", g["golden_id"])) for g in _goldens(store)
    }
    return max(counts, key=lambda g: (counts[g], g))


def _chinese_company(store: Engine) -> dict[str, Any]:
    return next(
        g
        for g in _goldens(store)
        if g["kind"] == "company" and "\u4e00" <= g["name"][0] <= "\u9fff" and len(g["name"]) >= 8
    )


def _found(api: Api, q: str) -> list[str]:
    return [c["id"] for c in api.all_pages("/customers", q=q)]


def test_search_finds_a_chinese_name_by_characters_traditional_and_pinyin(api: Api) -> None:
    golden = _chinese_company(api.store)
    trade = golden["name"][2:4]  # after the city: 上海联创... -> 联创
    traditional = opencc.OpenCC("s2t").convert(trade)
    syllables = lazy_pinyin(trade)
    initials = "".join(s[0] for s in lazy_pinyin(golden["name"]))
    for q in (
        trade,
        traditional,
        "".join(syllables),
        " ".join(s.capitalize() for s in syllables),
        initials,
        golden["name"],
    ):
        assert golden["golden_id"] in _found(api, q), q
    exact = _found(api, golden["name"])
    assert exact[0] == golden["golden_id"]


def test_search_by_phone_email_tax_id_and_source_key(api: Api) -> None:
    golden = next(g for g in _goldens(api.store) if g["tax_id"] and g["phone"] and g["email"])
    digits = "".join(c for c in golden["phone"] if c.isdigit())
    spaced = f"{digits[-8:-4]} {digits[-4:]}"
    source, key = _keys(api.store, golden["golden_id"])[0]
    for q in (spaced, golden["email"].upper(), golden["tax_id"].lower(), key, f"{source}:{key}"):
        assert golden["golden_id"] in _found(api, q), q
    assert _found(api, golden["tax_id"]) == [golden["golden_id"]]
    assert _found(api, "zzqqxx-no-such-customer") == []


def test_search_pages_through_every_customer_once(api: Api) -> None:
    goldens = {g["golden_id"] for g in _goldens(api.store)}
    first = api.get("/customers", limit=7)
    assert first["total"] == len(goldens) and len(first["items"]) == 7
    assert first["next"] == "/customers?offset=7&limit=7"
    seen: list[str] = []
    page = first
    while True:
        seen += [c["id"] for c in page["items"]]
        if page["next"] is None:
            break
        page = api.client.get(page["next"], headers={"Authorization": f"Bearer {api.key}"}).json()
    assert len(seen) == len(set(seen)) and set(seen) == goldens
    assert MERGED_ID not in seen
    assert api.get("/customers", q="a", limit=1)["items"][0]["id"]


def test_customer_has_its_source_records_and_lineage(api: Api) -> None:
    golden_id = next(
        g["golden_id"] for g in _goldens(api.store) if len(_keys(api.store, g["golden_id"])) > 1
    )
    body = api.get(f"/customers/{golden_id}")
    assert body["id"] == golden_id and body["requested_id"] is None
    assert sorted((s["source"], s["key"]) for s in body["sources"]) == sorted(
        _keys(api.store, golden_id)
    )
    assert all(s["name"] and s["rule"] == "tax_id_or_email" for s in body["sources"])
    lineage = {entry["field"]: entry for entry in body["lineage"]}
    assert lineage["name"]["value"] == body["name"]
    assert lineage["name"]["source"]["key"] == min(k for _s, k in _keys(api.store, golden_id))


def test_a_merged_id_leads_to_the_customer_it_was_merged_into(api: Api) -> None:
    body = api.get(f"/customers/{MERGED_ID}")
    assert body["id"] == "G00000001" and body["requested_id"] == MERGED_ID
    orders = api.get(f"/customers/{MERGED_ID}/orders")
    assert orders["total"] == len(_linked_rows(api.store, "orders", "G00000001"))


def test_orders_are_the_customers_orders_with_their_lines(api: Api) -> None:
    golden_id = _busiest(api.store)
    expected = {
        (o["source"], o["order_id"]): o for o in _linked_rows(api.store, "orders", golden_id)
    }
    got = api.all_pages(f"/customers/{golden_id}/orders")
    assert {(o["source"], o["order_id"]) for o in got} == set(expected)
    dates = [o["order_date"] for o in got]
    assert dates == sorted(dates, reverse=True)
    with api.store.connect() as conn:
        for order in got:
            stored = expected[(order["source"], order["order_id"])]
            assert order["status"] == stored["status"]
            assert Decimal(order["total_amount"]) == stored["total_amount"]
            lines = conn.execute(
                select(LINES).where(
                    LINES.c.source == order["source"], LINES.c.order_id == order["order_id"]
                )
            ).all()
            assert [ln["line_no"] for ln in order["lines"]] == sorted(r.line_no for r in lines)
            assert sum(Decimal(ln["amount"]) for ln in order["lines"]) == sum(
                (r.amount for r in lines), Decimal(0)
            )


def test_orders_filter_by_status_and_dates(api: Api) -> None:
    golden_id = _busiest(api.store)
    stored = _linked_rows(api.store, "orders", golden_id)
    invoiced = api.all_pages(f"/customers/{golden_id}/orders", status="invoiced")
    assert len(invoiced) == sum(o["status"] == "invoiced" for o in stored)
    since = AS_OF - timedelta(days=365)
    recent = api.all_pages(f"/customers/{golden_id}/orders", since=since.isoformat())
    assert len(recent) == sum(o["order_date"] >= since for o in stored)


def test_inventory_shows_stock_of_the_items_the_customer_bought(api: Api) -> None:
    golden_id = _busiest(api.store)
    body = api.all_pages(f"/customers/{golden_id}/inventory", as_of=AS_OF.isoformat())
    live = {
        (o["source"], o["order_id"])
        for o in _linked_rows(api.store, "orders", golden_id)
        if o["status"] != "cancelled"
    }
    with api.store.connect() as conn:
        bought = {
            (r.source, r.item_id)
            for r in conn.execute(select(LINES.c.source, LINES.c.order_id, LINES.c.item_id))
            if (r.source, r.order_id) in live
        }
    assert {(i["source"], i["item_id"]) for i in body} == bought
    stocked = [i for i in body if i["warehouses"]]
    assert stocked
    for item in stocked:
        for wh in item["warehouses"]:
            assert Decimal(wh["available"]) == Decimal(wh["on_hand"]) - Decimal(wh["allocated"])
        assert Decimal(item["available_total"]) == sum(
            (Decimal(w["available"]) for w in item["warehouses"]), Decimal(0)
        )


def test_insights_add_up_to_the_orders(api: Api) -> None:
    golden_id = _busiest(api.store)
    body = api.get(f"/customers/{golden_id}/insights", as_of=AS_OF.isoformat())
    live = [o for o in _linked_rows(api.store, "orders", golden_id) if o["status"] != "cancelled"]
    year_ago = AS_OF - timedelta(days=365)
    for revenue in body["revenue"]:
        mine = [o for o in live if o["currency"] == revenue["currency"]]
        assert Decimal(revenue["lifetime"]) == sum((o["total_amount"] for o in mine), Decimal(0))
        assert Decimal(revenue["last_12_months"]) == sum(
            (o["total_amount"] for o in mine if o["order_date"] > year_ago), Decimal(0)
        )
        assert revenue["orders_lifetime"] == len(mine)
    last = max(o["order_date"] for o in live)
    assert body["last_order_date"] == last.isoformat()
    assert body["days_since_last_order"] == (AS_OF - last).days
    assert body["tier"] in "ABCD" and all(
        1 <= body["rfm"][k] <= 5 for k in ("recency", "frequency", "monetary")
    )
    churn = body["churn"]
    assert churn["flag"] == (body["days_since_last_order"] > churn["threshold_days"])
    assert {h["year"] for h in body["purchase_history"]} <= {o["order_date"].year for o in live}
    assert all(h["product_line"] for h in body["purchase_history"])


def test_lapsed_products_were_bought_last_year_and_not_this_year(api: Api) -> None:
    this_start = AS_OF - timedelta(days=365)
    last_start = this_start - timedelta(days=365)
    with api.store.connect() as conn:
        lines = conn.execute(select(LINES.c.source, LINES.c.order_id, LINES.c.item_id)).all()
    found = 0
    for golden in _goldens(api.store)[:25]:
        body = api.get(f"/customers/{golden['golden_id']}/insights", as_of=AS_OF.isoformat())
        live = {
            (o["source"], o["order_id"]): o["order_date"]
            for o in _linked_rows(api.store, "orders", golden["golden_id"])
            if o["status"] != "cancelled"
        }
        bought = [
            (r.source, r.item_id, live[(r.source, r.order_id)])
            for r in lines
            if (r.source, r.order_id) in live
        ]
        now = {(s, i) for s, i, d in bought if this_start < d <= AS_OF}
        before = {(s, i) for s, i, d in bought if last_start < d <= this_start}
        lapsed = {(p["source"], p["item_id"]) for p in body["lapsed_products"]}
        assert lapsed == before - now
        found += len(lapsed)
    assert found > 0


def test_value_tiers_and_monetary_scores_rank_customers_by_revenue(api: Api) -> None:
    year_ago = AS_OF - timedelta(days=365)
    revenue: dict[str, dict[str, Decimal]] = {}
    for golden in _goldens(api.store):
        for o in _linked_rows(api.store, "orders", golden["golden_id"]):
            if o["status"] != "cancelled" and year_ago < o["order_date"] <= AS_OF:
                per = revenue.setdefault(o["currency"], {})
                per[golden["golden_id"]] = (
                    per.get(golden["golden_id"], Decimal(0)) + o["total_amount"]
                )
    checked = 0
    for currency, per in revenue.items():
        if len(per) < 5:
            continue
        top, bottom = max(per, key=per.__getitem__), min(per, key=per.__getitem__)
        for golden_id, tier, score in ((top, "A", 5), (bottom, "C", 1)):
            body = api.get(f"/customers/{golden_id}/insights", as_of=AS_OF.isoformat())
            if body["currency"] == currency:
                assert (body["tier"], body["rfm"]["monetary"]) == (tier, score), golden_id
                checked += 1
    assert checked >= 2
    quiet = next(
        g["golden_id"]
        for g in _goldens(api.store)
        if all(g["golden_id"] not in per for per in revenue.values())
    )
    body = api.get(f"/customers/{quiet}/insights", as_of=AS_OF.isoformat())
    assert body["tier"] == "D" and body["rfm"]["monetary"] == 1


def test_credit_is_what_finance_keeps(api: Api) -> None:
    for golden in _goldens(api.store)[:30]:
        body = api.get(f"/customers/{golden['golden_id']}/credit")
        stored = {
            r["customer_id"]: r for r in _linked_rows(api.store, "credit", golden["golden_id"])
        }
        assert {p["customer_key"] for p in body["profiles"]} == set(stored)
        for profile in body["profiles"]:
            row = stored[profile["customer_key"]]
            assert Decimal(profile["credit_limit"]) == row["credit_limit"]
            assert profile["on_hold"] == bool(row["on_hold"])
            assert Decimal(profile["available"]) == row["credit_limit"] - row["exposure"]
            if row["on_hold"]:
                assert profile["status"] == "on_hold" and body["status"] == "on_hold"


def test_credit_near_its_limit_is_flagged(api: Api) -> None:
    golden = _goldens(api.store)[-1]
    credit = RECORD_TABLES["credit"]
    _source, key = _keys(api.store, golden["golden_id"])[0]
    with api.store.begin() as conn:
        before = conn.execute(select(credit).where(credit.c.customer_id == key)).one()
        conn.execute(
            update(credit)
            .where(credit.c.customer_id == key)
            .values(exposure=before.credit_limit * Decimal("0.95"), on_hold=False)
        )
    try:
        body = api.get(f"/customers/{golden['golden_id']}/credit")
        assert body["status"] == "near_limit"
        assert Decimal(body["profiles"][0]["utilisation"]) == Decimal("0.9500")
    finally:
        with api.store.begin() as conn:
            conn.execute(
                update(credit)
                .where(credit.c.customer_id == key)
                .values(exposure=before.exposure, on_hold=before.on_hold)
            )


def test_receivables_are_the_open_invoices_in_overdue_buckets(api: Api) -> None:
    checked = 0
    for golden in _goldens(api.store):
        invoices = [
            i
            for i in _linked_rows(api.store, "invoices", golden["golden_id"])
            if i["status"] == "open" and i["open_amount"]
        ]
        if not invoices:
            continue
        body = api.get(f"/customers/{golden['golden_id']}/receivables", as_of=AS_OF.isoformat())
        assert body["open_items_total"] == len(invoices)
        for balance in body["balances"]:
            mine = [i for i in invoices if i["currency"] == balance["currency"]]
            assert Decimal(balance["balance"]) == sum((i["open_amount"] for i in mine), Decimal(0))
            assert Decimal(balance["balance"]) == sum(
                (Decimal(v) for v in balance["buckets"].values()), Decimal(0)
            )
            overdue = [i for i in mine if (i["due_date"] or i["invoice_date"]) < AS_OF]
            assert Decimal(balance["overdue"]) == sum(
                (i["open_amount"] for i in overdue), Decimal(0)
            )
        for item in body["open_items"]:
            days = item["days_past_due"]
            bucket = (
                "current"
                if days <= 0
                else "days_0_30"
                if days <= 30
                else "days_31_60"
                if days <= 60
                else "days_61_90"
                if days <= 90
                else "days_over_90"
            )
            assert item["bucket"] == bucket
        payments = _linked_rows(api.store, "payments", golden["golden_id"])
        if payments:
            assert (
                body["last_payment"]["payment_date"]
                == max(p["payment_date"] for p in payments).isoformat()
            )
        checked += 1
        if checked == 15:
            break
    assert checked >= 5


def test_unknown_customer_is_404_problem(api: Api) -> None:
    response = api.client.get(
        "/customers/G77777777/orders", headers={"Authorization": f"Bearer {api.key}"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "no customer G77777777"
