"""run ledger: each run's heartbeat, host and process id

A run whose process is gone (killed, its machine lost) stays ``running`` in the ledger; a
heartbeat the run keeps fresh, and where it runs, let readers see it as interrupted.

Revision ID: 0010_run_heartbeat
Revises: 0009
Create Date: 2026-12-01 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_core.store.types import UTCDateTime

revision = "0010_run_heartbeat"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_runs") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
        batch.drop_column("heartbeat_at")
