"""A campaign's ROI as the store sums it in SQL (``crm_core.api.service.campaign_roi``):
totals, by value tier and by segment, on SQLite and PostgreSQL alike, checked against the
attribution rule worked out plainly in Python over every row."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, and_, func, select

from crm_core.api.service.campaign_roi import UNKNOWN_SEGMENT, roi
from crm_core.api.service.segments import Population, population, tier, tier_floors
from crm_core.store.db import create_store_engine
from crm_core.store.sqlfuncs import money_sum
from crm_core.store.tables import RECORD_TABLES, golden_customers, source_links
from crm_core.store.types import ExactDecimal
from schemas.campaign_settings import CampaignSettings
from tests.aftersales_kit import AS_OF, Api, aftersales_world, api_over, world_copy

CAMPAIGNS = RECORD_TABLES["campaigns"]
TOUCHES = RECORD_TABLES["campaign_touches"]
ORDERS = RECORD_TABLES["orders"]
INVOICES = RECORD_TABLES["invoices"]
RULES = [
    CampaignSettings(),
    CampaignSettings(attribution="first_touch", window_days=60),
    CampaignSettings(window_days=7),
]


@dataclass
class Split:
    """Customers, orders and revenue of one tier or segment."""

    customers: set[str] = field(default_factory=set)
    orders: int = 0
    revenue: Decimal = Decimal(0)


@dataclass
class Expected:
    """A campaign's ROI figures worked out row by row."""

    reached: int
    orders: int
    revenue: Decimal
    value: Decimal
    others: dict[str, Decimal]
    by_tier: dict[str, Split]
    by_segment: dict[str, Split]


def _spend(store: Engine, pop: Population) -> dict[str, tuple[str, float]]:
    """Each golden customer's main currency and 12-month order value, summed as the
    ranking of all customers sums it."""
    year_ago = pop.as_of - timedelta(days=365)
    stmt = (
        select(source_links.c.golden_id, ORDERS.c.currency, func.sum(ORDERS.c.total_amount))
        .join(
            source_links,
            and_(
                source_links.c.source == ORDERS.c.source,
                source_links.c.source_key == ORDERS.c.customer_id,
            ),
        )
        .where(ORDERS.c.status != "cancelled")
        .where(ORDERS.c.order_date > year_ago, ORDERS.c.order_date <= pop.as_of)
        .group_by(source_links.c.golden_id, ORDERS.c.currency)
    )
    best: dict[str, tuple[str, float]] = {}
    with store.connect() as conn:
        for golden, currency, total in conn.execute(stmt):
            spend = float(total)
            kept = best.get(golden)
            if kept is None or (-spend, currency) < (-kept[1], kept[0]):
                best[golden] = (currency, spend)
    return best


def expected(
    store: Engine, campaign_id: str, settings: CampaignSettings, pop: Population
) -> Expected:
    """The ROI figures of ``campaign_id`` by the attribution rule, over every row."""
    with store.connect() as conn:
        links = {(r.source, r.source_key): r.golden_id for r in conn.execute(select(source_links))}
        kinds = {r.golden_id: r.kind for r in conn.execute(select(golden_customers))}
        campaign = conn.execute(
            select(CAMPAIGNS).where(CAMPAIGNS.c.campaign_id == campaign_id)
        ).one()
        touches: dict[str, list[Any]] = defaultdict(list)
        for t in conn.execute(select(TOUCHES).where(TOUCHES.c.deleted_at.is_(None))):
            golden = links.get((t.customer_source or t.source, t.customer_id))
            if golden:
                touches[golden].append(t)
        orders = list(conn.execute(select(ORDERS).where(ORDERS.c.status != "cancelled")))
        invoices: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for inv in conn.execute(select(INVOICES).where(INVOICES.c.status != "void")):
            invoices[(inv.source, inv.order_id)].append(inv)
    reached = {g for g, ts in touches.items() if any(t.campaign_id == campaign_id for t in ts)}
    spend = _spend(store, pop)
    out = Expected(len(reached), 0, Decimal(0), Decimal(0), defaultdict(Decimal), {}, {})
    for o in orders:
        golden = links.get((o.source, o.customer_id))
        if golden not in reached:
            continue
        first_day = o.order_date - timedelta(days=settings.window_days)
        inside = sorted(
            (t for t in touches[golden] if first_day <= t.touched_at.date() <= o.order_date),
            key=lambda t: (t.touched_at, t.source, t.campaign_id),
        )
        if not inside:
            continue
        chosen = inside[-1] if settings.attribution == "last_touch" else inside[0]
        if (chosen.source, chosen.campaign_id) != (campaign.source, campaign_id):
            continue
        revenue = Decimal(0)
        for inv in invoices[(o.source, o.order_id)]:
            if inv.currency == campaign.currency:
                revenue += inv.amount
            else:
                out.others[inv.currency] += inv.amount
        out.orders += 1
        out.revenue += revenue
        out.value += o.total_amount if o.currency == campaign.currency else 0
        currency, amount = spend.get(golden, (None, 0.0))
        for key, splits in (
            (tier(pop, currency, amount), out.by_tier),
            (kinds.get(golden) or UNKNOWN_SEGMENT, out.by_segment),
        ):
            split = splits.setdefault(key, Split())
            split.customers.add(golden)
            split.orders += 1
            split.revenue += revenue
    return out


def _splits(rows: list[Any], name: str) -> dict[str, tuple[int, int, Decimal]]:
    return {
        r[name]: (r["customers"], r["attributed_orders"], r["attributed_revenue"]) for r in rows
    }


def check_every_campaign(store: Engine) -> int:
    """Compare the store's ROI of every campaign, under each rule, with :func:`expected`;
    how many (campaign, rule) pairs had attributed orders."""
    pop = population(store, AS_OF)
    with store.connect() as conn:
        ids = sorted(conn.execute(select(CAMPAIGNS.c.campaign_id)).scalars())
    attributed = 0
    for settings in RULES:
        for campaign_id in ids:
            got = roi(store, campaign_id, settings, population=pop).model_dump()
            want = expected(store, campaign_id, settings, pop)
            where = f"{campaign_id} {settings}"
            assert got["customers_reached"] == want.reached, where
            assert got["attributed_orders"] == want.orders, where
            assert got["attributed_revenue"] == want.revenue, where
            assert got["attributed_order_value"] == want.value, where
            assert got["other_currencies"] == dict(want.others), where
            for name, splits in (("tier", want.by_tier), ("segment", want.by_segment)):
                plain = {k: (len(s.customers), s.orders, s.revenue) for k, s in splits.items()}
                assert _splits(got[f"by_{name}"], name) == plain, (where, name)
            attributed += want.orders > 0
    return attributed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Api]]:
    root = Path(tmp_path_factory.getbasetemp())
    target = tmp_path_factory.mktemp("campaign-roi") / "world"
    config, store = world_copy(root, target)
    with api_over(config, store) as api:
        yield target, api
    store.dispose()


def test_campaign_roi_by_tier_and_segment_summed_in_sqlite_match_a_plain_count(
    world: tuple[Path, Api],
) -> None:
    _workdir, api = world
    assert check_every_campaign(api.store) >= 5


@pytest.mark.postgres
@pytest.mark.slow
def test_campaign_roi_by_tier_and_segment_summed_in_postgres_match_a_plain_count(
    tmp_path: Path, pg_url: str
) -> None:
    _config, store = aftersales_world(tmp_path / "world", store_url=pg_url)
    try:
        assert check_every_campaign(store) >= 5
    finally:
        store.dispose()


def test_campaign_roi_answer_has_segments_for_finance(world: tuple[Path, Api]) -> None:
    _workdir, api = world
    with api.store.connect() as conn:
        kinds = set(conn.execute(select(golden_customers.c.kind)).scalars())
    seen: set[str] = set()
    for campaign in api.get("/campaigns", limit=200)["items"]:
        body = api.get(f"/campaigns/{campaign['campaign_id']}/roi", role="finance", as_of=AS_OF)
        segments = body["by_segment"]
        assert sum(s["attributed_orders"] for s in segments) == body["attributed_orders"]
        assert sum(t["attributed_orders"] for t in body["by_tier"]) == body["attributed_orders"]
        revenue = sum(Decimal(s["attributed_revenue"]) for s in segments)
        assert revenue == Decimal(body["attributed_revenue"])
        seen |= {s["segment"] for s in segments}
    assert seen and seen <= {k or UNKNOWN_SEGMENT for k in kinds}


def test_campaign_tier_floors_give_the_tier_of_every_revenue() -> None:
    rng = random.Random(7)
    values = sorted(round(rng.lognormvariate(8, 1.5), 2) for _ in range(500))
    values += [values[100]] * 3  # equal revenues at a boundary
    values.sort()
    running = [sum(values[: i + 1]) for i in range(len(values))]
    pop = Population(date(2026, 1, 1), [], [], {"CNY": values}, {"CNY": running})
    a_floor, b_floor = tier_floors(pop)["CNY"]
    probes = values + [v + 0.001 for v in values] + [v - 0.001 for v in values] + [0.5, 1e9]
    for revenue in probes:
        by_floor = "A" if revenue >= a_floor else "B" if revenue >= b_floor else "C"
        assert tier(pop, "CNY", revenue) == by_floor, revenue
    assert tier(pop, "CNY", 0.0) == "D" and tier(pop, "USD", 10.0) == "D"


def test_campaign_revenue_sums_money_exactly_on_sqlite(tmp_path: Path) -> None:
    store = create_store_engine(f"sqlite:///{tmp_path / 'money.db'}")
    money = Table("money", MetaData(), Column("amount", ExactDecimal()))
    money.create(store)
    with store.begin() as conn:
        conn.execute(money.insert(), [{"amount": Decimal("0.1")}] * 10)
        conn.execute(money.insert(), [{"amount": Decimal("12345678901234.5678")}, {"amount": None}])
        total = conn.execute(select(money_sum(money.c.amount))).scalar_one()
        plain = conn.execute(select(func.sum(money.c.amount))).scalar_one()
        none = conn.execute(select(money_sum(money.c.amount)).where(money.c.amount < 0)).scalar()
    store.dispose()
    assert total == Decimal("12345678901235.5678")
    assert Decimal(str(plain)) != total  # what SQLite's own SUM makes of money kept as text
    assert none is None
