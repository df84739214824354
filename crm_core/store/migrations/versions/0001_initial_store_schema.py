"""initial store schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 03:28:34.371702
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm_core.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contacts',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('role', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'contact_id', name=op.f('pk_contacts'))
    )
    op.create_table('credit',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('credit_limit', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('exposure', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('available', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('on_hold', sa.Boolean(), nullable=True),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('risk_class', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'customer_id', name=op.f('pk_credit'))
    )
    op.create_table('customers',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=200), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('tax_id', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('street2', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('region', sa.Text(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('country', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'customer_id', name=op.f('pk_customers'))
    )
    op.create_table('golden_customers',
    sa.Column('golden_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('tax_id', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('region', sa.Text(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('merged_into', sa.String(length=64), nullable=True),
    sa.Column('created_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('golden_id', name=op.f('pk_golden_customers'))
    )
    op.create_table('hub_quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('record_key', sa.Text(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_quarantine'))
    )
    with op.batch_alter_table('hub_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_quarantine_source_stream_status'), ['source', 'stream', 'status'], unique=False)

    op.create_table('hub_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_loaded', sa.BigInteger(), nullable=False),
    sa.Column('rows_quarantined', sa.BigInteger(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('watermark', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_runs'))
    )
    with op.batch_alter_table('hub_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_runs_source_stream_started_at'), ['source', 'stream', 'started_at'], unique=False)

    op.create_table('hub_stream_state',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('position', sa.JSON(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', name=op.f('pk_hub_stream_state'))
    )
    op.create_table('inventory',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('product_line', sa.Text(), nullable=True),
    sa.Column('on_hand', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('allocated', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('available', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('on_order', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'item_id', 'warehouse', name=op.f('pk_inventory'))
    )
    op.create_table('invoices',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('open_amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=200), nullable=False),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'invoice_id', name=op.f('pk_invoices'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_source_customer_id'), ['source', 'customer_id'], unique=False)

    op.create_table('order_lines',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_no', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=200), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'order_id', 'line_no', name=op.f('pk_order_lines'))
    )
    op.create_table('orders',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Text(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('requested_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('total_amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'order_id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_source_customer_id'), ['source', 'customer_id'], unique=False)

    op.create_table('payments',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.Text(), nullable=True),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('amount', crm_core.store.types.ExactDecimal(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('updated_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source', 'payment_id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_source_customer_id'), ['source', 'customer_id'], unique=False)

    op.create_table('source_links',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=200), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('golden_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('linked_at', crm_core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', 'stream', 'source_key', name=op.f('pk_source_links'))
    )
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_links_golden_id'), ['golden_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_links_golden_id'))

    op.drop_table('source_links')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_source_customer_id'))

    op.drop_table('payments')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_source_customer_id'))

    op.drop_table('orders')
    op.drop_table('order_lines')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_source_customer_id'))

    op.drop_table('invoices')
    op.drop_table('inventory')
    op.drop_table('hub_stream_state')
    with op.batch_alter_table('hub_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_runs_source_stream_started_at'))

    op.drop_table('hub_runs')
    with op.batch_alter_table('hub_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_quarantine_source_stream_status'))

    op.drop_table('hub_quarantine')
    op.drop_table('golden_customers')
    op.drop_table('customers')
    op.drop_table('credit')
    op.drop_table('contacts')
