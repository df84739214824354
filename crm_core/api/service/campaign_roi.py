"""A campaign's return on investment, aggregated by the store in SQL.

The attribution rule is :mod:`crm_core.api.service.campaigns`' (``campaigns:`` in
``crm-hub.yaml``), as one query: each order (not cancelled) of a customer the campaign
reached is joined to that customer's touches (of any campaign) on the ``window_days`` days up
to the order date, and ``ROW_NUMBER`` picks the last (or first) touch, ties broken by
source and campaign id. The orders whose touch is the campaign's, their invoices (not
void) and their customers are then summed by ``GROUP BY``: in total, per other currency,
per value tier (from the ranking of all customers, :mod:`.segments`) and per segment.

A customer's **segment** is the golden record's ``kind`` (``company`` or ``person``): the
canonical field each back office's customer class maps to (the legacy ERP's ``CTYPE``, the
modern ERP's ``is_company``, the REST ERP's ``type``); ``unknown`` when no source says.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    Connection,
    Engine,
    Float,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
)

from crm_core.api.service.aftersales_views import CampaignRoiView, SegmentRoi, TierRoi
from crm_core.api.service.campaigns import campaign_row, invoices_table, orders_table
from crm_core.api.service.campaigns import touches_table as touches
from crm_core.api.service.segments import Population, tier_floors
from crm_core.golden.attached import golden_of
from crm_core.store.sqlfuncs import days_before, money_sum, utc_day
from crm_core.store.tables import golden_customers, source_links
from schemas.campaign_settings import CampaignSettings

ZERO = Decimal(0)
#: the segment of a golden customer whose records say neither company nor person
UNKNOWN_SEGMENT = "unknown"


class RoiQuery:
    """The common table expressions of one campaign's attribution."""

    def __init__(self, campaign: dict[str, Any], settings: CampaignSettings) -> None:
        self.currency: str = campaign["currency"]
        t, o, sl = touches, orders_table, source_links
        self.reached = (
            golden_of(t, t.c.campaign_id)
            .with_only_columns(sl.c.golden_id)
            .where(t.c.campaign_id == campaign["campaign_id"])
            .distinct()
            .cte("reached")
        )
        of_reached = sl.c.golden_id.in_(select(self.reached.c.golden_id))
        touch = (
            golden_of(t, t.c.source, t.c.campaign_id, t.c.touched_at)
            .add_columns(utc_day(t.c.touched_at).label("day"))
            .where(of_reached)
            .cte("touch")
        )
        order = (
            select(sl.c.golden_id, o.c.source, o.c.order_id, o.c.order_date)
            .add_columns(o.c.currency, o.c.total_amount)
            .join(sl, and_(sl.c.source == o.c.source, sl.c.source_key == o.c.customer_id))
            .where(of_reached, o.c.status != "cancelled")
            .cte("ord")
        )
        self.orders = order
        keys: list[Any] = [touch.c.touched_at, touch.c.source, touch.c.campaign_id]
        if settings.attribution == "last_touch":
            keys = [k.desc() for k in keys]
        by_order = [order.c.source, order.c.order_id]
        rank = func.row_number().over(partition_by=by_order, order_by=keys)
        ranked = (
            select(order, touch.c.source.label("touch_source"), touch.c.campaign_id.label("hit"))
            .add_columns(rank.label("rank"))
            .join(
                touch,
                and_(
                    touch.c.golden_id == order.c.golden_id,
                    touch.c.day >= days_before(order.c.order_date, settings.window_days),
                    touch.c.day <= order.c.order_date,
                ),
            )
            .cte("ranked")
        )
        mine = (
            select(ranked.c.golden_id, ranked.c.source, ranked.c.order_id)
            .add_columns(ranked.c.currency, ranked.c.total_amount)
            .where(
                ranked.c.rank == 1,
                ranked.c.hit == campaign["campaign_id"],
                ranked.c.touch_source == campaign["source"],
            )
            .cte("mine")
        )
        self.mine = mine
        inv = invoices_table
        self.paid = (
            select(mine.c.source, mine.c.order_id, inv.c.currency)
            .add_columns(money_sum(inv.c.amount).label("amount"))
            .join(inv, and_(inv.c.source == mine.c.source, inv.c.order_id == mine.c.order_id))
            .where(inv.c.status != "void")
            .group_by(mine.c.source, mine.c.order_id, inv.c.currency)
            .cte("paid")
        )
        paid = self.paid
        self.line = (
            select(mine, paid.c.amount.label("revenue"))
            .outerjoin(
                paid,
                and_(
                    paid.c.source == mine.c.source,
                    paid.c.order_id == mine.c.order_id,
                    paid.c.currency == self.currency,
                ),
            )
            .cte("line")
        )

    def totals(self) -> Any:
        """Attributed orders, their order value and revenue (the campaign's currency)."""
        line = self.line
        value = case((line.c.currency == self.currency, line.c.total_amount), else_=None)
        return select(func.count(), money_sum(value), money_sum(line.c.revenue))

    def other_currencies(self) -> Any:
        """Invoiced revenue of the attributed orders in other currencies."""
        paid = self.paid
        return (
            select(paid.c.currency, money_sum(paid.c.amount))
            .where(paid.c.currency != self.currency)
            .group_by(paid.c.currency)
            .order_by(paid.c.currency)
        )

    def by_segment(self) -> Any:
        """Customers, attributed orders and revenue per segment (golden ``kind``)."""
        line, gc = self.line, golden_customers
        segment = func.coalesce(gc.c.kind, literal(UNKNOWN_SEGMENT)).label("segment")
        return (
            select(segment, func.count(distinct(line.c.golden_id)), func.count())
            .add_columns(money_sum(line.c.revenue))
            .select_from(line.outerjoin(gc, gc.c.golden_id == line.c.golden_id))
            .group_by(segment)
            .order_by(segment)
        )

    def by_tier(self, pop: Population) -> Any:
        """Customers, attributed orders and revenue per value tier, each customer ranked
        by its 12-month order value (main currency) among ``pop``."""
        order, line = self.orders, self.line
        year_ago = pop.as_of - timedelta(days=365)
        # a float sum, as the ranking's (segments.population), so both compare alike
        spend = cast(func.sum(order.c.total_amount), Float)
        per_currency = (
            select(order.c.golden_id, order.c.currency, spend.label("spend"))
            .where(order.c.order_date > year_ago, order.c.order_date <= pop.as_of)
            .where(order.c.golden_id.in_(select(self.mine.c.golden_id)))
            .group_by(order.c.golden_id, order.c.currency)
            .cte("spend")
        )
        first = func.row_number().over(
            partition_by=per_currency.c.golden_id,
            order_by=[per_currency.c.spend.desc(), per_currency.c.currency],
        )
        main = select(per_currency, first.label("n")).cte("main")
        tier = _tier_case(main.c.currency, main.c.spend, tier_floors(pop)).label("tier")
        tiered = (
            select(line.c.golden_id, line.c.revenue, tier)
            .select_from(
                line.outerjoin(main, and_(main.c.golden_id == line.c.golden_id, main.c.n == 1))
            )
            .cte("tiered")
        )
        return (
            select(tiered.c.tier, func.count(distinct(tiered.c.golden_id)), func.count())
            .add_columns(money_sum(tiered.c.revenue))
            .group_by(tiered.c.tier)
            .order_by(tiered.c.tier)
        )


def _tier_case(currency: Any, spend: Any, floors: dict[str, tuple[float, float]]) -> Any:
    """``CASE`` giving :func:`.segments.tier` of a main currency and 12-month spend."""
    whens: list[tuple[Any, str]] = [(or_(spend.is_(None), spend <= 0), "D")]
    for code, (a_floor, b_floor) in sorted(floors.items()):
        whens += [
            (and_(currency == code, spend >= a_floor), "A"),
            (and_(currency == code, spend >= b_floor), "B"),
            (currency == code, "C"),
        ]
    return case(*whens, else_="D")


def _reached(conn: Connection, reached: CTE) -> int:
    return int(conn.execute(select(func.count()).select_from(reached)).scalar() or 0)


def roi(
    store: Engine,
    campaign_id: str,
    settings: CampaignSettings,
    *,
    population: Population | None = None,
) -> CampaignRoiView:
    """Cost, attributed orders and revenue, and ROI of one campaign; ``by_segment`` splits
    them by the customers' segment, ``by_tier`` by their value tier (from ``population``,
    empty without one)."""
    with store.connect() as conn:
        campaign = campaign_row(conn, campaign_id)
        query = RoiQuery(campaign, settings)
        reached = _reached(conn, query.reached)
        orders, value, revenue = conn.execute(query.totals()).one()
        others = {cur: amount for cur, amount in conn.execute(query.other_currencies())}
        segments = [
            SegmentRoi(segment=s, customers=c, attributed_orders=n, attributed_revenue=r or ZERO)
            for s, c, n, r in conn.execute(query.by_segment())
        ]
        tiers = (
            [
                TierRoi(tier=t, customers=c, attributed_orders=n, attributed_revenue=r or ZERO)
                for t, c, n, r in conn.execute(query.by_tier(population))
            ]
            if population is not None
            else []
        )
    cost = campaign["cost"] or ZERO
    revenue = revenue or ZERO
    return CampaignRoiView(
        source=campaign["source"],
        campaign_id=campaign_id,
        name=campaign["name"],
        currency=query.currency,
        cost=cost,
        attribution=settings.attribution,
        window_days=settings.window_days,
        customers_reached=reached,
        attributed_orders=int(orders or 0),
        attributed_order_value=value or ZERO,
        attributed_revenue=revenue,
        other_currencies=others,
        roi=((revenue - cost) / cost).quantize(Decimal("0.0001")) if cost else None,
        by_tier=tiers,
        by_segment=segments,
    )
