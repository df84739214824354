"""How fresh a golden customer's data is: per source stream that feeds it, as of when
(the finish of the stream's last successful run) and whether it is stale (late for its
source's schedule, or never pulled): the rule is :mod:`crm_core.ledger.freshness`.

The streams that feed a customer: those of its linked source records' systems that load
the entities an answer shows (:data:`OWN`), and, for records that may name another
system's customer (:data:`NAMING`: a service desk's tickets, a marketing tool's
touches), those of every system. ``GET /customers/{id}`` and every other customer
answer carry the list (``freshness``), the summary condenses it per part
(:func:`summary_freshness`) and the customer page shows it per panel.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from crm_core.api.service.lookup import NotFound, resolve
from crm_core.api.service.views import FreshnessView, SummaryFreshness, SummaryPart
from crm_core.ledger.freshness import stream_freshness
from crm_core.store.tables import source_links
from schemas.settings import HubConfig

#: entities a customer's own source records carry, keyed by that system's customer id
OWN = (
    "customers",
    "contacts",
    "orders",
    "order_lines",
    "credit",
    "invoices",
    "payments",
    "concessions",
    "inventory",
    "assets",
)
#: entities whose records may name another system's customer (``customer_source``)
NAMING = ("service_requests", "service_surveys", "campaigns", "campaign_touches")

#: what each customer answer shows, by the entities its streams load
ORDERS = ("orders", "order_lines")
INVENTORY = ("inventory", "orders", "order_lines")
INSIGHTS = ("orders", "order_lines", "service_requests", "service_surveys")
CREDIT = ("credit",)
RECEIVABLES = ("invoices", "payments")
CONCESSIONS = ("concessions",)
ASSETS = ("assets",)
SERVICE = ("service_requests", "service_surveys")
CAMPAIGNS = ("campaigns", "campaign_touches", "orders", "invoices")
#: the whole customer (``GET /customers/{id}``, the customer page)
EVERYTHING = OWN + NAMING
#: the summary's parts and the entity each is made of
SUMMARY_PARTS: dict[SummaryPart, str] = {
    "credit": "credit",
    "receivables": "invoices",
    "orders": "orders",
    "concessions": "concessions",
}


def linked_sources(conn: Connection, golden_id: str) -> list[str]:
    """The systems of the source records linked to golden customer ``golden_id``."""
    stmt = select(source_links.c.source).where(source_links.c.golden_id == golden_id)
    return sorted(set(conn.execute(stmt).scalars()))


def freshness_in(
    conn: Connection,
    config: HubConfig | None,
    golden_id: str,
    entities: Collection[str],
    now: datetime | None = None,
    sources: Collection[str] | None = None,
) -> list[FreshnessView]:
    """The freshness of the streams loading ``entities`` that feed customer ``golden_id``
    (or the one it was merged into), by source and stream. ``config`` None: the streams
    the ledger knows, with no schedule (``stale`` only when never pulled). Empty for an
    unknown customer. ``sources``: the systems of a standing customer's linked records,
    when the caller has read them already."""
    if sources is None:
        try:
            standing = resolve(conn, golden_id)["golden_id"]
        except NotFound:
            return []
        sources = linked_sources(conn, standing)
    own = [e for e in entities if e in OWN]
    naming = [e for e in entities if e not in OWN]
    found = stream_freshness(conn, config, sorted(set(sources)), own, now)
    if naming:
        found += stream_freshness(conn, config, None, naming, now)
    views = {
        (f.source, f.stream): FreshnessView(
            source=f.source,
            stream=f.stream,
            entity=f.entity,
            as_of=f.as_of,
            stale=f.stale,
            schedule=f.schedule,
        )
        for f in found
    }
    return [views[k] for k in sorted(views)]


def customer_freshness(
    store: Engine,
    config: HubConfig | None,
    golden_id: str,
    entities: Collection[str],
    now: datetime | None = None,
) -> list[FreshnessView]:
    """:func:`freshness_in` on a connection of its own."""
    with store.connect() as conn:
        return freshness_in(conn, config, golden_id, entities, now)


def oldest(items: Iterable[FreshnessView]) -> datetime | None:
    """The oldest ``as_of`` of ``items`` that were ever pulled (None: none was)."""
    return min((f.as_of for f in items if f.as_of is not None), default=None)


def summary_freshness(items: Collection[FreshnessView]) -> SummaryFreshness:
    """Per part of the summary, the oldest last success of the streams of its entity,
    and the parts with a stale stream."""
    return SummaryFreshness(
        **{
            part: oldest(f for f in items if f.entity == entity)
            for part, entity in SUMMARY_PARTS.items()
        },
        stale=[
            part
            for part, entity in SUMMARY_PARTS.items()
            if any(f.stale for f in items if f.entity == entity)
        ],
    )
