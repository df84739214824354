"""Records of other systems that name a customer of a back office: a service desk's
tickets under the ERP's account numbers, a marketing tool's campaign members.

Such a record has ``customer_source`` (the system whose customer id ``customer_id`` is)
beside its own ``source``; without one, the customer is one of its own source. Either way
``source_links`` ties that customer record to its golden customer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, and_, func, select

from crm_core.store.tables import source_links


def owner_source(table: Table) -> Any:
    """The system whose customer a row of ``table`` names."""
    return func.coalesce(table.c.customer_source, table.c.source)


def attached(table: Table, golden_id: str, *columns: Any) -> Select[Any]:
    """``SELECT columns FROM table`` limited to the rows naming a customer record linked
    to ``golden_id`` (``table`` has ``source``, ``customer_source`` and ``customer_id``)."""
    return _linked(table, select(*(columns or (table,)))).where(
        source_links.c.golden_id == golden_id, table.c.deleted_at.is_(None)
    )


def golden_of(table: Table, *columns: Any) -> Select[Any]:
    """``SELECT columns, golden_id FROM table`` for every row whose customer is linked to
    a golden customer (an inner join: a lead's row has none)."""
    return _linked(table, select(*(columns or (table,)), source_links.c.golden_id)).where(
        table.c.deleted_at.is_(None)
    )


def _linked(table: Table, query: Select[Any]) -> Select[Any]:
    """``query`` on ``table`` joined to the ``source_links`` of the customers its rows name."""
    return query.select_from(table).join(
        source_links,
        and_(
            source_links.c.source_key == table.c.customer_id,
            source_links.c.source == owner_source(table),
        ),
    )
