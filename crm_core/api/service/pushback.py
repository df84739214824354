"""A customer's side of push-back as the API and the page show it: its concessions (the
CRM's own record until finance's arrives, with the push state of its change) and its
changes not yet delivered."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import Engine, select

from crm_core.api.service.views import View
from crm_core.pushback.outbox import list_changes
from crm_core.pushback.submit import ChangeView
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
    table = RECORD_TABLES["concessions"]
    with store.connect() as conn:
        links = select(source_links.c.source, source_links.c.source_key).where(
            source_links.c.golden_id == golden_id
        )
        keys = {(s, k) for s, k in conn.execute(links)}
        rows = [
            dict(r)
            for r in conn.execute(
                select(table).where(
                    (table.c.customer_id == golden_id)
                    | table.c.customer_id.in_([k for _, k in keys])
                )
            ).mappings()
        ]
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
    found = [
        change
        for state in UNFINISHED_CHANGES
        for change in list_changes(store, state=state, golden_id=golden_id, limit=limit)
    ]
    return sorted(found, key=lambda c: c.created_at, reverse=True)[:limit]
