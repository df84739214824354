"""Campaigns, the customers they reached, and the revenue attributed to them.

Attribution follows ``campaigns:`` in ``crm-hub.yaml`` (:mod:`schemas.campaign_settings`):
each order of a golden customer (cancelled ones left out) goes to at most one campaign,
the one of the last (or first) touch of that customer on one of the ``window_days`` days
up to the order date (the touch's UTC date; the order's day included). An attributed
order's revenue is what its own source invoiced for it (void invoices left out); its
order value is its total. ROI is ``(attributed revenue - cost) / cost`` in the campaign's
currency; revenue in other currencies is listed beside it, never converted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from crm_core.api.service.aftersales_views import CampaignView, CustomerCampaignView
from crm_core.api.service.lookup import NotFound, resolve
from crm_core.api.service.views import Page
from crm_core.golden.attached import golden_of
from crm_core.store.tables import RECORD_TABLES, source_links
from schemas.campaign_settings import CampaignSettings

campaigns_table = RECORD_TABLES["campaigns"]
touches_table = RECORD_TABLES["campaign_touches"]
orders_table = RECORD_TABLES["orders"]
invoices_table = RECORD_TABLES["invoices"]
ZERO = Decimal(0)
CHUNK = 500


@dataclass(frozen=True)
class Touch:
    """A campaign touch of a golden customer."""

    golden_id: str
    source: str
    campaign_id: str
    touched_at: datetime
    response: str | None


@dataclass
class Attributed:
    """An order attributed to a campaign, with what was invoiced for it."""

    golden_id: str
    source: str
    order_id: str
    order_date: date
    currency: str
    total: Decimal
    invoiced: dict[str, Decimal]
    touch: Touch


def campaign_row(conn: Connection, campaign_id: str) -> dict[str, Any]:
    """The campaign ``campaign_id`` (of the first source that has it); NotFound if none."""
    c = campaigns_table
    rows = conn.execute(
        select(c).where(c.c.campaign_id == campaign_id, c.c.deleted_at.is_(None))
    ).all()
    if not rows:
        raise NotFound(f"no campaign {campaign_id}")
    return dict(sorted(rows, key=lambda r: r.source)[0]._mapping)


def _touches(conn: Connection, goldens: Iterable[str]) -> dict[str, list[Touch]]:
    """Every touch of the golden customers ``goldens``, per golden id, oldest first."""
    t = touches_table
    wanted = sorted(set(goldens))
    out: dict[str, list[Touch]] = defaultdict(list)
    for i in range(0, len(wanted), CHUNK):
        stmt = golden_of(t, t.c.source, t.c.campaign_id, t.c.touched_at, t.c.response).where(
            source_links.c.golden_id.in_(wanted[i : i + CHUNK])
        )
        for row in conn.execute(stmt):
            out[row.golden_id].append(
                Touch(row.golden_id, row.source, row.campaign_id, row.touched_at, row.response)
            )
    for touches in out.values():
        touches.sort(key=lambda x: (x.touched_at, x.source, x.campaign_id))
    return out


def _orders(conn: Connection, goldens: Iterable[str]) -> list[dict[str, Any]]:
    o = orders_table
    wanted = sorted(set(goldens))
    rows: list[dict[str, Any]] = []
    for i in range(0, len(wanted), CHUNK):
        stmt = (
            select(
                source_links.c.golden_id,
                o.c.source,
                o.c.order_id,
                o.c.order_date,
                o.c.currency,
                o.c.total_amount,
            )
            .join(
                source_links,
                and_(
                    source_links.c.source == o.c.source,
                    source_links.c.source_key == o.c.customer_id,
                ),
            )
            .where(source_links.c.golden_id.in_(wanted[i : i + CHUNK]))
            .where(o.c.status != "cancelled")
        )
        rows += [dict(r._mapping) for r in conn.execute(stmt)]
    return rows


def _invoiced(conn: Connection, orders: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Invoiced amounts per (source, order id) and currency (void invoices left out)."""
    inv = invoices_table
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, order_id in orders:
        by_source[source].append(order_id)
    out: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for source, ids in by_source.items():
        for i in range(0, len(ids), CHUNK):
            stmt = select(inv.c.order_id, inv.c.currency, inv.c.amount).where(
                inv.c.source == source,
                inv.c.order_id.in_(ids[i : i + CHUNK]),
                inv.c.status != "void",
            )
            for order_id, currency, amount in conn.execute(stmt):
                out[(source, order_id)][currency] += amount
    return out


def choose_touch(
    touches: list[Touch], order_date: date, settings: CampaignSettings
) -> Touch | None:
    """The touch an order on ``order_date`` is attributed to, by the settings' rule, or
    None when no touch falls in the window (``touches`` oldest first)."""
    first_day = order_date - timedelta(days=settings.window_days)
    inside = [t for t in touches if first_day <= t.touched_at.date() <= order_date]
    if not inside:
        return None
    return inside[-1] if settings.attribution == "last_touch" else inside[0]


def attribute(
    conn: Connection, goldens: Iterable[str], settings: CampaignSettings
) -> tuple[list[Attributed], list[dict[str, Any]]]:
    """The orders of ``goldens`` attributed to some campaign, with their invoiced revenue;
    and every order of those customers (cancelled ones left out)."""
    touches = _touches(conn, goldens)
    chosen: list[tuple[dict[str, Any], Touch]] = []
    orders = _orders(conn, touches)
    for order in orders:
        touch = choose_touch(touches[order["golden_id"]], order["order_date"], settings)
        if touch is not None:
            chosen.append((order, touch))
    invoiced = _invoiced(conn, [(o["source"], o["order_id"]) for o, _ in chosen])
    attributed = [
        Attributed(
            golden_id=o["golden_id"],
            source=o["source"],
            order_id=o["order_id"],
            order_date=o["order_date"],
            currency=o["currency"],
            total=o["total_amount"],
            invoiced=dict(invoiced.get((o["source"], o["order_id"]), {})),
            touch=t,
        )
        for o, t in chosen
    ]
    return attributed, orders


def _reached(conn: Connection, campaign_id: str) -> set[str]:
    t = touches_table
    stmt = golden_of(t, t.c.touch_id).where(t.c.campaign_id == campaign_id)
    return {row.golden_id for row in conn.execute(stmt)}


def list_campaigns(store: Engine, *, limit: int = 50, offset: int = 0) -> Page[CampaignView]:
    """Campaigns, newest start first, with their touches and the customers they reached."""
    c, t = campaigns_table, touches_table
    counts = (
        select(
            t.c.source,
            t.c.campaign_id,
            func.count().label("touches"),
            func.count(t.c.customer_id).label("customers"),
        )
        .where(t.c.deleted_at.is_(None))
        .group_by(t.c.source, t.c.campaign_id)
        .subquery()
    )
    base = select(c).where(c.c.deleted_at.is_(None))
    stmt = (
        select(c, counts.c.touches, counts.c.customers)
        .outerjoin(
            counts, and_(counts.c.source == c.c.source, counts.c.campaign_id == c.c.campaign_id)
        )
        .where(c.c.deleted_at.is_(None))
        .order_by(c.c.starts_on.desc(), c.c.source, c.c.campaign_id)
        .limit(limit)
        .offset(offset)
    )
    with store.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar() or 0
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    items = [
        CampaignView(
            source=r["source"],
            campaign_id=r["campaign_id"],
            name=r["name"],
            channel=r["channel"],
            starts_on=r["starts_on"],
            ends_on=r["ends_on"],
            cost=r["cost"],
            currency=r["currency"],
            touches=int(r["touches"] or 0),
            customers_reached=int(r["customers"] or 0),
        )
        for r in rows
    ]
    return Page[CampaignView](items=items, total=int(total), limit=limit, offset=offset)


def campaigns_of(
    store: Engine, golden_id: str, settings: CampaignSettings
) -> list[CustomerCampaignView]:
    """The campaigns that touched the customer (newest touch first), each with the orders
    and revenue attributed to it for this customer."""
    c = campaigns_table
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        touches = _touches(conn, [standing]).get(standing, [])
        attributed, _ = attribute(conn, [standing], settings)
        keys = sorted({(t.source, t.campaign_id) for t in touches})
        names = {
            (r.source, r.campaign_id): r
            for r in conn.execute(
                select(c.c.source, c.c.campaign_id, c.c.name, c.c.channel).where(
                    c.c.campaign_id.in_([k for _, k in keys])
                )
            )
        }
    credited: dict[tuple[str, str], list[Attributed]] = defaultdict(list)
    for a in attributed:
        credited[(a.touch.source, a.touch.campaign_id)].append(a)
    latest: dict[tuple[str, str], Touch] = {}
    for t in touches:
        latest[(t.source, t.campaign_id)] = t
    out = []
    for key, touch in sorted(latest.items(), key=lambda kv: kv[1].touched_at, reverse=True):
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        for a in credited.get(key, []):
            for cur, amount in a.invoiced.items():
                revenue[cur] += amount
        name = names.get(key)
        out.append(
            CustomerCampaignView(
                source=key[0],
                campaign_id=key[1],
                name=name.name if name is not None else key[1],
                channel=name.channel if name is not None else None,
                touched_at=touch.touched_at,
                response=touch.response,
                attributed_orders=len(credited.get(key, [])),
                attributed_revenue=dict(sorted(revenue.items())),
            )
        )
    return out
