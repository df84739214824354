"""The customer summary (issue 19): every role that may open a customer sees the credit
status, the hold and its reason, what is overdue, open orders and concessions, tier and
churn, and how fresh each is; amounts only for the roles of ``api.summary_figures``.
A concession or a credit-limit request for a customer on hold says so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, and_, select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.store.tables import RECORD_TABLES, runs, source_links
from schemas.api_settings import ApiConfig
from schemas.settings import HubConfig
from tests.api_kit import AS_OF, demo_copy

CREDIT, INVOICES = RECORD_TABLES["credit"], RECORD_TABLES["invoices"]


@dataclass
class Site:
    client: TestClient
    store: Engine
    config: HubConfig
    keys: dict[Role, str]

    def get(self, role: Role, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        answer = self.client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("api_summary") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} wu")[1] for role in Role}
    with TestClient(app, follow_redirects=False) as client:
        yield Site(client, store, config, keys)
    store.dispose()


def _credit_rows(store: Engine, on_hold: bool) -> list[Any]:
    joined = CREDIT.join(
        source_links,
        and_(
            source_links.c.source == CREDIT.c.source,
            source_links.c.source_key == CREDIT.c.customer_id,
        ),
    )
    stmt = (
        select(source_links.c.golden_id, CREDIT)
        .select_from(joined)
        .where(CREDIT.c.on_hold.is_(on_hold))
        .order_by(source_links.c.golden_id)
    )
    with store.connect() as conn:
        return list(conn.execute(stmt))


def _overdue(store: Engine, source: str, customer: str) -> Decimal:
    """Open amounts past due on AS_OF, read from the store directly."""
    stmt = select(INVOICES).where(INVOICES.c.source == source, INVOICES.c.customer_id == customer)
    with store.connect() as conn:
        return sum(
            (
                r.open_amount
                for r in conn.execute(stmt)
                if r.status == "open" and r.open_amount and (r.due_date or r.invoice_date) < AS_OF
            ),
            Decimal(0),
        )


def test_summary_viewer_sees_the_hold_and_bands_but_no_figures(site: Site) -> None:
    held = _credit_rows(site.store, True)[0]
    customer = site.get(Role.VIEWER, f"/customers/{held.golden_id}", as_of=AS_OF.isoformat())
    summary = customer["summary"]
    assert summary["credit_status"] == "hold" and summary["on_hold"] is True
    assert summary["hold_reason"] == held.hold_reason
    assert summary["figures"] is False
    assert summary["available_credit"] is None and summary["overdue"] is None
    assert summary["available_band"] in ("none", "low", "medium", "high")
    text = str(customer)
    assert f"{held.credit_limit - held.exposure:.2f}" not in text
    overdue = _overdue(site.store, held.source, held.customer_id)
    assert overdue > 0 and f"{overdue:.2f}" not in text
    assert summary["overdue_band"] != "current" and summary["oldest_overdue_days"] > 0


def test_summary_finance_sees_the_figures(site: Site) -> None:
    held = _credit_rows(site.store, True)[0]
    summary = site.get(Role.FINANCE, f"/customers/{held.golden_id}", as_of=AS_OF.isoformat())[
        "summary"
    ]
    assert summary["credit_status"] == "hold" and summary["figures"] is True
    available = held.available if held.available is not None else held.credit_limit - held.exposure
    assert summary["available_credit"] == [{"currency": held.currency, "amount": f"{available}"}]
    overdue = _overdue(site.store, held.source, held.customer_id)
    got = sum((Decimal(m["amount"]) for m in summary["overdue"]), Decimal(0))
    assert got == overdue


def test_summary_of_a_customer_not_on_hold(site: Site) -> None:
    free = _credit_rows(site.store, False)[0]
    summary = site.get(Role.EDITOR, f"/customers/{free.golden_id}")["summary"]
    assert summary["on_hold"] is False and summary["hold_reason"] is None
    assert summary["credit_status"] in ("ok", "near_limit")
    assert summary["tier"] in ("A", "B", "C", "D") and isinstance(summary["churn"], bool)


def test_summary_says_how_fresh_each_part_is(site: Site) -> None:
    held = _credit_rows(site.store, True)[0]
    summary = site.get(Role.VIEWER, f"/customers/{held.golden_id}")["summary"]
    with site.store.connect() as conn:
        finished = {
            r.entity: r.finished_at
            for r in conn.execute(select(runs).where(runs.c.status == "success"))
        }
    assert summary["freshness"]["credit"].replace("Z", "+00:00") == finished["credit"].isoformat()
    assert summary["freshness"]["orders"].replace("Z", "+00:00") == finished["orders"].isoformat()


def test_summary_figures_follow_the_setting(site: Site, tmp_path: Path) -> None:
    held = _credit_rows(site.store, True)[0]
    config = site.config.model_copy(update={"api": ApiConfig(summary_figures=["viewer"])})
    app = create_app(config, store=site.store, search_refresh_seconds=0)
    with TestClient(app) as client:
        answer = client.get(
            f"/customers/{held.golden_id}",
            headers={"Authorization": f"Bearer {site.keys[Role.VIEWER]}"},
        )
        finance = client.get(
            f"/customers/{held.golden_id}",
            headers={"Authorization": f"Bearer {site.keys[Role.FINANCE]}"},
        )
    assert answer.json()["summary"]["figures"] is True
    assert answer.json()["summary"]["available_credit"]
    assert finance.json()["summary"]["figures"] is False
    assert finance.json()["summary"]["credit_status"] == "hold"


def test_summary_hold_in_the_answer_to_a_concession_and_a_credit_limit_request(
    site: Site,
) -> None:
    held, free = _credit_rows(site.store, True)[0], _credit_rows(site.store, False)[0]
    editor = {"Authorization": f"Bearer {site.keys[Role.EDITOR]}"}
    concession = {
        "kind": "percent",
        "percent": "5",
        "reason": "loyal customer",
        "approver": "Wang Fang",
        "valid_from": AS_OF.isoformat(),
        "valid_to": (AS_OF + timedelta(days=30)).isoformat(),
    }
    made = site.client.post(f"/customers/{held.golden_id}/concessions", json=concession,
                            headers=editor)  # fmt: skip
    assert made.status_code == 202, made.text
    assert made.json()["credit_hold"] == {"reason": held.hold_reason}
    limit = site.client.post(f"/customers/{held.golden_id}/credit-limit-requests",
                             json={"credit_limit": "500000"}, headers=editor)  # fmt: skip
    assert limit.status_code == 202, limit.text
    assert limit.json()["credit_hold"] == {"reason": held.hold_reason}
    other = site.client.post(f"/customers/{free.golden_id}/concessions", json=concession,
                             headers=editor)  # fmt: skip
    assert other.status_code == 202 and other.json()["credit_hold"] is None
    # the recorded concession counts as open in the summary
    summary = site.get(Role.VIEWER, f"/customers/{held.golden_id}", as_of=AS_OF.isoformat())
    assert summary["summary"]["open_concessions"] >= 1


def test_summary_on_the_page_above_the_first_section_and_in_the_form(site: Site) -> None:
    held = _credit_rows(site.store, True)[0]
    client = site.client
    for role, lang, hold in ((Role.VIEWER, "zh-CN", "信用冻结"), (Role.EDITOR, "en", "On hold")):
        client.cookies.clear()
        client.cookies.set("lang", lang)
        assert client.post("/ui/login", data={"key": site.keys[role]}).status_code == 303
        page = client.get(f"/ui/customers/{held.golden_id}").text
        assert page.index('id="summary"') < page.index('id="golden"')
        assert 'id="summary-hold"' in page and hold in page and 'data-status="hold"' in page
        assert 'id="summary-bands"' in page  # no figures for viewers and editors
        assert ('id="concession-hold"' in page) is (role == Role.EDITOR)
