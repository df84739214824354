"""A customer's side of push-back as the API and the page show it: its concessions (the
CRM's own record until finance's arrives, with the push state of its change) and its
changes not yet delivered."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, Engine, and_, func, or_, select, tuple_

from crm_core.api.service.views import View
from crm_core.pushback.submit import ChangeView, load_changes
from crm_core.store.tables import RECORD_TABLES, outbox, source_links
from schemas.pushback import UNFINISHED_CHANGES

#: outbox states of a change that has not reached its targets (yet)


class ConcessionOut(View):
    """A concession as the CRM recorded it and as finance has it on its books."""

    concession_id: str
    source: str
    customer_id: str
    order_id: str | None = None
    kind: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    currency: str | None = None
    reason: str
    approver: str
    valid_from: date
    valid_to: date | None = None
    status: str
    push_state: str | None = Field(default=None, description="its change's outbox state")


def concessions(store: Engine, golden_id: str) -> list[ConcessionOut]:
    """A golden customer's concessions, newest first, one row per concession: the finance
    system's row once it has it, the CRM's record before; each with its change's state."""
    with store.connect() as conn:
        return concessions_in(conn, golden_id)


def concessions_in(
    conn: Connection, golden_id: str, keys: set[tuple[str, str]] | None = None
) -> list[ConcessionOut]:
    """:func:`concessions` read on ``conn``; ``keys``: the customer's source records
    (source, key), when the caller has them already."""
    table = RECORD_TABLES["concessions"]
    if keys is None:
        links = select(source_links.c.source, source_links.c.source_key).where(
            source_links.c.golden_id == golden_id
        )
        keys = {(s, k) for s, k in conn.execute(links)}
    mine = and_(table.c.source == "crm", table.c.customer_id == golden_id)
    theirs = [tuple_(table.c.source, table.c.customer_id).in_(sorted(keys))] if keys else []
    rows = [dict(r) for r in conn.execute(select(table).where(or_(mine, *theirs))).mappings()]
    states: dict[str, str] = {}
    if rows:  # no concession, no change of one to look for
        states = dict(
            conn.execute(
                select(outbox.c.record_key, outbox.c.state).where(
                    outbox.c.entity == "concessions", outbox.c.golden_id == golden_id
                )
            ).all()
        )
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        mine = row["source"] == "crm" and row["customer_id"] == golden_id
        if not mine and (row["source"], row["customer_id"]) not in keys:
            continue
        if row["concession_id"] not in best or best[row["concession_id"]]["source"] == "crm":
            best[row["concession_id"]] = row
    return [
        ConcessionOut(
            **{k: v for k, v in r.items() if k in ConcessionOut.model_fields},
            push_state=states.get(cid),
        )
        for cid, r in sorted(best.items(), key=lambda kv: kv[1]["valid_from"], reverse=True)
    ]


def pending_changes(store: Engine, golden_id: str, limit: int = 50) -> list[ChangeView]:
    """A customer's changes not delivered: pending, in conflict or failed, newest first."""
    with store.connect() as conn:
        return pending_changes_in(conn, golden_id, limit)


def pending_changes_in(conn: Connection, golden_id: str, limit: int = 50) -> list[ChangeView]:
    """:func:`pending_changes` read on ``conn``: the newest ``limit`` of each unfinished
    state in one query (their deliveries in two more, when there are any)."""
    newest = (
        func.row_number()
        .over(partition_by=outbox.c.state, order_by=outbox.c.id.desc())
        .label("newest")
    )
    ranked = (
        select(outbox.c.id, outbox.c.change_id, outbox.c.state, newest)
        .where(outbox.c.golden_id == golden_id, outbox.c.state.in_(UNFINISHED_CHANGES))
        .subquery()
    )
    rows = sorted(
        conn.execute(
            select(ranked.c.id, ranked.c.change_id, ranked.c.state).where(ranked.c.newest <= limit)
        ),
        key=lambda r: (UNFINISHED_CHANGES.index(r.state), -r.id),
    )
    if not rows:
        return []
    loaded = load_changes(conn, [r.change_id for r in rows])
    found = [loaded[r.change_id] for r in rows if r.change_id in loaded]
    return sorted(found, key=lambda c: c.created_at, reverse=True)[:limit]
