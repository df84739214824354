"""Screen pop: the golden customers a phone number leads to, through the phone index
(``golden_phones``, see :mod:`crm_core.golden.phone_index`), and their cards.

A number comes as a phone system sends it (``+8613812345678``, ``138-1234-5678``,
``0086 138 1234 5678``, with a trunk prefix or an extension); it is read as the index's
numbers are (:func:`crm_core.identity.phones.lookup_keys`). Customers whose number has
the same E.164 form come first; only when there are none, those with the same national
significant number (a number sent in its national form from another country).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import Field
from sqlalchemy import Connection, Engine, select

from crm_core.api.service.orders import last_orders
from crm_core.api.service.pushback import pending_changes_in
from crm_core.api.service.segments import Population
from crm_core.api.service.summary import summary_in
from crm_core.api.service.views import OrderView, SummaryView, View
from crm_core.identity.phones import lookup_keys
from crm_core.store.tables import golden_customers, golden_phones
from schemas.settings import HubConfig

#: A number leads to at most this many customers.
MAX_MATCHES = 20
#: A card shows this many of the newest orders.
CARD_ORDERS = 5


class IssueView(View):
    """Something open about the customer: a change not delivered yet (pending, in
    conflict with the back office, or failed)."""

    change_id: str
    entity: str
    state: str
    fields: list[str]
    who: str
    created_at: datetime
    last_error: str | None = None


class PhoneCard(View):
    """A customer the phone number leads to: who, the summary, the last orders and what
    is open."""

    id: str = Field(description="The golden id.")
    name: str
    phone: str | None = None
    city: str | None = None
    summary: SummaryView
    last_orders: list[OrderView] = Field(description="The newest orders, at most 5.")
    open_issues: list[IssueView]


class PhoneCards(View):
    """The customers a phone number leads to (none: no customer has it)."""

    number: str = Field(description="The number as asked.")
    e164: str | None = Field(None, description="It in E.164, when it is a phone number.")
    items: list[PhoneCard]


def find_by_phone(store: Engine, number: str, region: str) -> tuple[str | None, list[str]]:
    """The number in E.164 (None: no phone number) and the golden ids (standing ones,
    by id) it leads to."""
    e164, found = matches(store, number, region)
    return e164, [m.golden_id for m in found]


@dataclass(frozen=True)
class Match:
    """A golden customer a number leads to, as the card heads it."""

    golden_id: str
    name: str
    phone: str | None
    city: str | None


def matches(store: Engine, number: str, region: str) -> tuple[str | None, list[Match]]:
    """The number in E.164 (None: no phone number) and the standing golden customers it
    leads to, by id: those with the same E.164 form, else the same national number."""
    with store.connect() as conn:
        return matches_in(conn, number, region)


def matches_in(conn: Connection, number: str, region: str) -> tuple[str | None, list[Match]]:
    """:func:`matches` read on ``conn`` (one query)."""
    keys = lookup_keys(number, region)
    if not keys:
        return None, []
    g = golden_customers
    stmt = (
        select(golden_phones.c.phone_key, g.c.golden_id, g.c.name, g.c.phone, g.c.city)
        .join(g, g.c.golden_id == golden_phones.c.golden_id)
        .where(golden_phones.c.phone_key.in_(keys), g.c.merged_into.is_(None))
        .order_by(g.c.golden_id)
    )
    rows = conn.execute(stmt.limit(2 * MAX_MATCHES)).all()
    exact = [Match(*r[1:]) for r in rows if r[0] == keys[0]]
    national = [Match(*r[1:]) for r in rows if r[0] != keys[0]]
    return keys[0], list(dict.fromkeys(exact or national))[:MAX_MATCHES]


def open_issues(conn: Connection, golden_id: str) -> list[IssueView]:
    """The customer's changes not delivered yet, newest first (at most 10)."""
    return [
        IssueView(
            change_id=c.change_id,
            entity=c.entity,
            state=c.state,
            fields=sorted(c.changes),
            who=c.who,
            created_at=c.created_at,
            last_error=c.last_error,
        )
        for c in pending_changes_in(conn, golden_id, limit=10)
    ]


def card(
    conn: Connection,
    match: Match,
    *,
    as_of: date,
    pop: Population,
    figures: bool,
    config: HubConfig | None = None,
) -> PhoneCard:
    """The card of a customer a number leads to, read on ``conn``: its summary
    (:func:`crm_core.api.service.summary.summary_in`), its newest orders and what is
    open, in seven queries (up to three more for its concessions' and open changes' states)."""
    return PhoneCard(
        id=match.golden_id,
        name=match.name,
        phone=match.phone,
        city=match.city,
        summary=summary_in(
            conn, match.golden_id, as_of=as_of, pop=pop, figures=figures, config=config
        ),
        last_orders=last_orders(conn, match.golden_id, CARD_ORDERS),
        open_issues=open_issues(conn, match.golden_id),
    )
