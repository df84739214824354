"""What a customer bought: the lines of its orders that were not cancelled, with the
product line each item belongs to (from the inventory of the same source)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select

from crm_core.golden.customer360 import linked
from crm_core.store.tables import RECORD_TABLES
from schemas.model import OrderStatus

orders = RECORD_TABLES["orders"]
lines = RECORD_TABLES["order_lines"]
inventory = RECORD_TABLES["inventory"]
CANCELLED = OrderStatus.CANCELLED.value


@dataclass(frozen=True)
class Purchase:
    """One order line the customer bought."""

    source: str
    order_id: str
    order_date: date
    currency: str
    item_id: str
    description: str | None
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class OrderTotal:
    """One order that was not cancelled."""

    source: str
    order_id: str
    order_date: date
    currency: str
    total_amount: Decimal


def order_totals(conn: Connection, golden_id: str) -> list[OrderTotal]:
    """The customer's orders that were not cancelled, oldest first."""
    stmt = (
        linked(
            orders,
            golden_id,
            orders.c.source,
            orders.c.order_id,
            orders.c.order_date,
            orders.c.currency,
            orders.c.total_amount,
        )
        .where(orders.c.status != CANCELLED)
        .order_by(orders.c.order_date, orders.c.order_id)
    )
    return [OrderTotal(*r) for r in conn.execute(stmt)]


def purchases(
    conn: Connection, golden_id: str, orders_of: list[OrderTotal] | None = None
) -> list[Purchase]:
    """Every order line of the customer's orders that were not cancelled, oldest first
    (``orders_of``: those orders, when the caller has them already)."""
    heads = {(o.source, o.order_id): o for o in orders_of or order_totals(conn, golden_id)}
    wanted: dict[str, list[str]] = defaultdict(list)
    for source, order_id in heads:
        wanted[source].append(order_id)
    found: list[tuple[Purchase, int]] = []
    # lines by the orders' keys, not in a join: a planner may scan every line of a source
    for source, ids in wanted.items():
        for start in range(0, len(ids), 500):
            stmt = select(
                lines.c.order_id,
                lines.c.line_no,
                lines.c.currency,
                lines.c.item_id,
                lines.c.description,
                lines.c.quantity,
                lines.c.amount,
            ).where(
                lines.c.source == source,
                lines.c.order_id.in_(ids[start : start + 500]),
                func.coalesce(lines.c.status, "") != CANCELLED,
                lines.c.deleted_at.is_(None),
            )
            for row in conn.execute(stmt):
                head = heads[(source, row.order_id)]
                purchase = Purchase(
                    source=source,
                    order_id=row.order_id,
                    order_date=head.order_date,
                    currency=row.currency or head.currency,
                    item_id=row.item_id,
                    description=row.description,
                    quantity=row.quantity,
                    amount=row.amount,
                )
                found.append((purchase, row.line_no))
    found.sort(key=lambda p: (p[0].order_date, p[0].order_id, p[1]))
    return [p for p, _line in found]


def product_lines(conn: Connection, items: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(source, item id) -> product line, as the source's inventory says."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for source, item in items:
        wanted[source].add(item)
    out: dict[tuple[str, str], str] = {}
    for source, ids in wanted.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            stmt = (
                select(inventory.c.item_id, func.max(inventory.c.product_line))
                .where(
                    inventory.c.source == source,
                    inventory.c.item_id.in_(ordered[start : start + 500]),
                    inventory.c.product_line.is_not(None),
                    inventory.c.deleted_at.is_(None),
                )
                .group_by(inventory.c.item_id)
            )
            for item, line in conn.execute(stmt):
                out[(source, item)] = line
    return out
