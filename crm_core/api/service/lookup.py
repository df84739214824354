"""Finding a golden customer and the records its source records bring along.

A customer's id in the API is its golden id. A golden customer merged into another one
leads to that one. Everything a back-office system says about a customer (orders,
credit, invoices, payments) is keyed by that system's own customer id; ``source_links``
ties those ids to the golden id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from crm_core.store.tables import golden_customers
from schemas.errors import HubError

#: A chain of merges longer than this is a loop in the data, not a history.
MAX_MERGES = 50


class NotFound(HubError):
    """A customer, run or row the caller named does not exist."""


def resolve(conn: Connection, golden_id: str) -> dict[str, Any]:
    """The golden record ``golden_id`` leads to (following merges), with ``requested_id``
    set to ``golden_id`` when that was merged into it; NotFound when there is none."""
    wanted = golden_id
    for _ in range(MAX_MERGES):
        row = conn.execute(
            select(golden_customers).where(golden_customers.c.golden_id == golden_id)
        ).first()
        if row is None:
            break
        data = dict(row._mapping)
        if not data["merged_into"] or data["merged_into"] == golden_id:
            data["requested_id"] = wanted if wanted != golden_id else None
            return data
        golden_id = data["merged_into"]
    raise NotFound(f"no customer {wanted}")
