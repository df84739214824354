"""HTTP API: trigram indexes for the customer search (PostgreSQL), change-time indexes

The search matches words anywhere in a customer's names, pinyin, e-mails, phones, tax
ids and source keys (``LIKE '%word%'``); on PostgreSQL a GIN index of pg_trgm's trigrams
answers that without reading every customer (1,000,000 customers: see docs/benchmarks.md).
pg_trgm is a trusted extension: a store owner may create it. Where it is not available
the indexes are left out with a warning and the search reads the whole index table, as
on SQLite, which has no such index.

The search index's refresh looks for golden records and links changed since its last
round: indexes on their change times (every database).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: index name -> column of customer_search
TRIGRAM_INDEXES = {
    "ix_customer_search_name_terms_trgm": "name_terms",
    "ix_customer_search_key_terms_trgm": "key_terms",
}


#: index name -> (table, column): what changed since a time
CHANGE_INDEXES = {
    "ix_golden_customers_updated_at": ("golden_customers", "updated_at"),
    "ix_source_links_linked_at": ("source_links", "linked_at"),
    "ix_source_links_record_loaded_at": ("source_links", "record_loaded_at"),
}


def _has_trgm(bind: sa.Connection) -> bool:
    """Make sure pg_trgm is there; False when it cannot be (not installed, no right)."""
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    if not bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first():
        log.warning("pg_trgm is not installed: the customer search runs without its index")
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("cannot create extension pg_trgm (%s): no search index", exc.orig)
        return False
    return True


def upgrade() -> None:
    for name, (table, column) in CHANGE_INDEXES.items():
        op.create_index(name, table, [column])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_trgm(bind):
        return
    for name, column in TRIGRAM_INDEXES.items():
        op.create_index(
            name,
            "customer_search",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, (table, _column) in CHANGE_INDEXES.items():
        op.drop_index(name, table_name=table)
