"""soft deletes: every record table's deleted_at and deleted_run_id; hub_runs.rows_deleted;
golden_customers.retired_at

A record the source no longer has keeps its row and gains when, and by which run, it was
seen deleted; a run counts the records it marked deleted; a golden customer whose every
source record is deleted is retired (its id kept).

Revision ID: 0012_soft_deletes
Revises: 0011_phone_lookup
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_core.store.types import UTCDateTime

revision = "0012_soft_deletes"
down_revision = "0011_phone_lookup"
branch_labels = None
depends_on = None

#: the record tables there are at this revision
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


def upgrade() -> None:
    for entity in TABLES:
        with op.batch_alter_table(entity) as batch:
            batch.add_column(sa.Column("deleted_at", UTCDateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("deleted_run_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("golden_customers") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("hub_runs") as batch:
        batch.add_column(
            sa.Column("rows_deleted", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("hub_runs") as batch:
        batch.drop_column("rows_deleted")
    with op.batch_alter_table("golden_customers") as batch:
        batch.drop_column("retired_at")
    for entity in TABLES:
        with op.batch_alter_table(entity) as batch:
            batch.drop_column("deleted_run_id")
            batch.drop_column("deleted_at")
