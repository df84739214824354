"""push-back: outbox, deliveries, conflicts, concessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:21:09.118598
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('concessions',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('concession_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=200), nullable=False),
    sa.Column('amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('percent', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approver', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=200), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'concession_id', name=op.f('pk_concessions'))
    )
    with op.batch_alter_table('concessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concessions_source_customer_id'), ['source', 'customer_id'], unique=False)

    op.create_table('hub_conflicts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('change_id', sa.String(length=40), nullable=False),
    sa.Column('golden_id', sa.String(length=64), nullable=True),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('crm_value', sa.Text(), nullable=True),
    sa.Column('target_value', sa.Text(), nullable=True),
    sa.Column('pulled_value', sa.Text(), nullable=True),
    sa.Column('crm_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('target_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('policy', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_conflicts'))
    )
    with op.batch_alter_table('hub_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_conflicts_change_id'), ['change_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hub_conflicts_state_id'), ['state', 'id'], unique=False)

    op.create_table('hub_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('change_id', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('golden_id', sa.String(length=64), nullable=True),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=16), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('created_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_outbox'))
    )
    with op.batch_alter_table('hub_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_outbox_change_id'), ['change_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_hub_outbox_golden_id_id'), ['golden_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hub_outbox_idempotency_key'), ['idempotency_key'], unique=True)
        batch_op.create_index(batch_op.f('ix_hub_outbox_state_next_attempt_at'), ['state', 'next_attempt_at'], unique=False)

    op.create_table('hub_outbox_targets',
    sa.Column('change_id', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('target_key', sa.JSON(), nullable=True),
    sa.Column('written', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('written_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('echoed_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('echo_run_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('change_id', 'target', 'record_key', name=op.f('pk_hub_outbox_targets'))
    )
    with op.batch_alter_table('hub_outbox_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_outbox_targets_target_stream_echoed_at'), ['target', 'stream', 'echoed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hub_outbox_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_outbox_targets_target_stream_echoed_at'))

    op.drop_table('hub_outbox_targets')
    with op.batch_alter_table('hub_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_outbox_state_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_hub_outbox_idempotency_key'))
        batch_op.drop_index(batch_op.f('ix_hub_outbox_golden_id_id'))
        batch_op.drop_index(batch_op.f('ix_hub_outbox_change_id'))

    op.drop_table('hub_outbox')
    with op.batch_alter_table('hub_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_conflicts_state_id'))
        batch_op.drop_index(batch_op.f('ix_hub_conflicts_change_id'))

    op.drop_table('hub_conflicts')
    with op.batch_alter_table('concessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concessions_source_customer_id'))

    op.drop_table('concessions')
