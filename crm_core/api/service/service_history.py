"""A customer's service history: its tickets in every service desk, whether each met its
SLA, and how satisfied the customer has been, quarter by quarter.

A ticket breaches its SLA when it was resolved after its due time, or is still open past
it (as of the day asked about). A ticket's satisfaction is its newest survey answer, else
what the ticket itself carries. The trend compares the average score of the newest two
quarters with answers: ``falling`` when it dropped by half a point or more, ``rising``
when it rose as much, else ``steady`` (``unknown`` with fewer than two such quarters).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.api.service.aftersales_views import (
    SatisfactionPoint,
    ServiceRequestsView,
    ServiceRequestView,
    ServiceSummary,
    Trend,
)
from crm_core.api.service.lookup import resolve
from crm_core.golden.attached import attached
from crm_core.store.tables import RECORD_TABLES

requests_table = RECORD_TABLES["service_requests"]
surveys_table = RECORD_TABLES["service_surveys"]
OPEN_STATES = ("new", "open", "pending")
#: the change in average score between the newest two quarters that makes a trend
TREND_STEP = 0.5


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 1)


def _answers(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """The newest survey answer per (source, request id)."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        wanted[row["source"]].append(row["request_id"])
    out: dict[tuple[str, str], Any] = {}
    s = surveys_table
    for source, ids in wanted.items():
        for i in range(0, len(ids), 500):
            stmt = (
                select(s)
                .where(s.c.source == source, s.c.request_id.in_(ids[i : i + 500]))
                .where(s.c.deleted_at.is_(None))
                .order_by(s.c.answered_at)
            )
            for answer in conn.execute(stmt):
                out[(source, answer.request_id)] = answer
    return out


def request_view(row: dict[str, Any], answer: Any, now: datetime) -> ServiceRequestView:
    """One ticket row (with its newest survey answer, or None) as the API shows it."""
    is_open = row["status"] in OPEN_STATES
    done = row["resolved_at"] or row["closed_at"]
    due = row["sla_due_at"]
    breached = due is not None and ((done is not None and done > due) or (is_open and now > due))
    return ServiceRequestView(
        source=row["source"],
        request_id=row["request_id"],
        customer_key=row["customer_id"],
        asset_id=row["asset_id"],
        subject=row["subject"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        channel=row["channel"],
        category=row["category"],
        priority=row["priority"],
        status=row["status"],
        open=is_open,
        sla_due_at=due,
        sla_breached=breached,
        first_response_hours=_hours(row["opened_at"], row["first_response_at"]),
        resolution_hours=_hours(row["opened_at"], done),
        satisfaction_score=answer.score if answer is not None else row["satisfaction_score"],
        satisfaction_comment=answer.comment if answer is not None else row["satisfaction_comment"],
        answered_at=answer.answered_at if answer is not None else None,
    )


def _quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def satisfaction_trend(items: list[ServiceRequestView]) -> tuple[Trend, list[SatisfactionPoint]]:
    """The average score per quarter (by answer time, else opening time) and the trend."""
    scores: dict[str, list[int]] = defaultdict(list)
    for item in items:
        if item.satisfaction_score is not None:
            scores[_quarter(item.answered_at or item.opened_at)].append(item.satisfaction_score)
    points = [
        SatisfactionPoint(quarter=q, average=round(sum(v) / len(v), 2), answers=len(v))
        for q, v in sorted(scores.items())
    ]
    if len(points) < 2:
        return "unknown", points
    step = points[-1].average - points[-2].average
    trend: Trend = (
        "falling" if step <= -TREND_STEP else "rising" if step >= TREND_STEP else "steady"
    )
    return trend, points


def service_requests_of(store: Engine, golden_id: str, *, as_of: date) -> ServiceRequestsView:
    """Every ticket naming one of the customer's source records, newest first, with open
    tickets, SLA breaches and the satisfaction trend."""
    r = requests_table
    now = datetime.combine(as_of, time.max, UTC)
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        stmt = attached(r, standing).order_by(r.c.opened_at.desc(), r.c.source, r.c.request_id)
        rows = [dict(x._mapping) for x in conn.execute(stmt)]
        answers = _answers(conn, rows)
    items = [request_view(x, answers.get((x["source"], x["request_id"])), now) for x in rows]
    trend, points = satisfaction_trend(items)
    scored = [i.satisfaction_score for i in items if i.satisfaction_score is not None]
    summary = ServiceSummary(
        open=sum(i.open for i in items),
        sla_breaches=sum(i.sla_breached for i in items),
        sla_breaches_open=sum(i.sla_breached and i.open for i in items),
        average_satisfaction=round(sum(scored) / len(scored), 2) if scored else None,
        satisfaction_trend=trend,
        satisfaction_by_quarter=points,
    )
    return ServiceRequestsView(id=standing, as_of=as_of, items=items, summary=summary)
