"""installed base, service history and campaigns: five record tables (seed 004)

``assets`` (serial-numbered products a customer owns, warranty and service contract),
``service_requests`` and ``service_surveys`` (tickets and their satisfaction answers),
``campaigns`` and ``campaign_touches``. Record tables like the others, keyed by
``(source, natural key)``; they carry the soft-delete columns ``deleted_at`` and
``deleted_run_id`` from the start.

Revision ID: 0014_seed004_entities
Revises: 0013_reference_codes
Create Date: 2026-12-04 19:40:42.636378
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types


revision = "0014_seed004_entities"
down_revision = "0013_reference_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("serial_number", sa.Text(), nullable=True),
        sa.Column(
            "quantity", crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True
        ),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("install_site", sa.Text(), nullable=True),
        sa.Column("warranty_end", sa.Date(), nullable=True),
        sa.Column("service_contract_id", sa.Text(), nullable=True),
        sa.Column("service_contract_end", sa.Date(), nullable=True),
        sa.Column("parent_asset_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=200), nullable=True),
        sa.Column("updated_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source", "asset_id", name=op.f("pk_assets")),
        postgresql_with={"fillfactor": 85},
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assets_serial_number"), ["serial_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assets_source_customer_id"), ["source", "customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assets_loaded_at"), ["loaded_at"], unique=False)

    op.create_table(
        "campaign_touches",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("touch_id", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("customer_source", sa.Text(), nullable=True),
        sa.Column("lead_id", sa.Text(), nullable=True),
        sa.Column("touched_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("response", sa.String(length=200), nullable=True),
        sa.Column("updated_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source", "touch_id", name=op.f("pk_campaign_touches")),
        postgresql_with={"fillfactor": 85},
    )
    with op.batch_alter_table("campaign_touches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_touches_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_touches_source_campaign_id"),
            ["source", "campaign_id"],
            unique=False,
        )

    op.create_table(
        "campaigns",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("cost", crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("updated_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source", "campaign_id", name=op.f("pk_campaigns")),
        postgresql_with={"fillfactor": 85},
    )
    op.create_table(
        "service_requests",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("customer_source", sa.Text(), nullable=True),
        sa.Column("asset_id", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("opened_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("sla_due_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("resolved_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("satisfaction_score", sa.BigInteger(), nullable=True),
        sa.Column("satisfaction_comment", sa.Text(), nullable=True),
        sa.Column("updated_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source", "request_id", name=op.f("pk_service_requests")),
        postgresql_with={"fillfactor": 85},
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_requests_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "service_surveys",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("answered_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("updated_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("loaded_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_run_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source", "survey_id", name=op.f("pk_service_surveys")),
        postgresql_with={"fillfactor": 85},
    )
    with op.batch_alter_table("service_surveys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_surveys_source_request_id"),
            ["source", "request_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("service_surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_surveys_source_request_id"))

    op.drop_table("service_surveys")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_requests_customer_id"))

    op.drop_table("service_requests")
    op.drop_table("campaigns")
    with op.batch_alter_table("campaign_touches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_touches_source_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_touches_customer_id"))

    op.drop_table("campaign_touches")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_source_customer_id"))
        batch_op.drop_index(batch_op.f("ix_assets_serial_number"))
        batch_op.drop_index(batch_op.f("ix_assets_loaded_at"))

    op.drop_table("assets")
