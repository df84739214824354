"""The customer summary: what the person on the phone must see first, for every role that
may open a customer (``GET /customers/{id}``, the top of the customer page, the phone
lookup's cards).

Credit status follows :func:`crm_core.api.service.finance.credit_status` (the worst of
the customer's profiles, ``on_hold`` being ``hold`` here); overdue items follow
:mod:`crm_core.golden.receivables`; tier and churn follow
:func:`crm_core.api.service.insights.value_and_churn_of`. Roles without figures get bands
instead of credit and receivables amounts; a hold is never hidden. Each part says how
fresh it is (:mod:`crm_core.api.service.freshness`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from crm_core.api.service.finance import credit_status
from crm_core.api.service.freshness import SUMMARY_PARTS, freshness_in, summary_freshness
from crm_core.api.service.insights import (
    OrderStanding,
    order_standing,
    order_standing_of,
    value_and_churn_of,
)
from crm_core.api.service.lookup import resolve
from crm_core.api.service.purchases import CANCELLED, OrderTotal
from crm_core.api.service.pushback import concessions_in
from crm_core.api.service.segments import Population
from crm_core.api.service.views import (
    AvailableBand,
    MoneyView,
    SummaryFreshness,
    SummaryStatus,
    SummaryView,
)
from crm_core.golden.customer360 import linked
from crm_core.golden.receivables import bucket_of, days_past_due, is_open
from crm_core.store.tables import RECORD_TABLES, source_links
from schemas.model import ConcessionStatus, OrderStatus
from schemas.settings import HubConfig

ZERO = Decimal(0)
#: orders still to be delivered or invoiced
OPEN_ORDERS = tuple(
    s.value
    for s in (
        OrderStatus.ENTERED,
        OrderStatus.CONFIRMED,
        OrderStatus.IN_PRODUCTION,
        OrderStatus.SHIPPED,
    )
)
#: finance's credit status -> the summary's word for it
_STATUS: dict[str, SummaryStatus] = {
    "on_hold": "hold",
    "near_limit": "near_limit",
    "ok": "ok",
    "unknown": "unknown",
}
_WORST: tuple[SummaryStatus, ...] = ("hold", "near_limit", "ok", "unknown")
#: available credit over the limit below which the band is low, medium
LOW, MEDIUM = Decimal("0.2"), Decimal("0.5")
#: the credit profile's columns the summary reads
_CREDIT = (
    "source",
    "customer_id",
    "credit_limit",
    "exposure",
    "available",
    "on_hold",
    "hold_reason",
    "currency",
)


def _money(per: dict[str, Decimal]) -> list[MoneyView]:
    return [MoneyView(currency=c, amount=a) for c, a in sorted(per.items())]


def available_band(available: Decimal | None, limit: Decimal) -> AvailableBand | None:
    """How much of a credit limit is left, as a band (None: not known)."""
    if available is None:
        return None
    if available <= 0 or limit <= 0:
        return "none"
    share = available / limit
    return "low" if share < LOW else "medium" if share < MEDIUM else "high"


@dataclass
class _Links:
    """A customer's source records (source, key) and their credit profiles."""

    keys: set[tuple[str, str]]
    credit: list[Any]


def _links(conn: Connection, golden_id: str) -> _Links:
    """The customer's source records with their credit profiles, in one query."""
    credit = RECORD_TABLES["credit"]
    profile = and_(
        credit.c.source == source_links.c.source,
        credit.c.customer_id == source_links.c.source_key,
        credit.c.deleted_at.is_(None),
    )
    stmt = (
        select(
            source_links.c.source,
            source_links.c.source_key,
            *(credit.c[c].label(f"credit_{c}") for c in _CREDIT),
        )
        .select_from(source_links.outerjoin(credit, profile))
        .where(source_links.c.golden_id == golden_id)
    )
    keys: set[tuple[str, str]] = set()
    profiles = []
    for row in conn.execute(stmt):
        data = row._mapping
        keys.add((row.source, row.source_key))
        if data["credit_source"] is not None:
            profiles.append(SimpleNamespace(**{c: data[f"credit_{c}"] for c in _CREDIT}))
    profiles.sort(key=lambda r: (r.source, r.customer_id))
    return _Links(keys, profiles)


def _credit(rows: list[Any]) -> dict[str, Any]:
    """Credit status, hold reasons, available credit and its band of the customer's
    credit profiles ``rows`` (by source)."""
    statuses: list[SummaryStatus] = []
    reasons: list[str] = []
    available: dict[str, Decimal] = defaultdict(lambda: ZERO)
    bands: list[AvailableBand] = []
    for row in rows:
        status, _utilisation = credit_status(row.credit_limit, row.exposure, bool(row.on_hold))
        statuses.append(_STATUS[status])
        if row.on_hold and row.hold_reason:
            reasons.append(row.hold_reason)
        left = row.available
        if left is None and row.exposure is not None:
            left = row.credit_limit - row.exposure
        if left is not None:
            available[row.currency] += left
        if (band := available_band(left, row.credit_limit)) is not None:
            bands.append(band)
    order: tuple[AvailableBand, ...] = ("none", "low", "medium", "high")
    return {
        "credit_status": min(statuses, key=_WORST.index, default="unknown"),
        "hold_reason": "; ".join(dict.fromkeys(reasons)) or None,
        "available": _money(available),
        "available_band": min(bands, key=order.index, default=None),
    }


def _overdue(conn: Connection, golden_id: str, as_of: date) -> dict[str, Any]:
    table = RECORD_TABLES["invoices"]
    per: dict[str, Decimal] = defaultdict(lambda: ZERO)
    oldest = 0
    for row in conn.execute(linked(table, golden_id).where(table.c.status == "open")):
        invoice = dict(row._mapping)
        if not is_open(invoice):
            continue
        days = days_past_due(invoice, as_of)
        if days > 0:
            per[invoice["currency"]] += invoice["open_amount"]
            oldest = max(oldest, days)
    return {
        "overdue": _money(per),
        "overdue_band": bucket_of(oldest),
        "oldest_overdue_days": oldest or None,
    }


def _orders(
    conn: Connection, golden_id: str, as_of: date
) -> tuple[int, list[MoneyView], OrderStanding]:
    """Open orders (count, value per currency) and the customer's standing
    (:func:`crm_core.api.service.insights.order_standing_of`) from its orders not cancelled, in
    one query: grouped per currency by PostgreSQL, else summed here (SQLite sums decimals
    as floats)."""
    table = RECORD_TABLES["orders"]
    if conn.dialect.name != "postgresql":
        return _orders_rows(conn, golden_id, as_of)
    day, amount = table.c.order_date, table.c.total_amount
    until = day <= as_of
    still_open = table.c.status.in_(OPEN_ORDERS)
    stmt = (
        linked(
            table,
            golden_id,
            table.c.currency,
            func.count().filter(until),
            func.sum(amount).filter(and_(until, day > as_of - timedelta(days=365))),
            func.max(day).filter(until),
            func.count().filter(still_open),
            func.sum(amount).filter(still_open),
        )
        .where(table.c.status != CANCELLED)
        .group_by(table.c.currency)
    )
    counts: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    open_value: dict[str, Decimal] = {}
    last: list[date] = []
    open_count = 0
    for currency, n, revenue_12, newest, n_open, value_open in conn.execute(stmt):
        counts[currency] = n
        revenue[currency] = revenue_12 or ZERO
        if newest is not None:
            last.append(newest)
        if n_open:
            open_count += n_open
            open_value[currency] = value_open
    figures = order_standing_of(counts, revenue, max(last, default=None), as_of)
    return open_count, _money(open_value), figures


def _orders_rows(
    conn: Connection, golden_id: str, as_of: date
) -> tuple[int, list[MoneyView], OrderStanding]:
    """:func:`_orders` from every order not cancelled."""
    table = RECORD_TABLES["orders"]
    stmt = linked(
        table,
        golden_id,
        table.c.source,
        table.c.order_id,
        table.c.order_date,
        table.c.currency,
        table.c.total_amount,
        table.c.status,
    ).where(table.c.status != CANCELLED)
    per: dict[str, Decimal] = defaultdict(lambda: ZERO)
    count = 0
    totals = []
    for source, order_id, day, currency, amount, status in conn.execute(stmt):
        if day <= as_of:
            totals.append(OrderTotal(source, order_id, day, currency, amount))
        if status in OPEN_ORDERS:
            per[currency] += amount
            count += 1
    return count, _money(per), order_standing(totals, as_of)


def freshness(
    conn: Connection,
    golden_id: str,
    config: HubConfig | None = None,
    sources: Collection[str] | None = None,
) -> SummaryFreshness:
    """Per part, the oldest of the last successful runs of the customer's sources' streams
    of its entity, and the stale parts (:mod:`crm_core.api.service.freshness`; without
    ``config``, no schedule: a part is stale only when never pulled); ``sources``: the
    systems of a standing customer's records, when read already."""
    entities = tuple(SUMMARY_PARTS.values())
    return summary_freshness(freshness_in(conn, config, golden_id, entities, sources=sources))


def summary(
    store: Engine,
    golden_id: str,
    *,
    as_of: date,
    pop: Population,
    figures: bool,
    config: HubConfig | None = None,
) -> SummaryView:
    """The summary of customer ``golden_id`` (or the one it was merged into) as of
    ``as_of``; ``figures``: with credit and receivables amounts (else bands only);
    ``pop``: every customer's standing (for the tier); ``config``: the sources'
    schedules, for the stale parts."""
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        return summary_in(conn, standing, as_of=as_of, pop=pop, figures=figures, config=config)


def summary_in(
    conn: Connection,
    golden_id: str,
    *,
    as_of: date,
    pop: Population,
    figures: bool,
    config: HubConfig | None = None,
) -> SummaryView:
    """:func:`summary` of a standing (not merged) customer, read on ``conn``: five
    queries (source records with their credit profiles, open invoices, orders,
    concessions, the freshness of their sources' streams)."""
    links = _links(conn, golden_id)
    credit = _credit(links.credit)
    overdue = _overdue(conn, golden_id, as_of)
    open_count, open_value, by_orders = _orders(conn, golden_id, as_of)
    tier, churn, last_order = value_and_churn_of(by_orders, pop)
    still_valid = [
        c
        for c in concessions_in(conn, golden_id, links.keys)
        if c.status == ConcessionStatus.APPROVED and (c.valid_to is None or c.valid_to >= as_of)
    ]
    return SummaryView(
        credit_status=credit["credit_status"],
        on_hold=credit["credit_status"] == "hold",
        hold_reason=credit["hold_reason"],
        figures=figures,
        available_credit=credit["available"] if figures else None,
        available_band=credit["available_band"],
        overdue=overdue["overdue"] if figures else None,
        overdue_band=overdue["overdue_band"],
        oldest_overdue_days=overdue["oldest_overdue_days"],
        open_orders=open_count,
        open_orders_value=open_value,
        last_order_date=last_order,
        open_concessions=len(still_valid),
        tier=tier,
        churn=churn.flag,
        freshness=freshness(conn, golden_id, config, {source for source, _ in links.keys}),
    )


def credit_hold(store: Engine, golden_id: str) -> str | None:
    """Why the customer is on credit hold ("on hold" when no source says why), or None
    when no source has it on hold (nor an unknown customer)."""
    table = RECORD_TABLES["credit"]
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        rows = conn.execute(
            linked(table, standing, table.c.hold_reason).where(table.c.on_hold.is_(True))
        ).all()
    if not rows:
        return None
    return "; ".join(dict.fromkeys(r.hold_reason for r in rows if r.hold_reason)) or "on hold"
