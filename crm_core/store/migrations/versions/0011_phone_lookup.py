"""phone lookup: golden customers by phone number; the last successful run of an entity

``golden_phones`` holds each golden customer's phone numbers (its own and its source
records') under their E.164 form and their national significant number, so that
``GET /lookup/phone/{number}`` (a screen pop from the phone system) reads one B-tree
entry instead of every customer. The next reconcile fills it for the golden records
already there.

The customer summary says how fresh each figure is: the finish time of the last
successful run of the source's stream of that entity; an index on the run ledger
answers it without reading every run.

Revision ID: 0011_phone_lookup
Revises: 0010_run_heartbeat
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_phone_lookup"
down_revision = "0010_run_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "golden_phones",
        sa.Column("phone_key", sa.String(24), nullable=False),
        sa.Column("golden_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("phone_key", "golden_id", name="pk_golden_phones"),
    )
    op.create_index("ix_golden_phones_golden_id", "golden_phones", ["golden_id"])
    op.create_index(
        "ix_hub_runs_source_entity_status_finished_at",
        "hub_runs",
        ["source", "entity", "status", "finished_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_hub_runs_source_entity_status_finished_at", table_name="hub_runs")
    op.drop_index("ix_golden_phones_golden_id", table_name="golden_phones")
    op.drop_table("golden_phones")
