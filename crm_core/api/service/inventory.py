"""Stock of the items a customer buys, per warehouse of the source that sells them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ARRAY, Connection, Engine, Text, and_, func, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg

from crm_core.api.service.lookup import resolve
from crm_core.api.service.purchases import CANCELLED, inventory, lines, orders, purchases
from crm_core.api.service.views import InventoryItemView, Page, WarehouseStock
from crm_core.golden.customer360 import linked

ZERO = Decimal(0)
#: (source, item id)
Key = tuple[str, str]


@dataclass
class _Bought:
    description: str | None = None
    last_ordered: date = date.min
    quantity_12m: Decimal = ZERO
    warehouses: list[WarehouseStock] = field(default_factory=list)
    product_line: str | None = None


def _bought_grouped(conn: Connection, golden_id: str, as_of: date) -> dict[Key, _Bought]:
    """Every item of the customer's orders not cancelled, grouped by PostgreSQL in one
    query: when last ordered, the quantity in the 12 months to ``as_of``, the description
    of the newest line that has one (the lines by their orders' keys: an index lookup per
    order)."""
    recent = and_(orders.c.order_date > as_of - timedelta(days=365), orders.c.order_date <= as_of)
    newest = (
        orders.c.order_date.desc(),
        lines.c.order_id.collate("C").desc(),
        lines.c.line_no.desc(),
    )
    described = func.coalesce(lines.c.description, "") != ""
    description = type_coerce(
        array_agg(aggregate_order_by(lines.c.description, *newest)).filter(described), ARRAY(Text)
    )[1]
    stmt = (
        linked(
            orders,
            golden_id,
            lines.c.source,
            lines.c.item_id,
            func.max(orders.c.order_date),
            func.sum(lines.c.quantity).filter(recent),
            description,
        )
        .join(lines, and_(lines.c.source == orders.c.source, lines.c.order_id == orders.c.order_id))
        .where(
            orders.c.status != CANCELLED,
            func.coalesce(lines.c.status, "") != CANCELLED,
            lines.c.deleted_at.is_(None),
        )
        .group_by(lines.c.source, lines.c.item_id)
    )
    return {
        (source, item): _Bought(
            description=text or None, last_ordered=last, quantity_12m=quantity or ZERO
        )
        for source, item, last, quantity, text in conn.execute(stmt)
    }


def _bought_rows(conn: Connection, golden_id: str, as_of: date) -> dict[Key, _Bought]:
    """:func:`_bought_grouped` from every line the customer bought, summed here (SQLite
    sums decimals as floats)."""
    year_ago = as_of - timedelta(days=365)
    bought: dict[Key, _Bought] = {}
    for p in purchases(conn, golden_id):
        entry = bought.setdefault((p.source, p.item_id), _Bought())
        entry.description = p.description or entry.description
        entry.last_ordered = max(entry.last_ordered, p.order_date)
        if year_ago < p.order_date <= as_of:
            entry.quantity_12m += p.quantity
    return bought


def inventory_for(
    store: Engine, golden_id: str, *, as_of: date, limit: int = 50, offset: int = 0
) -> Page[InventoryItemView]:
    """The items in the customer's orders that were not cancelled, the most recently
    ordered first, each with its stock in every warehouse (available is on hand minus
    allocated where the source does not say): the items grouped (by the database on
    PostgreSQL), then the stock of the page's items, in one query."""
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        grouped = conn.dialect.name == "postgresql"
        bought = (_bought_grouped if grouped else _bought_rows)(conn, standing, as_of)
        keys = sorted(bought, key=lambda k: (-bought[k].last_ordered.toordinal(), k))
        page = keys[offset : offset + limit]
        if page:
            stmt = (
                select(inventory)
                .where(
                    tuple_(inventory.c.source, inventory.c.item_id).in_(sorted(page)),
                    inventory.c.deleted_at.is_(None),  # stock rows the source deleted
                )
                .order_by(inventory.c.source, inventory.c.item_id, inventory.c.warehouse)
            )
            for row in conn.execute(stmt):
                entry = bought[(row.source, row.item_id)]
                entry.description = row.description or entry.description
                entry.product_line = row.product_line or entry.product_line
                entry.warehouses.append(
                    WarehouseStock(
                        warehouse=row.warehouse,
                        on_hand=row.on_hand,
                        allocated=row.allocated,
                        available=(
                            row.available
                            if row.available is not None
                            else row.on_hand - row.allocated
                        ),
                        on_order=row.on_order,
                        updated_at=row.updated_at,
                    )
                )
    items = [
        InventoryItemView(
            source=source,
            item_id=item,
            description=bought[(source, item)].description,
            product_line=bought[(source, item)].product_line,
            last_ordered=bought[(source, item)].last_ordered,
            quantity_12m=bought[(source, item)].quantity_12m,
            available_total=sum((w.available for w in bought[(source, item)].warehouses), ZERO),
            warehouses=bought[(source, item)].warehouses,
        )
        for source, item in page
    ]
    return Page[InventoryItemView](items=items, total=len(keys), limit=limit, offset=offset)
