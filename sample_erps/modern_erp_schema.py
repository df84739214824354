"""DDL of the sample modern ERP: the back office of a younger system (Odoo-like), as it runs on
MariaDB or PostgreSQL.

Six tables with lower-case names and surrogate integer keys: partners (customers, with
their credit limit and payment terms), sale orders and their lines, stock quants per
location, invoices (account moves) and payments. Amounts are DECIMAL, dates DATE, text
Unicode (utf8mb4 on MariaDB), and every row carries ``updated_at``, the moment of its last
change: TIMESTAMP WITH TIME ZONE on PostgreSQL, a DATETIME holding UTC on MariaDB and
SQLite (the convention of such systems).

``python -m sample_erps.modern_erp_schema mariadb`` prints the DDL for a dialect.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateTable

METADATA = MetaData()
TABLE_ARGS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4"}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp: zoned where the database has zones, else the UTC wall time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or dialect.name == "postgresql":
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def _money() -> Numeric[Any]:
    return Numeric(14, 2)


def _quantity() -> Numeric[Any]:
    return Numeric(14, 3)


def _updated_at() -> Column[datetime]:
    return Column("updated_at", UtcDateTime(), nullable=False, comment="last change")


PARTNER = Table(
    "res_partner",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("ref", String(16), comment="customer code printed on documents"),
    Column("name", String(200), nullable=False),
    Column("is_company", Boolean, nullable=False),
    Column("vat", String(32), comment="tax id; often left empty"),
    Column("email", String(120)),
    Column("phone", String(40)),
    Column("street", String(120)),
    Column("street2", String(120)),
    Column("city", String(60)),
    Column("state", String(60)),
    Column("zip", String(16)),
    Column("country_code", String(2)),
    Column("currency", String(3), nullable=False),
    Column("credit_limit", _money(), nullable=False),
    Column("credit_hold", Boolean, nullable=False),
    Column("payment_term", String(40), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("create_date", UtcDateTime(), nullable=False),
    _updated_at(),
    comment="customers (partners) with their credit limit and terms",
    **TABLE_ARGS,
)

SALE_ORDER = Table(
    "sale_order",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(20), nullable=False, comment="S00042"),
    Column("partner_id", Integer, nullable=False),
    Column("date_order", Date, nullable=False),
    Column("commitment_date", Date, comment="promised delivery date"),
    Column("state", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_untaxed", _money(), nullable=False),
    Column("amount_tax", _money(), nullable=False),
    Column("amount_total", _money(), nullable=False),
    _updated_at(),
    comment="sale orders",
    **TABLE_ARGS,
)

SALE_ORDER_LINE = Table(
    "sale_order_line",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("order_id", Integer, nullable=False),
    Column("sequence", Integer, nullable=False, comment="10, 20, 30 ... within the order"),
    Column("product_code", String(32), nullable=False),
    Column("name", String(200), nullable=False, comment="description"),
    Column("product_uom_qty", _quantity(), nullable=False),
    Column("price_unit", Numeric(14, 4), nullable=False),
    Column("discount", Numeric(5, 2), nullable=False, comment="percent"),
    Column("price_subtotal", _money(), nullable=False),
    _updated_at(),
    UniqueConstraint("order_id", "sequence"),
    comment="sale order lines",
    **TABLE_ARGS,
)

STOCK_QUANT = Table(
    "stock_quant",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("product_code", String(32), nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("product_category", String(40), nullable=False),
    Column("location", String(40), nullable=False, comment="WH/Stock, SZ/Stock, HK/Stock"),
    Column("quantity", _quantity(), nullable=False),
    Column("reserved_quantity", _quantity(), nullable=False),
    Column("incoming_quantity", _quantity(), nullable=False),
    _updated_at(),
    UniqueConstraint("product_code", "location"),
    comment="stock per product and location",
    **TABLE_ARGS,
)

ACCOUNT_MOVE = Table(
    "account_move",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(24), nullable=False, comment="INV/2026/00042"),
    Column("partner_id", Integer, nullable=False),
    Column("sale_order_id", Integer),
    Column("invoice_date", Date, nullable=False),
    Column("invoice_date_due", Date, nullable=False),
    Column("amount_total", _money(), nullable=False),
    Column("amount_residual", _money(), nullable=False, comment="still to be paid"),
    Column("currency", String(3), nullable=False),
    Column("payment_state", String(16), nullable=False, comment="not_paid partial paid"),
    _updated_at(),
    comment="customer invoices",
    **TABLE_ARGS,
)

ACCOUNT_PAYMENT = Table(
    "account_payment",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(24), nullable=False, comment="PBNK1/2026/00042"),
    Column("partner_id", Integer, nullable=False),
    Column("move_id", Integer, comment="the invoice paid"),
    Column("date", Date, nullable=False),
    Column("amount", _money(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("journal", String(16), nullable=False, comment="bank cash card"),
    _updated_at(),
    comment="customer payments",
    **TABLE_ARGS,
)

TABLES = (PARTNER, SALE_ORDER, SALE_ORDER_LINE, STOCK_QUANT, ACCOUNT_MOVE, ACCOUNT_PAYMENT)


def create_schema(engine: Engine) -> None:
    """Create the six tables of the sample modern ERP on ``engine``."""
    METADATA.create_all(engine)


def ddl(dialect_name: str) -> str:
    """The CREATE TABLE statements for a dialect (``mariadb``, ``postgresql``, ``sqlite``)."""
    dialect = make_url(f"{dialect_name}://").get_dialect()()
    return "\n".join(
        f"{str(CreateTable(t).compile(dialect=dialect)).strip()};\n" for t in METADATA.sorted_tables
    )


if __name__ == "__main__":
    print(ddl(sys.argv[1] if len(sys.argv) > 1 else "mariadb"))
