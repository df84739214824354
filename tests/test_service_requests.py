"""Service history: the service desk's tickets and survey answers through its REST API,
mapping and contracts into ``GET /customers/{id}/service-requests``: SLA breaches, open
tickets and the satisfaction trend; the day of changes read incrementally."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from crm_core.api.service.service_history import request_view, satisfaction_trend
from crm_core.store.tables import RECORD_TABLES
from sample_erps import scenario
from sample_erps.service_desk.data import surveys, tickets
from tests.aftersales_kit import (
    AS_OF,
    Api,
    aftersales_world,
    api_over,
    busiest,
    keys_of,
    sync_all,
    world_copy,
)

REQUESTS = RECORD_TABLES["service_requests"]
SURVEYS = RECORD_TABLES["service_surveys"]
T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Api]]:
    root = Path(tmp_path_factory.getbasetemp())
    target = tmp_path_factory.mktemp("service_requests") / "world"
    config, store = world_copy(root, target)
    with api_over(config, store) as api:
        yield target, api
    store.dispose()


def _desk(workdir: Path, table: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{workdir / 'service_desk.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(select(table)).all()
    finally:
        engine.dispose()


def _ticket(**values: Any) -> dict[str, Any]:
    row = {c.name: None for c in REQUESTS.columns}
    row.update(source="service_desk", request_id="SR-1", customer_id="C1", opened_at=T0)
    row.update(status="open", sla_due_at=T0 + timedelta(hours=24))
    row.update(values)
    return row


@pytest.mark.parametrize(
    ("values", "breached"),
    [
        ({"status": "resolved", "resolved_at": T0 + timedelta(hours=30)}, True),
        ({"status": "resolved", "resolved_at": T0 + timedelta(hours=20)}, False),
        ({"status": "open"}, True),  # still open two days after its due time
        ({"status": "open", "sla_due_at": T0 + timedelta(days=5)}, False),
        ({"status": "closed", "closed_at": T0 + timedelta(hours=2), "sla_due_at": None}, False),
    ],
)
def test_service_request_sla_breach(values: dict[str, Any], breached: bool) -> None:
    view = request_view(_ticket(**values), None, T0 + timedelta(days=3))
    assert view.sla_breached is breached
    assert view.open is (values["status"] == "open")


def test_service_request_satisfaction_trend_by_quarter() -> None:
    def answered(score: int, month: int) -> Any:
        row = _ticket(status="closed", satisfaction_score=score)
        row["opened_at"] = datetime(2026, month, 3, tzinfo=UTC)
        return request_view(row, None, T0)

    falling, points = satisfaction_trend([answered(5, 1), answered(4, 2), answered(2, 5)])
    assert falling == "falling" and [p.quarter for p in points] == ["2026-Q1", "2026-Q2"]
    assert points[0].average == 4.5 and points[0].answers == 2
    assert satisfaction_trend([answered(3, 1), answered(3, 5)])[0] == "steady"
    assert satisfaction_trend([answered(2, 1), answered(4, 5)])[0] == "rising"
    assert satisfaction_trend([answered(2, 1)])[0] == "unknown"


def test_service_requests_stream_reads_every_ticket_and_survey_answer(
    world: tuple[Path, Api],
) -> None:
    workdir, api = world
    with api.store.connect() as conn:
        stored = {r.request_id: r for r in conn.execute(select(REQUESTS))}
        answers = conn.execute(select(func.count()).select_from(SURVEYS)).scalar()
    desk = {t.id: t for t in _desk(workdir, tickets)}
    assert len(desk) > 20 and set(stored) == set(desk)
    assert answers == len(_desk(workdir, surveys))
    priority = {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}
    for ident, raw in desk.items():
        row = stored[ident]
        assert row.customer_source == "legacy_erp" and row.customer_id == raw.account_no
        assert row.priority == priority[raw.priority]
        assert row.opened_at == datetime.fromisoformat(raw.opened_at)


def test_service_requests_for_a_viewer_with_survey_scores(world: tuple[Path, Api]) -> None:
    workdir, api = world
    golden_id = busiest(api.store, "service_requests")
    body = api.get(f"/customers/{golden_id}/service-requests", as_of=AS_OF.isoformat())
    keys = {key for source, key in keys_of(api.store, golden_id) if source == "legacy_erp"}
    desk = [t for t in _desk(workdir, tickets) if t.account_no in keys]
    assert body["items"] and {i["request_id"] for i in body["items"]} == {t.id for t in desk}
    scores = {s.ticket_id: s.rating for s in _desk(workdir, surveys)}
    for item in body["items"]:
        assert item["satisfaction_score"] == scores.get(item["request_id"])
    summary = body["summary"]
    states = {t.id: t.state for t in desk}
    assert summary["open"] == sum(s in ("new", "in_progress", "waiting") for s in states.values())
    assert summary["sla_breaches"] == sum(i["sla_breached"] for i in body["items"])


def test_service_requests_day_of_changes_is_read_incrementally(tmp_path: Path) -> None:
    config, store = aftersales_world(tmp_path / "world", customers=30)
    try:
        changed = scenario.change(tmp_path / "world", seed=5, as_of=AS_OF + timedelta(days=1))
        desk = changed["service_desk"]
        assert desk["new tickets"] >= 3 and desk["survey answers"] >= 1
        results = {r.stream: r for r in sync_all(tmp_path / "world", config, store)}
        assert results["service_requests"].counts.rows_read == (
            desk["new tickets"] + desk["tickets moved on"]
        )
        assert results["service_surveys"].counts.rows_read == desk["survey answers"]
        # a serial shipped today may be installed today too: at most one read per change
        assets = sum(
            changed["legacy_erp"][k] for k in ("shipments", "installations", "contract renewals")
        )
        assert 0 < results["assets"].counts.rows_read <= assets
        touches = changed["marketing"]["campaign touches"] + changed["marketing"]["responses"]
        assert 0 < results["campaign_touches"].counts.rows_read <= touches
    finally:
        store.dispose()


def test_service_request_churn_risk_of_a_high_tier_customer() -> None:
    from crm_core.api.service.aftersales_insights import OPEN_TICKETS_RISK, service_risk_reasons
    from crm_core.api.service.aftersales_views import ServiceSummary

    def summary(open_: int, trend: str) -> ServiceSummary:
        return ServiceSummary(
            open=open_,
            sla_breaches=0,
            sla_breaches_open=0,
            satisfaction_trend=trend,  # type: ignore[arg-type]
            satisfaction_by_quarter=[],
        )

    busy, souring = summary(OPEN_TICKETS_RISK, "steady"), summary(0, "falling")
    assert service_risk_reasons("A", busy) == ["open_service_requests"]
    assert service_risk_reasons("B", souring) == ["satisfaction_falling"]
    assert service_risk_reasons("A", summary(OPEN_TICKETS_RISK - 1, "rising")) == []
    assert service_risk_reasons("C", busy) == [] and service_risk_reasons("D", souring) == []


def test_service_request_panels_and_risk_on_the_customer_page(world: tuple[Path, Api]) -> None:
    _workdir, api = world
    golden_id = busiest(api.store, "service_requests")
    insights = api.get(f"/customers/{golden_id}/insights", as_of=AS_OF.isoformat())
    service = api.get(f"/customers/{golden_id}/service-requests", as_of=AS_OF.isoformat())
    churn = insights["churn"]
    expected = insights["tier"] in ("A", "B") and (
        service["summary"]["open"] >= 3 or service["summary"]["satisfaction_trend"] == "falling"
    )
    assert churn["service_risk"] is expected and bool(churn["service_reasons"]) is expected
    login = api.client.post("/ui/login", data={"key": api.keys["viewer"]}, follow_redirects=False)
    api.client.cookies.update(login.cookies)
    for lang, title in (("en", "Service history"), ("zh-CN", "服务记录")):
        page = api.client.get(f"/ui/customers/{golden_id}?as_of={AS_OF.isoformat()}&lang={lang}")
        assert page.status_code == 200
        assert title in page.text and 'id="assets"' in page.text and 'id="campaigns"' in page.text
        for item in service["items"][:20]:
            assert item["request_id"] in page.text
