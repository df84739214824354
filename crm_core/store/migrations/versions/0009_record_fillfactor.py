"""record tables leave room in each page for updates (PostgreSQL fillfactor)

An incremental sync rewrites the changed rows of tables that a full sync filled page by
page. With free space in each page, PostgreSQL updates a row in place of its page (a HOT
update: no new index entries) instead of moving it; the cost is 15% more space.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: the record tables there are at this revision, and the room each page keeps
TABLES = (
    "customers",
    "contacts",
    "orders",
    "order_lines",
    "inventory",
    "credit",
    "invoices",
    "payments",
    "concessions",
)
FILLFACTOR = 85


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(sa.text(f'ALTER TABLE "{table}" SET (fillfactor = {FILLFACTOR})'))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(sa.text(f'ALTER TABLE "{table}" RESET (fillfactor)'))
