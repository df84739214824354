"""Freshness (issue 18): every customer answer of the API and every panel of the customer
page says, per source stream, as of when its data is (the finish of the stream's last
successful run) and whether it is stale (late for its source's schedule by the rule of
``crm-hub status --check``, or never pulled). On SQLite and PostgreSQL stores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, update

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.ledger.freshness import stream_freshness
from crm_core.ledger.health import health
from crm_core.store.tables import runs, source_links, stream_state
from schemas.settings import HubConfig
from tests.aftersales_kit import api_over, busiest, world_copy
from tests.api_kit import MERGED_ID, demo_copy, demo_into

SOURCE = "legacy_erp"  # the demo's ERP, on schedule */15 * * * *
NOW = datetime.now(UTC)
FRESH = NOW - timedelta(minutes=2)  # within any schedule of the demo
OLD = NOW - timedelta(hours=3)  # older than its */15 schedule allows


@dataclass
class Site:
    client: TestClient
    store: Engine
    config: HubConfig
    customer: str

    def get(self, path: str, role: Role = Role.ADMIN, status: int = 200) -> Any:
        key = create_key(self.store, role, f"{role.value} fresh")[1]
        answer = self.client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == status, answer.text
        return answer.json()


def _age_the_ledger(store: Engine) -> None:
    """orders pulled two minutes ago, invoices three hours ago, payments never."""
    with store.begin() as conn:
        for stream, when in (("orders", FRESH), ("invoices", OLD)):
            conn.execute(
                update(runs)
                .where(runs.c.source == SOURCE, runs.c.stream == stream)
                .values(started_at=when - timedelta(seconds=5), finished_at=when)
            )
        conn.execute(
            update(runs)
            .where(runs.c.source == SOURCE, runs.c.stream == "payments")
            .values(status="failed", error="ERP unreachable")
        )


def _serve(config: HubConfig, store: Engine) -> Iterator[Site]:
    _age_the_ledger(store)
    with store.connect() as conn:
        customer = conn.execute(select(source_links.c.golden_id).limit(1)).scalar_one()
    app = create_app(config, store=store, search_refresh_seconds=0)
    with TestClient(app, follow_redirects=False) as client:
        yield Site(client, store, config, customer)
    store.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The demo store (SQLite, or synced into PostgreSQL) with its ledger aged."""
    if request.param == "sqlite":
        yield from _serve(*demo_copy(Path(tmp_path.parent), tmp_path / "demo"))
    else:
        yield from _serve(*demo_into(tmp_path / "pg", request.getfixturevalue("pg_url")))


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """The demo store on SQLite with its ledger aged."""
    yield from _serve(*demo_copy(Path(tmp_path.parent), tmp_path / "demo"))


def _by_stream(freshness: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert all(f["source"] == SOURCE for f in freshness), freshness
    return {f["stream"]: f for f in freshness}


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_freshness_of_a_customer_says_per_stream_as_of_when_and_stale(site: Site) -> None:
    answer = site.get(f"/customers/{site.customer}")
    streams = _by_stream(answer["freshness"])
    assert set(streams) == set(site.config.sources[SOURCE].streams)
    orders, invoices, payments = streams["orders"], streams["invoices"], streams["payments"]
    assert _when(orders["as_of"]) == FRESH and orders["stale"] is False
    assert _when(invoices["as_of"]) == OLD and invoices["stale"] is True
    assert payments["as_of"] is None and payments["stale"] is True  # never succeeded
    assert orders["entity"] == "orders" and orders["schedule"] == "*/15 * * * *"
    # the summary condenses the same list per part
    summary = answer["summary"]["freshness"]
    assert _when(summary["orders"]) == FRESH and _when(summary["receivables"]) == OLD
    assert "receivables" in summary["stale"] and "orders" not in summary["stale"]


def test_freshness_in_every_customer_answer_names_the_streams_it_uses(site: Site) -> None:
    base = f"/customers/{site.customer}"
    wanted = {
        "orders": {"orders", "order_lines"},
        "inventory": {"inventory", "orders", "order_lines"},
        "insights": {"orders", "order_lines"},
        "credit": {"credit"},
        "receivables": {"invoices", "payments"},
        "assets": {"assets"},
        "service-requests": set(),  # the demo's config has no service desk
        "campaigns": {"orders", "invoices"},
        "concessions": {"concessions"},
    }
    for part, streams in wanted.items():
        answer = site.get(f"{base}/{part}")
        assert set(_by_stream(answer["freshness"])) == streams, part
    orders = site.get(f"{base}/orders")
    assert "items" in orders and "total" in orders  # the page's keys stay
    assert _by_stream(orders["freshness"])["orders"]["stale"] is False
    receivables = _by_stream(site.get(f"{base}/receivables")["freshness"])
    assert receivables["invoices"]["stale"] is True and receivables["payments"]["as_of"] is None


def test_freshness_stale_is_the_health_checks_late(site: Site) -> None:
    """Not a second rule: a stream is stale exactly when `status --check` calls it late."""
    with site.store.connect() as conn:
        found = stream_freshness(conn, site.config, [SOURCE], {"orders", "invoices", "payments"})
    late = {h.stream: h.late for h in health(site.config, site.store) if h.source == SOURCE}
    assert {f.stream: f.stale for f in found} == {
        s: late[s] for s in ("orders", "invoices", "payments")
    }
    assert [f.stream for f in found if f.stale] == ["invoices", "payments"]


def test_freshness_of_records_naming_another_systems_customer(sqlite_site: Site) -> None:
    """A service desk's tickets name the ERP's customers: its stream feeds every customer
    (here a source the config does not know, found by its stream position: as of its
    last success, no schedule)."""
    site = sqlite_site
    with site.store.begin() as conn:
        conn.execute(
            insert(runs).values(
                source="service_desk",
                stream="tickets",
                entity="service_requests",
                mode="incremental",
                status="success",
                started_at=OLD,
                finished_at=OLD,
            )
        )
        conn.execute(
            insert(stream_state).values(
                source="service_desk", stream="tickets", position=None, updated_at=OLD
            )
        )
    base = f"/customers/{site.customer}"
    tickets = site.get(f"{base}/service-requests")["freshness"]
    assert [(f["source"], f["stream"], f["stale"], f["schedule"]) for f in tickets] == [
        ("service_desk", "tickets", False, None)
    ]
    assert _when(tickets[0]["as_of"]) == OLD
    everything = site.get(base)["freshness"]
    assert ("service_desk", "tickets") in {(f["source"], f["stream"]) for f in everything}
    assert "service_desk" not in {f["source"] for f in site.get(f"{base}/orders")["freshness"]}


def test_freshness_of_a_merged_id_and_an_unknown_customer(sqlite_site: Site) -> None:
    site = sqlite_site
    standing = site.get(f"/customers/{MERGED_ID}")
    assert standing["requested_id"] == MERGED_ID
    assert standing["freshness"] == site.get(f"/customers/{standing['id']}")["freshness"]
    site.get("/customers/G07777777", status=404)
    assert site.get("/customers/G07777777/concessions")["freshness"] == []


def _panel(page: str, name: str) -> str:
    found = re.search(rf'<(details|section) class="[^"]*" id="{name}".*?</\1>', page, re.S)
    assert found, name
    return found.group(0)


def test_freshness_on_the_customer_page_marks_stale_panels(sqlite_site: Site) -> None:
    site = sqlite_site
    key = create_key(site.store, Role.FINANCE, "finance fresh")[1]
    assert site.client.post("/ui/login", data={"key": key}).status_code == 303
    for lang, stale, never, as_of in (
        ("en", "Stale", "never pulled", "as of"),
        ("zh-CN", "数据过期", "尚未同步", "数据截至"),
    ):
        page = site.client.get(f"/ui/customers/{site.customer}", params={"lang": lang}).text
        receivables = _panel(page, "receivables")
        assert 'class="card section stale"' in receivables and stale in receivables
        assert 'id="fresh-receivables" data-stale="true"' in receivables
        assert never in receivables  # payments: no successful run yet
        orders = _panel(page, "orders")
        assert 'class="card section"' in orders and stale not in orders
        assert 'id="fresh-orders" data-stale="false"' in orders and as_of in orders
        assert 'data-source="legacy_erp"' in orders
        # the summary's overdue line (invoices) is stale, its open orders are not
        overdue = re.search(r'<dd id="summary-overdue".*?</dd>', page, re.S)
        assert overdue and 'data-stale="true"' in overdue.group(0)
        open_orders = re.search(r'<dd id="summary-orders".*?</dd>', page, re.S)
        assert open_orders and 'data-stale="false"' in open_orders.group(0)


def test_freshness_of_the_service_desk_and_marketing_feeds_every_customer(
    tmp_path: Path,
) -> None:
    """Configured systems whose records name the ERP's customers: their streams are in
    the customer's answers, with their own schedules."""
    config, store = world_copy(Path(tmp_path.parent), tmp_path / "world")
    customer = busiest(store, "service_requests")
    with api_over(config, store) as api:
        service = api.get(f"/customers/{customer}/service-requests")["freshness"]
        campaigns = api.get(f"/customers/{customer}/campaigns")["freshness"]
        everything = api.get(f"/customers/{customer}")["freshness"]
    store.dispose()
    desk = {f["entity"] for f in service if f["source"] == "service_desk"}
    assert desk == {"service_requests", "service_surveys"}
    assert all(f["as_of"] and f["schedule"] == config.schedule_of(f["source"]) for f in service)
    assert {f["entity"] for f in campaigns if f["source"] == "marketing"} == {
        "campaigns",
        "campaign_touches",
    }
    sources = {f["source"] for f in everything}
    assert {"legacy_erp", "service_desk", "marketing"} <= sources
