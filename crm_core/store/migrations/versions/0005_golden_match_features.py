"""golden records: each customer record's normalised match features, kept between runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "golden_match_features",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column(
            "record_loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "customer_id", name=op.f("pk_golden_match_features")),
    )


def downgrade() -> None:
    op.drop_table("golden_match_features")
