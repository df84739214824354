"""A customer's orders across its sources, newest first, each with its lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, tuple_

from crm_core.api.service.lookup import resolve
from crm_core.api.service.views import OrderLineView, OrderView, Page
from crm_core.golden.customer360 import linked
from crm_core.store.tables import RECORD_TABLES
from schemas.model import OrderStatus

orders_table = RECORD_TABLES["orders"]
lines_table = RECORD_TABLES["order_lines"]
_LINE_FIELDS = tuple(OrderLineView.model_fields)
#: the line's columns of an order line's view
_LINE_COLUMNS = tuple(f for f in _LINE_FIELDS if f != "deleted")
#: the order of a customer's orders: newest first
NEWEST_FIRST = (
    orders_table.c.order_date.desc(),
    orders_table.c.source,
    orders_table.c.order_id.desc(),
)


def orders(
    store: Engine,
    golden_id: str,
    *,
    status: Sequence[OrderStatus] = (),
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    offset: int = 0,
    include_deleted: bool = False,
) -> Page[OrderView]:
    """Orders of every source record of the customer, newest first; ``status`` keeps
    only those statuses, ``since``/``until`` bound the order date (both included).
    Orders and lines the source deleted are left out, or with ``include_deleted`` shown
    marked ``deleted``."""
    o = orders_table
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        stmt = linked(o, standing, include_deleted=include_deleted)
        if status:
            stmt = stmt.where(o.c.status.in_([str(s) for s in status]))
        if since:
            stmt = stmt.where(o.c.order_date >= since)
        if until:
            stmt = stmt.where(o.c.order_date <= until)
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0
        rows = [
            dict(r._mapping)
            for r in conn.execute(stmt.order_by(*NEWEST_FIRST).limit(limit).offset(offset))
        ]
        items = _views(rows, _lines(conn, rows, include_deleted))
    return Page[OrderView](items=items, total=int(total), limit=limit, offset=offset)


def last_orders(conn: Connection, golden_id: str, limit: int) -> list[OrderView]:
    """The newest ``limit`` orders of a standing customer with their lines, as
    :func:`orders` gives them first (no count, no merge to follow), in one query."""
    top = linked(orders_table, golden_id).order_by(*NEWEST_FIRST).limit(limit).subquery()
    line = and_(
        lines_table.c.source == top.c.source,
        lines_table.c.order_id == top.c.order_id,
        lines_table.c.deleted_at.is_(None),
    )
    stmt = (
        select(top, *(lines_table.c[f].label(f"line_{f}") for f in _LINE_COLUMNS))
        .select_from(top.outerjoin(lines_table, line))
        .order_by(top.c.order_date.desc(), top.c.source, top.c.order_id.desc())
        .order_by(lines_table.c.line_no)
    )
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    found: dict[tuple[str, str], list[OrderLineView]] = defaultdict(list)
    for row in conn.execute(stmt):
        data = row._mapping
        key = (data["source"], data["order_id"])
        rows.setdefault(key, {c.name: data[c.name] for c in orders_table.c})
        if data["line_line_no"] is not None:
            found[key].append(
                OrderLineView(**{f: data[f"line_{f}"] for f in _LINE_COLUMNS}, deleted=False)
            )
    return _views(list(rows.values()), found)


def _views(
    rows: list[dict[str, Any]], lines: dict[tuple[str, str], list[OrderLineView]]
) -> list[OrderView]:
    return [
        OrderView(
            source=r["source"],
            order_id=r["order_id"],
            customer_key=r["customer_id"],
            order_date=r["order_date"],
            requested_date=r["requested_date"],
            status=r["status"],
            currency=r["currency"],
            total_amount=r["total_amount"],
            updated_at=r["updated_at"],
            lines=lines.get((r["source"], r["order_id"]), []),
            deleted=r["deleted_at"] is not None,
        )
        for r in rows
    ]


def _lines(
    conn: Any, orders: list[dict[str, Any]], include_deleted: bool = False
) -> dict[tuple[str, str], list[OrderLineView]]:
    """The lines of ``orders`` by (source, order id), in one query per 500 orders."""
    wanted = sorted({(order["source"], order["order_id"]) for order in orders})
    out: dict[tuple[str, str], list[OrderLineView]] = defaultdict(list)
    key = tuple_(lines_table.c.source, lines_table.c.order_id)
    for start in range(0, len(wanted), 500):
        stmt = (
            select(lines_table)
            .where(key.in_(wanted[start : start + 500]))
            .order_by(lines_table.c.source, lines_table.c.order_id, lines_table.c.line_no)
        )
        if not include_deleted:
            stmt = stmt.where(lines_table.c.deleted_at.is_(None))
        for row in conn.execute(stmt):
            data = {**row._mapping, "deleted": row.deleted_at is not None}
            out[(row.source, row.order_id)].append(
                OrderLineView(**{k: data[k] for k in _LINE_FIELDS})
            )
    return out
