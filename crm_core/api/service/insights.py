"""What a CSR cannot answer today: what the customer buys by product line and year, what
they stopped buying, what they are worth, and whether they are slipping away.

Years for lapsed products are rolling: "this year" is the 12 months up to ``as_of``,
"last year" the 12 months before those, so the answer does not jump every January.
Cancelled orders count for nothing. Margins are not given: the model holds no item costs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from crm_core.api.service.aftersales_insights import service_churn_risk
from crm_core.api.service.lookup import resolve
from crm_core.api.service.purchases import (
    OrderTotal,
    Purchase,
    order_totals,
    product_lines,
    purchases,
)
from crm_core.api.service.segments import CHURN_DAYS, Population, population, quintile, tier
from crm_core.api.service.views import (
    ChurnView,
    InsightsView,
    LapsedProduct,
    ProductLineYear,
    RevenueView,
    RfmView,
    Tier,
)

ZERO = Decimal(0)


@dataclass
class _Sum:
    amount: Decimal = ZERO
    quantity: Decimal = ZERO
    orders: set[tuple[str, str]] = field(default_factory=set)
    last: date = date.min

    def add(self, p: Purchase) -> None:
        self.amount += p.amount
        self.quantity += p.quantity
        self.orders.add((p.source, p.order_id))
        self.last = max(self.last, p.order_date)


@dataclass
class _Revenue:
    last_12_months: Decimal = ZERO
    lifetime: Decimal = ZERO
    orders_12_months: int = 0
    orders_lifetime: int = 0


def _history(bought: list[Purchase], lines: dict[tuple[str, str], str]) -> list[ProductLineYear]:
    groups: dict[tuple[str | None, int, str], _Sum] = defaultdict(_Sum)
    for p in bought:
        groups[(lines.get((p.source, p.item_id)), p.order_date.year, p.currency)].add(p)
    ordered = sorted(groups.items(), key=lambda kv: (-kv[0][1], kv[0][0] or "", kv[0][2]))
    return [
        ProductLineYear(
            product_line=line,
            year=year,
            currency=currency,
            amount=total.amount,
            quantity=total.quantity,
            orders=len(total.orders),
        )
        for (line, year, currency), total in ordered
    ]


def _lapsed(
    bought: list[Purchase], lines: dict[tuple[str, str], str], as_of: date
) -> tuple[list[LapsedProduct], list[str]]:
    this_start = as_of - timedelta(days=365)
    last_start = this_start - timedelta(days=365)
    this_year = [p for p in bought if this_start < p.order_date <= as_of]
    last_year = [p for p in bought if last_start < p.order_date <= this_start]
    bought_now = {(p.source, p.item_id) for p in this_year}
    gone: dict[tuple[str, str], _Sum] = defaultdict(_Sum)
    first: dict[tuple[str, str], Purchase] = {}
    for p in last_year:
        if (p.source, p.item_id) not in bought_now:
            gone[(p.source, p.item_id)].add(p)
            first.setdefault((p.source, p.item_id), p)
    products = [
        LapsedProduct(
            source=source,
            item_id=item,
            description=first[(source, item)].description,
            product_line=lines.get((source, item)),
            currency=first[(source, item)].currency,
            last_year_amount=total.amount,
            last_year_quantity=total.quantity,
            last_ordered=total.last,
        )
        for (source, item), total in gone.items()
    ]
    products.sort(key=lambda p: (-p.last_year_amount, p.source, p.item_id))
    lines_now = {lines.get((p.source, p.item_id)) for p in this_year}
    lines_before = {lines.get((p.source, p.item_id)) for p in last_year}
    return products, sorted(line for line in lines_before - lines_now if line)


#: the currency most orders are in, 12-month revenue in it, the last order date, the
#: days since
OrderStanding = tuple[str | None, float, date | None, int | None]


def order_standing(totals: list[OrderTotal], as_of: date) -> OrderStanding:
    """The currency most orders are in, 12-month revenue in it, the last order date and
    the days since (``totals``: the orders up to ``as_of``)."""
    year_ago = as_of - timedelta(days=365)
    revenue: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for o in totals:
        if o.order_date > year_ago:
            revenue[o.currency] += o.total_amount
    last_order = max((o.order_date for o in totals), default=None)
    return order_standing_of(Counter(o.currency for o in totals), revenue, last_order, as_of)


def order_standing_of(
    orders: Mapping[str, int],
    revenue_12: Mapping[str, Decimal],
    last_order: date | None,
    as_of: date,
) -> OrderStanding:
    """:func:`order_standing` from the customer's orders up to ``as_of`` counted per currency,
    their 12-month revenue per currency and the last order date."""
    counted = [(n, c) for c, n in orders.items() if n > 0]
    currency = max(counted)[1] if counted else None
    revenue = float(revenue_12.get(currency, ZERO)) if currency is not None else 0.0
    days_since = (as_of - last_order).days if last_order else None
    return currency, revenue, last_order, days_since


def _churn(value_tier: Tier, days_since: int | None) -> ChurnView:
    if days_since is None:
        return ChurnView(flag=False, threshold_days=None, rule="no orders yet: nothing to lose")
    limit = CHURN_DAYS[value_tier]
    return ChurnView(
        flag=days_since > limit,
        threshold_days=limit,
        rule=f"tier {value_tier}: churned after more than {limit} days without an order",
    )


def value_and_churn_of(
    figures: OrderStanding, pop: Population
) -> tuple[Tier, ChurnView, date | None]:
    """The value tier, the churn flag and the last order date of a customer whose
    standing (:func:`order_standing`, :func:`order_standing_of`) is ``figures``, as :func:`insights`
    gives them."""
    currency, revenue_12, last_order, days_since = figures
    value_tier = tier(pop, currency, revenue_12)
    return value_tier, _churn(value_tier, days_since), last_order


def insights(
    store: Engine, golden_id: str, *, as_of: date, pop: Population | None = None
) -> InsightsView:
    """Insights on the customer as of ``as_of``; ``pop`` is every customer's standing
    (computed when not given, see :class:`crm_core.api.service.segments.PopulationCache`)."""
    year_ago = as_of - timedelta(days=365)
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        totals = [o for o in order_totals(conn, standing) if o.order_date <= as_of]
        bought = purchases(conn, standing, totals)
        lines = product_lines(conn, {(p.source, p.item_id) for p in bought})
    pop = pop or population(store, as_of)

    revenue: dict[str, _Revenue] = defaultdict(_Revenue)
    for order in totals:
        entry = revenue[order.currency]
        entry.lifetime += order.total_amount
        entry.orders_lifetime += 1
        if order.order_date > year_ago:
            entry.last_12_months += order.total_amount
            entry.orders_12_months += 1
    currency, revenue_12, last_order, days_since = order_standing(totals, as_of)
    orders_12 = sum(1 for o in totals if o.order_date > year_ago)
    if last_order is None:
        rfm = RfmView(recency=1, frequency=1, monetary=1, score="111")
    else:
        r = quintile(pop.recency, -(days_since or 0))
        f = quintile(pop.frequency, orders_12)
        m = quintile(pop.monetary.get(currency or "", []), revenue_12) if revenue_12 > 0 else 1
        rfm = RfmView(recency=r, frequency=f, monetary=m, score=f"{r}{f}{m}")
    value_tier = tier(pop, currency, revenue_12)
    churn = _churn(value_tier, days_since)
    churn.service_reasons = service_churn_risk(store, standing, value_tier, as_of)
    churn.service_risk = bool(churn.service_reasons)
    lapsed, lapsed_lines = _lapsed(bought, lines, as_of)
    return InsightsView(
        id=standing,
        as_of=as_of,
        currency=currency,
        revenue=[RevenueView(currency=c, **vars(e)) for c, e in sorted(revenue.items())],
        purchase_history=_history(bought, lines),
        lapsed_products=lapsed,
        lapsed_product_lines=lapsed_lines,
        last_order_date=last_order,
        days_since_last_order=days_since,
        rfm=rfm,
        tier=value_tier,
        churn=churn,
    )
