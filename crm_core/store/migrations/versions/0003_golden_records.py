"""golden records: field lineage, stewardship actions, the saved match model

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = crm_core.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "golden_lineage",
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("stream", sa.String(length=200), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("reconcile_run_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", When, nullable=False),
        sa.PrimaryKeyConstraint("golden_id", "field", name=op.f("pk_golden_lineage")),
    )
    op.create_table(
        "golden_stewardship",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("undone_at", When, nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_golden_stewardship")),
    )
    with op.batch_alter_table("golden_stewardship") as batch:
        batch.create_index(batch.f("ix_golden_stewardship_golden_id"), ["golden_id"])
    op.create_table(
        "golden_match_models",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_golden_match_models")),
    )
    with op.batch_alter_table("source_links") as batch:
        batch.add_column(sa.Column("record_loaded_at", When, nullable=True))
    with op.batch_alter_table("golden_customers") as batch:
        batch.create_index(batch.f("ix_golden_customers_merged_into"), ["merged_into"])


def downgrade() -> None:
    with op.batch_alter_table("golden_customers") as batch:
        batch.drop_index(batch.f("ix_golden_customers_merged_into"))
    with op.batch_alter_table("source_links") as batch:
        batch.drop_column("record_loaded_at")
    op.drop_table("golden_match_models")
    with op.batch_alter_table("golden_stewardship") as batch:
        batch.drop_index(batch.f("ix_golden_stewardship_golden_id"))
    op.drop_table("golden_stewardship")
    op.drop_table("golden_lineage")
