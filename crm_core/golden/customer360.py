"""One customer across every back-office system: the golden record, its source records,
each field's lineage, and the orders, credit, invoices and payments of all its sources,
with totals per currency (revenue, open balance, credit exposure).

Everything a source says about a customer is keyed by that source's own customer id;
``source_links`` ties those ids to the golden customer, so the totals add up across
systems. Money is summed as ``Decimal`` (the store keeps it exact on every database).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, and_, func, select

from crm_core.golden.receivables import open_receivables
from crm_core.golden.store_io import read_goldens, surviving_id
from crm_core.store.tables import RECORD_TABLES, golden_customers, golden_lineage, source_links
from schemas.errors import HubError

#: The record streams attached to a golden customer through its source records.
LINKED_ENTITIES = ("orders", "credit", "invoices", "payments", "contacts")
ZERO = Decimal(0)


def customer_360(store: Engine, golden_id: str, as_of: date | None = None) -> dict[str, Any]:
    """The whole picture of one golden customer.

    Keys: ``golden`` (the record; a merged id leads to the one it was merged into, with
    ``requested_id`` saying so), ``sources`` (linked records, how and when linked),
    ``lineage`` (per field: value, rule, supplying record and run), ``credit`` (per
    source), ``totals`` (per currency) and ``receivables`` (per currency, with overdue
    buckets as of ``as_of``, default today).
    """
    as_of = as_of or datetime.now(UTC).date()
    with store.connect() as conn:
        goldens = read_goldens(conn)
        if golden_id not in goldens:
            raise HubError(f"no golden customer {golden_id}")
        standing = surviving_id(goldens, golden_id)
        golden = dict(
            conn.execute(select(golden_customers).where(golden_customers.c.golden_id == standing))
            .one()
            ._mapping
        )
        if standing != golden_id:
            golden["requested_id"] = golden_id
        lineage = [
            dict(r._mapping)
            for r in conn.execute(
                select(golden_lineage)
                .where(golden_lineage.c.golden_id == standing)
                .order_by(golden_lineage.c.field)
            )
        ]
        sources = source_records(conn, standing)
        credit = linked_rows(conn, standing, "credit")
        totals = _totals(conn, standing, credit)
        receivables = open_receivables(
            linked_rows(conn, standing, "invoices"), last_payment_dates(conn, standing), as_of
        )
    return {
        "golden": golden,
        "sources": sources,
        "lineage": lineage,
        "credit": credit,
        "totals": totals,
        "receivables": [r.model_dump() for r in receivables],
    }


def linked(
    table: Table, golden_id: str, *columns: Any, include_deleted: bool = False
) -> Select[Any]:
    """``SELECT columns FROM table`` limited to the rows of the source records linked to
    ``golden_id`` (``table`` has ``source`` and ``customer_id``); rows the source deleted
    (soft deletes, see crm_core.pull.deletes) only with ``include_deleted``."""
    stmt = (
        select(*(columns or (table,)))
        .select_from(table)
        .join(
            source_links,
            and_(
                source_links.c.source == table.c.source,
                source_links.c.source_key == table.c.customer_id,
            ),
        )
        .where(source_links.c.golden_id == golden_id)
    )
    return stmt if include_deleted else stmt.where(table.c.deleted_at.is_(None))


def linked_rows(
    conn: Connection,
    golden_id: str,
    entity: str,
    limit: int | None = None,
    include_deleted: bool = False,
) -> list[dict[str, Any]]:
    """Rows of ``entity`` (orders, credit, invoices, payments, contacts) of every source
    record linked to ``golden_id``, newest first where the rows have a date; rows the
    source deleted only with ``include_deleted``."""
    if entity not in LINKED_ENTITIES:
        raise HubError(f"{entity} is not attached to customers: one of {LINKED_ENTITIES}")
    table = RECORD_TABLES[entity]
    stmt = linked(table, golden_id, include_deleted=include_deleted)
    dated = {"orders": "order_date", "invoices": "invoice_date", "payments": "payment_date"}
    if entity in dated:
        stmt = stmt.order_by(table.c[dated[entity]].desc())
    if limit:
        stmt = stmt.limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def source_records(conn: Connection, golden_id: str) -> list[dict[str, Any]]:
    """The source customer records linked to ``golden_id``, with how and when each was
    linked; records the source deleted too (a retired customer shows what it was)."""
    customers = RECORD_TABLES["customers"]
    stmt = linked(
        customers,
        golden_id,
        source_links.c.stream,
        source_links.c.source_key,
        source_links.c.rule,
        source_links.c.linked_at,
        customers,
        include_deleted=True,
    ).order_by(source_links.c.source, source_links.c.source_key)
    out = []
    for row in conn.execute(stmt):
        data = dict(row._mapping)
        data.pop("customer_id", None)
        out.append(data)
    return out


def _totals(
    conn: Connection, golden_id: str, credit: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per currency: orders and revenue (cancelled orders left out), invoiced, open
    balance, paid, credit limit and exposure, and whether any source has it on hold."""
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "orders": 0,
            "revenue": ZERO,
            "invoiced": ZERO,
            "open_balance": ZERO,
            "paid": ZERO,
            "credit_limit": ZERO,
            "credit_exposure": ZERO,
            "on_hold": False,
        }
    )
    for order in linked_rows(conn, golden_id, "orders"):
        if order["status"] != "cancelled":
            bucket = per[order["currency"]]
            bucket["orders"] += 1
            bucket["revenue"] += order["total_amount"]
    for invoice in linked_rows(conn, golden_id, "invoices"):
        if invoice["status"] != "void":
            bucket = per[invoice["currency"]]
            bucket["invoiced"] += invoice["amount"]
            bucket["open_balance"] += invoice["open_amount"]
    for payment in linked_rows(conn, golden_id, "payments"):
        per[payment["currency"]]["paid"] += payment["amount"]
    for row in credit:
        bucket = per[row["currency"]]
        bucket["credit_limit"] += row["credit_limit"]
        bucket["credit_exposure"] += row["exposure"] or ZERO
        bucket["on_hold"] = bucket["on_hold"] or bool(row["on_hold"])
    return dict(sorted(per.items()))


def last_payment_dates(conn: Connection, golden_id: str) -> dict[str, date]:
    """The newest payment date per currency of the source records linked to ``golden_id``."""
    payments = RECORD_TABLES["payments"]
    stmt = linked(
        payments, golden_id, payments.c.currency, func.max(payments.c.payment_date)
    ).group_by(payments.c.currency)
    return {r[0]: r[1] for r in conn.execute(stmt)}


def list_goldens(
    store: Engine, name_contains: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Standing golden customers (not merged ones) by id, with their record counts."""
    records = (
        select(source_links.c.golden_id, func.count().label("records"))
        .group_by(source_links.c.golden_id)
        .subquery()
    )
    stmt = (
        select(golden_customers, func.coalesce(records.c.records, 0).label("records"))
        .outerjoin(records, records.c.golden_id == golden_customers.c.golden_id)
        .where(golden_customers.c.merged_into.is_(None))
        .order_by(golden_customers.c.golden_id)
        .limit(limit)
    )
    if name_contains:
        stmt = stmt.where(golden_customers.c.name.contains(name_contains, autoescape=True))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
