"""ledger tables: customers, invoices, credit memos, payments and the journal (docs/ledger.md)

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:05:13.268329
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from portal.db import ExactDecimal

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('ar_customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_limit_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('default_terms', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('billing_address', sa.Text(), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_customers')),
    sa.UniqueConstraint('number', name=op.f('uq_ar_customers_number'))
    )
    op.create_table('ar_customer_contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_customer_contacts_customer_id_ar_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_customer_contacts')),
    sa.UniqueConstraint('customer_id', 'email', name=op.f('uq_ar_customer_contacts_customer_id'))
    )
    with op.batch_alter_table('ar_customer_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ar_customer_contacts_customer_id'), ['customer_id'], unique=False)

    op.create_table('ar_invoices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tax_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('total_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('po_number', sa.String(length=64), nullable=True),
    sa.Column('terms', sa.String(length=40), nullable=False),
    sa.Column('net_days', sa.Integer(), nullable=False),
    sa.Column('discount_percent', ExactDecimal(5, 2), nullable=True),
    sa.Column('discount_days', sa.Integer(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('balance_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reserved_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance_minor >= 0', name=op.f('ck_ar_invoices_balance_not_negative')),
    sa.CheckConstraint('reserved_minor >= 0', name=op.f('ck_ar_invoices_reserved_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_invoices_customer_id_ar_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_ar_invoices_number'))
    )
    with op.batch_alter_table('ar_invoices', schema=None) as batch_op:
        batch_op.create_index('ix_ar_invoices_customer_due', ['customer_id', 'due_date', 'id'], unique=False)
        batch_op.create_index('ix_ar_invoices_customer_status_due', ['customer_id', 'status', 'due_date', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ar_invoices_po_number'), ['po_number'], unique=False)

    op.create_table('ar_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('gateway_ref', sa.String(length=255), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('payer_name', sa.String(length=200), nullable=True),
    sa.Column('payer_email', sa.String(length=254), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('card', 'ach', 'external')", name=op.f('ck_ar_payments_method_known')),
    sa.CheckConstraint("status IN ('pending', 'requires_action', 'processing', 'succeeded', 'failed', 'canceled', 'reversed')", name=op.f('ck_ar_payments_status_known')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_ar_payments_amount_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_payments_customer_id_ar_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_payments')),
    sa.UniqueConstraint('gateway_ref', name=op.f('uq_ar_payments_gateway_ref'))
    )
    with op.batch_alter_table('ar_payments', schema=None) as batch_op:
        batch_op.create_index('ix_ar_payments_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ar_payments_status', ['status'], unique=False)

    op.create_table('ar_credit_memos',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_credit_memos_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_credit_memos_invoice_id_ar_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_credit_memos')),
    sa.UniqueConstraint('number', name=op.f('uq_ar_credit_memos_number'))
    )
    with op.batch_alter_table('ar_credit_memos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ar_credit_memos_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ar_credit_memos_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('ar_invoice_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('quantity', ExactDecimal(14, 4), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tax_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_invoice_lines_invoice_id_ar_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_invoice_lines')),
    sa.UniqueConstraint('invoice_id', 'position', name=op.f('uq_ar_invoice_lines_invoice_id'))
    )
    op.create_table('ar_reservations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('discount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('short_pay_reason', sa.String(length=64), nullable=True),
    sa.Column('short_pay_note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_minor + discount_minor > 0', name=op.f('ck_ar_reservations_not_empty')),
    sa.CheckConstraint('amount_minor >= 0 AND discount_minor >= 0', name=op.f('ck_ar_reservations_amounts_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_reservations_invoice_id_ar_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['ar_payments.id'], name=op.f('fk_ar_reservations_payment_id_ar_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_reservations')),
    sa.UniqueConstraint('payment_id', 'invoice_id', name=op.f('uq_ar_reservations_payment_id'))
    )
    with op.batch_alter_table('ar_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ar_reservations_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('ar_journal_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('credit_memo_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reverses_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['ar_credit_memos.id'], name=op.f('fk_ar_journal_entries_credit_memo_id_ar_credit_memos')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_journal_entries_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_journal_entries_invoice_id_ar_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['ar_payments.id'], name=op.f('fk_ar_journal_entries_payment_id_ar_payments')),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['ar_journal_entries.id'], name=op.f('fk_ar_journal_entries_reverses_entry_id_ar_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_journal_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ar_journal_entries_idempotency_key'))
    )
    with op.batch_alter_table('ar_journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ar_journal_entries_payment', ['payment_id'], unique=False)

    op.create_table('ar_journal_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.CheckConstraint('amount_minor <> 0', name=op.f('ck_ar_journal_lines_amount_not_zero')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_ar_journal_lines_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['entry_id'], ['ar_journal_entries.id'], name=op.f('fk_ar_journal_lines_entry_id_ar_journal_entries')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_journal_lines_invoice_id_ar_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_journal_lines'))
    )
    with op.batch_alter_table('ar_journal_lines', schema=None) as batch_op:
        batch_op.create_index('ix_ar_journal_lines_customer', ['customer_id', 'account', 'currency'], unique=False)
        batch_op.create_index(batch_op.f('ix_ar_journal_lines_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_ar_journal_lines_invoice', ['invoice_id', 'account'], unique=False)

    op.create_table('ar_payment_allocations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('discount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('short_pay_reason', sa.String(length=64), nullable=True),
    sa.Column('short_pay_note', sa.String(length=500), nullable=True),
    sa.CheckConstraint('amount_minor >= 0 AND discount_minor >= 0', name=op.f('ck_ar_payment_allocations_amounts_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['ar_journal_entries.id'], name=op.f('fk_ar_payment_allocations_entry_id_ar_journal_entries')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_ar_payment_allocations_invoice_id_ar_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['ar_payments.id'], name=op.f('fk_ar_payment_allocations_payment_id_ar_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_payment_allocations')),
    sa.UniqueConstraint('payment_id', 'invoice_id', name=op.f('uq_ar_payment_allocations_payment_id'))
    )
    with op.batch_alter_table('ar_payment_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ar_payment_allocations_invoice_id'), ['invoice_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('ar_payment_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ar_payment_allocations_invoice_id'))

    op.drop_table('ar_payment_allocations')
    with op.batch_alter_table('ar_journal_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_ar_journal_lines_invoice')
        batch_op.drop_index(batch_op.f('ix_ar_journal_lines_entry_id'))
        batch_op.drop_index('ix_ar_journal_lines_customer')

    op.drop_table('ar_journal_lines')
    with op.batch_alter_table('ar_journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ar_journal_entries_payment')

    op.drop_table('ar_journal_entries')
    with op.batch_alter_table('ar_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ar_reservations_invoice_id'))

    op.drop_table('ar_reservations')
    op.drop_table('ar_invoice_lines')
    with op.batch_alter_table('ar_credit_memos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ar_credit_memos_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_ar_credit_memos_customer_id'))

    op.drop_table('ar_credit_memos')
    with op.batch_alter_table('ar_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_ar_payments_status')
        batch_op.drop_index('ix_ar_payments_customer_created')

    op.drop_table('ar_payments')
    with op.batch_alter_table('ar_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ar_invoices_po_number'))
        batch_op.drop_index('ix_ar_invoices_customer_status_due')
        batch_op.drop_index('ix_ar_invoices_customer_due')

    op.drop_table('ar_invoices')
    with op.batch_alter_table('ar_customer_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ar_customer_contacts_customer_id'))

    op.drop_table('ar_customer_contacts')
    op.drop_table('ar_customers')

