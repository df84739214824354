"""Stock of the items a customer buys, per warehouse of the source that sells them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from crm_core.api.service.lookup import resolve
from crm_core.api.service.purchases import inventory, purchases
from crm_core.api.service.views import InventoryItemView, Page, WarehouseStock

ZERO = Decimal(0)


@dataclass
class _Bought:
    description: str | None = None
    last_ordered: date = date.min
    quantity_12m: Decimal = ZERO
    warehouses: list[WarehouseStock] = field(default_factory=list)
    product_line: str | None = None


def inventory_for(
    store: Engine, golden_id: str, *, as_of: date, limit: int = 50, offset: int = 0
) -> Page[InventoryItemView]:
    """The items in the customer's orders that were not cancelled, the most recently
    ordered first, each with its stock in every warehouse (available is on hand minus
    allocated where the source does not say)."""
    year_ago = as_of - timedelta(days=365)
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        bought: dict[tuple[str, str], _Bought] = {}
        for p in purchases(conn, standing):
            entry = bought.setdefault((p.source, p.item_id), _Bought())
            entry.description = p.description or entry.description
            entry.last_ordered = max(entry.last_ordered, p.order_date)
            if year_ago < p.order_date <= as_of:
                entry.quantity_12m += p.quantity
        keys = sorted(bought, key=lambda k: (-bought[k].last_ordered.toordinal(), k))
        page = keys[offset : offset + limit]
        by_source: dict[str, list[str]] = {}
        for source, item in page:
            by_source.setdefault(source, []).append(item)
        for source, item_ids in by_source.items():
            stmt = (
                select(inventory)
                .where(
                    inventory.c.source == source,
                    inventory.c.item_id.in_(item_ids),
                    inventory.c.deleted_at.is_(None),  # stock rows the source deleted
                )
                .order_by(inventory.c.item_id, inventory.c.warehouse)
            )
            for row in conn.execute(stmt):
                entry = bought[(source, row.item_id)]
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
