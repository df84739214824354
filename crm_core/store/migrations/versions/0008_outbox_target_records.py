"""push-back: find a target record's deliveries by (target, record_key)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 11:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_outbox_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hub_outbox_targets_target_record_key"),
            ["target", "record_key"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("hub_outbox_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_outbox_targets_target_record_key"))
