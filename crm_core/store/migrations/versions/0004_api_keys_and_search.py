"""HTTP API: hashed API keys and the customer search index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = crm_core.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hub_api_keys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_at", When, nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_api_keys")),
    )
    with op.batch_alter_table("hub_api_keys") as batch:
        batch.create_index(batch.f("ix_hub_api_keys_key_id"), ["key_id"], unique=True)
    op.create_table(
        "customer_search",
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("name_terms", sa.Text(), nullable=False),
        sa.Column("key_terms", sa.Text(), nullable=False),
        sa.Column("mark", When, nullable=False),
        sa.PrimaryKeyConstraint("golden_id", name=op.f("pk_customer_search")),
    )
    with op.batch_alter_table("customer_search") as batch:
        batch.create_index(batch.f("ix_customer_search_mark"), ["mark"])


def downgrade() -> None:
    with op.batch_alter_table("customer_search") as batch:
        batch.drop_index(batch.f("ix_customer_search_mark"))
    op.drop_table("customer_search")
    with op.batch_alter_table("hub_api_keys") as batch:
        batch.drop_index(batch.f("ix_hub_api_keys_key_id"))
    op.drop_table("hub_api_keys")
