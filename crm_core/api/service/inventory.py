"""Stock of the items a customer buys, per warehouse of the source that sells them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, and_, func, select, tuple_

from crm_core.api.service.lookup import resolve
from crm_core.api.service.purchases import CANCELLED, inventory, lines, orders
from crm_core.api.service.views import InventoryItemView, Page, WarehouseStock
from crm_core.golden.customer360 import linked

ZERO = Decimal(0)


@dataclass
class _Bought:
    description: str | None = None
    last_ordered: date = date.min
    quantity_12m: Decimal = ZERO
    warehouses: list[WarehouseStock] = field(default_factory=list)
    product_line: str | None = None


def _items(golden_id: str) -> Select[Any]:
    """The customer's order lines that were not cancelled, with their order's date (the
    lines by their orders' keys: an index lookup per order)."""
    return (
        linked(orders, golden_id, lines.c.source, lines.c.item_id, orders.c.order_date)
        .join(lines, and_(lines.c.source == orders.c.source, lines.c.order_id == orders.c.order_id))
        .where(
            orders.c.status != CANCELLED,
            func.coalesce(lines.c.status, "") != CANCELLED,
            lines.c.deleted_at.is_(None),
        )
    )


def inventory_for(
    store: Engine, golden_id: str, *, as_of: date, limit: int = 50, offset: int = 0
) -> Page[InventoryItemView]:
    """The items in the customer's orders that were not cancelled, the most recently
    ordered first, each with its stock in every warehouse (available is on hand minus
    allocated where the source does not say).

    Three queries after the customer's: every item with when it was last ordered (grouped
    by the database), the lines of the page's items (quantity, description), their stock."""
    year_ago = as_of - timedelta(days=365)
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        mine = _items(standing)
        last = dict(
            ((source, item), day)
            for source, item, day in conn.execute(
                mine.with_only_columns(
                    lines.c.source, lines.c.item_id, func.max(orders.c.order_date)
                ).group_by(lines.c.source, lines.c.item_id)
            )
        )
        keys = sorted(last, key=lambda k: (-last[k].toordinal(), k))
        page = keys[offset : offset + limit]
        bought = {k: _Bought(last_ordered=last[k]) for k in page}
        if page:
            stmt = mine.add_columns(
                lines.c.order_id, lines.c.line_no, lines.c.quantity, lines.c.description
            ).where(tuple_(lines.c.source, lines.c.item_id).in_(sorted(page)))
            # oldest first, as the description of the newest line that has one wins
            for row in sorted(
                conn.execute(stmt), key=lambda r: (r.order_date, r.order_id, r.line_no)
            ):
                entry = bought[(row.source, row.item_id)]
                entry.description = row.description or entry.description
                if year_ago < row.order_date <= as_of:
                    entry.quantity_12m += row.quantity
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
