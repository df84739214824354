"""Where a customer stands among all customers: RFM quintiles and the A/B/C/D value tier.

Scores are relative, so they need every customer's recency, frequency and 12-month
revenue: one aggregate over all orders (:func:`population`), seconds at a million
customers. It is cached per store and day (:class:`PopulationCache`), since a customer
page should not pay for a scan of every order: only the first call of a day computes it
while the caller waits; once it is ``ttl`` old, calls go on getting it while a
background thread computes the next one.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from sqlalchemy import Engine, and_, case, func, literal, select

from crm_core.api.service.purchases import CANCELLED, orders
from crm_core.api.service.views import Tier
from crm_core.store.tables import source_links

log = logging.getLogger("crm_core.api")

#: Tier A: the customers making the first 80% of 12-month revenue; B: the next 15%.
TIER_A, TIER_B = 0.80, 0.95
#: Days without an order after which a customer of each tier counts as churned.
CHURN_DAYS: dict[Tier, int] = {"A": 60, "B": 90, "C": 180, "D": 365}


@dataclass(frozen=True)
class Population:
    """Every customer's standing as of one day, sorted for ranking."""

    as_of: date
    #: minus the days since the last order, of each customer with orders (higher: better)
    recency: list[int]
    #: orders in the last 12 months, of each customer with orders
    frequency: list[int]
    #: per currency, 12-month revenue of each customer with some (ascending)
    monetary: dict[str, list[float]]
    #: per currency, running sums of ``monetary``
    cumulative: dict[str, list[float]]


def quintile(values: list[float] | list[int], x: float) -> int:
    """1 to 5: which fifth of ``values`` (sorted) ``x`` falls in, 5 being the highest."""
    if not values:
        return 1
    return min(5, 1 + (5 * bisect_left(values, x)) // len(values))


def tier(pop: Population, currency: str | None, revenue_12m: float) -> Tier:
    """A, B or C by the share of 12-month revenue that bigger customers make; D without
    revenue."""
    values = pop.monetary.get(currency or "", [])
    if revenue_12m <= 0 or not values:
        return "D"
    running = pop.cumulative[currency or ""]
    at_most = bisect_right(values, revenue_12m)
    total = running[-1]
    bigger = total - (running[at_most - 1] if at_most else 0.0)
    share = bigger / total if total else 0.0
    return "A" if share < TIER_A else "B" if share < TIER_B else "C"


def _share_above(running: list[float], k: int) -> float:
    """The share of revenue that customers above the ``k`` smallest make (as :func:`tier`)."""
    total = running[-1]
    bigger = total - (running[k - 1] if k else 0.0)
    return bigger / total if total else 0.0


def _floor(values: list[float], running: list[float], limit: float) -> float:
    """The least value whose customers' share above it is under ``limit``."""
    low, high = 1, len(values)  # the share is under any limit at k = len(values)
    while low < high:
        mid = (low + high) // 2
        if _share_above(running, mid) < limit:
            high = mid
        else:
            low = mid + 1
    return values[low - 1]


def tier_floors(pop: Population) -> dict[str, tuple[float, float]]:
    """Per currency, the least 12-month revenue of tier A and of tier B: :func:`tier` as
    two thresholds, for a ``CASE`` in SQL (more than 0 and under both: C)."""
    return {
        currency: (
            _floor(values, pop.cumulative[currency], TIER_A),
            _floor(values, pop.cumulative[currency], TIER_B),
        )
        for currency, values in pop.monetary.items()
        if values
    }


def population(store: Engine, as_of: date) -> Population:
    """Recency, frequency and 12-month revenue of every golden customer as of ``as_of``."""
    year_ago = as_of - timedelta(days=365)
    recent = orders.c.order_date > year_ago
    stmt = (
        select(
            source_links.c.golden_id,
            orders.c.currency,
            func.max(orders.c.order_date),
            func.sum(case((recent, literal(1)), else_=literal(0))),
            # a float sum is fine for ranking (SQLite sums text as REAL anyway)
            func.sum(case((recent, orders.c.total_amount), else_=None)),
        )
        .join(
            source_links,
            and_(
                source_links.c.source == orders.c.source,
                source_links.c.source_key == orders.c.customer_id,
            ),
        )
        .where(orders.c.status != CANCELLED, orders.c.order_date <= as_of)
        .group_by(source_links.c.golden_id, orders.c.currency)
    )
    last: dict[str, date] = {}
    count: dict[str, int] = {}
    money: dict[str, list[float]] = {}
    with store.connect() as conn:
        for golden_id, currency, last_date, recent_orders, revenue in conn.execute(stmt):
            if golden_id not in last or last_date > last[golden_id]:
                last[golden_id] = last_date
            count[golden_id] = count.get(golden_id, 0) + int(recent_orders or 0)
            if revenue and float(revenue) > 0:
                money.setdefault(currency, []).append(float(revenue))
    for values in money.values():
        values.sort()
    return Population(
        as_of=as_of,
        recency=sorted(-(as_of - d).days for d in last.values()),
        frequency=sorted(count.values()),
        monetary=money,
        cumulative={c: list(accumulate(v)) for c, v in money.items()},
    )


class PopulationCache:
    """:func:`population` per store and day, computed again in the background once it is
    older than ``ttl`` seconds (the kept one is served meanwhile)."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._first = threading.Lock()
        self._kept: dict[tuple[int, date], tuple[float, Population]] = {}
        self._renewing: set[tuple[int, date]] = set()

    def get(self, store: Engine, as_of: date) -> Population:
        """The kept population; the first call of a store and day computes it."""
        key = (id(store), as_of)
        with self._lock:
            kept = self._kept.get(key)
            if kept:
                if time.monotonic() - kept[0] >= self.ttl and key not in self._renewing:
                    self._renewing.add(key)
                    threading.Thread(
                        target=self._renew, args=(store, as_of), name="crm-hub-rfm", daemon=True
                    ).start()
                return kept[1]
        with self._first:  # one caller computes it, the others wait for that one
            with self._lock:
                kept = self._kept.get(key)
            if kept:
                return kept[1]
            return self._compute(store, as_of)

    def _compute(self, store: Engine, as_of: date) -> Population:
        pop = population(store, as_of)
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if k[1] == as_of}
            self._kept[(id(store), as_of)] = (time.monotonic(), pop)
        return pop

    def _renew(self, store: Engine, as_of: date) -> None:
        try:
            self._compute(store, as_of)
        except Exception as exc:  # noqa: BLE001 - the kept one stays; the next call retries
            log.warning("ranking customers failed: %s: %s", type(exc).__name__, exc)
        finally:
            with self._lock:
                self._renewing.discard((id(store), as_of))
