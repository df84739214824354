"""reference codes: source codes without a crosswalk entry, counted

``hub_unmapped_codes`` counts, per source, stream, field and value, the rows a pull read
with a code that the mapping's crosswalk does not translate to a canonical code (the
value is kept in the record as the source wrote it); ``crm-hub codes unmapped`` lists them.

Revision ID: 0013_reference_codes
Revises: 0012_soft_deletes
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_core.store.types import UTCDateTime

revision = "0013_reference_codes"
down_revision = "0012_soft_deletes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_unmapped_codes",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream", "field", "value", name="pk_hub_unmapped_codes"),
    )


def downgrade() -> None:
    op.drop_table("hub_unmapped_codes")
