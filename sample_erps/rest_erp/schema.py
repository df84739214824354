"""Tables of the sample REST ERP: a modern cloud ERP that a trading subsidiary runs.

The database behind the API is a SQLite file, so changes persist between server starts.
Money is kept in minor units (cents), quantities in thousandths and unit prices in
ten-thousandths, as integers; the API shows them as decimal strings. Timestamps are UTC
text of one fixed width (``2026-11-20 08:00:00.000000``), so text order is time order;
``tz`` says in which time zone the API shows a row's timestamps (the site that owns it).
:data:`IDEMPOTENCY_KEYS` keeps the answers of writes sent with an ``Idempotency-Key``;
:data:`DELETED_RECORDS` is the log of deleted records (``GET /<resource>/deleted``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Engine, Index, Integer, MetaData, String, Table, Text

METADATA = MetaData()


def _stamp() -> list[Column[object]]:
    return [
        Column("updated_at", String(26), nullable=False, comment="UTC, fixed width"),
        Column("tz", String(40), nullable=False, comment="time zone the API shows it in"),
    ]


CUSTOMERS = Table(
    "customers",
    METADATA,
    Column("id", String(12), primary_key=True),
    Column("kind", String(10), nullable=False, comment="company or individual"),
    Column("name", Text, nullable=False),
    Column("vat_number", String(30)),
    Column("email", Text),
    Column("phone", String(30)),
    Column("address_line1", Text),
    Column("address_line2", Text),
    Column("city", Text),
    Column("state", Text),
    Column("postal_code", String(12)),
    Column("country", String(2)),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False, comment="active or archived"),
    Column("created_at", String(26), nullable=False),
    *_stamp(),
)

ORDERS = Table(
    "orders",
    METADATA,
    Column("id", String(16), primary_key=True),
    Column("customer_id", String(12), nullable=False),
    Column("order_date", String(10), nullable=False),
    Column("requested_date", String(10)),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_cents", Integer, nullable=False),
    *_stamp(),
)

ORDER_LINES = Table(
    "order_lines",
    METADATA,
    Column("order_id", String(16), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(20), nullable=False),
    Column("name", Text),
    Column("quantity_milli", Integer, nullable=False),
    Column("unit_price_e4", Integer, nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    *_stamp(),
)

STOCK = Table(
    "stock",
    METADATA,
    Column("sku", String(20), primary_key=True),
    Column("location", String(10), primary_key=True),
    Column("description", Text),
    Column("category", String(20)),
    Column("on_hand_milli", Integer, nullable=False),
    Column("reserved_milli", Integer, nullable=False),
    Column("incoming_milli", Integer, nullable=False),
    *_stamp(),
)

CREDIT_ACCOUNTS = Table(
    "credit_accounts",
    METADATA,
    Column("customer_id", String(12), primary_key=True),
    Column("credit_limit_cents", Integer, nullable=False),
    Column("balance_cents", Integer, nullable=False),
    Column("on_hold", Boolean, nullable=False),
    Column("hold_reason", String(30)),
    Column("payment_terms", String(20), nullable=False),
    Column("risk_rating", String(2)),
    Column("currency", String(3), nullable=False),
    *_stamp(),
)

INVOICES = Table(
    "invoices",
    METADATA,
    Column("number", String(20), primary_key=True),
    Column("customer_id", String(12), nullable=False),
    Column("order_id", String(16)),
    Column("issued_on", String(10), nullable=False),
    Column("due_on", String(10)),
    Column("total_cents", Integer, nullable=False),
    Column("balance_due_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(8), nullable=False, comment="open, paid or void"),
    *_stamp(),
)

PAYMENTS = Table(
    "payments",
    METADATA,
    Column("id", String(16), primary_key=True),
    Column("customer_id", String(12), nullable=False),
    Column("invoice_number", String(20)),
    Column("received_on", String(10), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(16)),
    Column("reference", String(20)),
    *_stamp(),
)

for _table in METADATA.tables.values():
    Index(f"ix_{_table.name}_updated_at", _table.c.updated_at)

TABLES: tuple[Table, ...] = (
    CUSTOMERS,
    ORDERS,
    ORDER_LINES,
    STOCK,
    CREDIT_ACCOUNTS,
    INVOICES,
    PAYMENTS,
)


IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    METADATA,
    Column("key", String(255), primary_key=True, comment="the client's Idempotency-Key"),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False, comment="SHA-256 of method, path, body"),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False, comment="the answer's JSON"),
    Column("headers", Text, nullable=False, comment="the answer's headers, as JSON"),
    Column("created_at", String(26), nullable=False),
)

DELETED_RECORDS = Table(
    "deleted_records",
    METADATA,
    Column("resource", String(32), primary_key=True, comment="the list it was deleted from"),
    Column("record_id", String(32), primary_key=True),
    Column("deleted_at", String(26), primary_key=True, comment="UTC, fixed width"),
    Index("ix_deleted_records_at", "resource", "deleted_at", "record_id"),
)


def create_schema(engine: Engine) -> None:
    """Create the ERP's tables (a no-op for those that exist)."""
    METADATA.create_all(engine)
