"""disputes: a customer's claim about an invoice, its thread, files and events

``portal_disputes`` (one invoice, reason code, amount on hold, who opened it,
how it ended), ``portal_dispute_lines`` (the invoice lines it is about),
``portal_dispute_messages`` and ``portal_dispute_attachments`` (the thread; the
files live in the attachment store under generated keys) and the append-only
``portal_dispute_events`` the ERP reads (portal.disputes.models, docs/ledger.md).
The vendor profile gains ``dispute_reasons`` (empty: the default list).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_disputes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opened_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_by_name', sa.String(length=120), nullable=False),
    sa.Column('opened_by_email', sa.String(length=254), nullable=False),
    sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assigned_to_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('credit_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('credit_memo_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to_user_id'], ['portal_users.id'], name=op.f('fk_portal_disputes_assigned_to_user_id_portal_users')),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['ar_credit_memos.id'], name=op.f('fk_portal_disputes_credit_memo_id_ar_credit_memos')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_disputes_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_portal_disputes_invoice_id_ar_invoices')),
    sa.ForeignKeyConstraint(['link_id'], ['portal_invoice_links.id'], name=op.f('fk_portal_disputes_link_id_portal_invoice_links')),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['portal_users.id'], name=op.f('fk_portal_disputes_opened_by_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_disputes'))
    )
    with op.batch_alter_table('portal_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_disputes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_disputes_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_disputes_status'), ['status'], unique=False)

    op.create_table('portal_dispute_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('actor_email', sa.String(length=254), nullable=True),
    sa.Column('invoice_number', sa.String(length=64), nullable=False),
    sa.Column('customer_number', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('credit_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('credit_memo_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['ar_credit_memos.id'], name=op.f('fk_portal_dispute_events_credit_memo_id_ar_credit_memos')),
    sa.ForeignKeyConstraint(['dispute_id'], ['portal_disputes.id'], name=op.f('fk_portal_dispute_events_dispute_id_portal_disputes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_dispute_events'))
    )
    with op.batch_alter_table('portal_dispute_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_dispute_events_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_dispute_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('portal_dispute_lines',
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['portal_disputes.id'], name=op.f('fk_portal_dispute_lines_dispute_id_portal_disputes')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['ar_invoice_lines.id'], name=op.f('fk_portal_dispute_lines_invoice_line_id_ar_invoice_lines')),
    sa.PrimaryKeyConstraint('dispute_id', 'invoice_line_id', name=op.f('pk_portal_dispute_lines'))
    )
    op.create_table('portal_dispute_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('author_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('author_name', sa.String(length=120), nullable=False),
    sa.Column('author_email', sa.String(length=254), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['portal_users.id'], name=op.f('fk_portal_dispute_messages_author_user_id_portal_users')),
    sa.ForeignKeyConstraint(['dispute_id'], ['portal_disputes.id'], name=op.f('fk_portal_dispute_messages_dispute_id_portal_disputes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_dispute_messages'))
    )
    with op.batch_alter_table('portal_dispute_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_dispute_messages_dispute_id'), ['dispute_id'], unique=False)

    op.create_table('portal_dispute_attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['portal_disputes.id'], name=op.f('fk_portal_dispute_attachments_dispute_id_portal_disputes')),
    sa.ForeignKeyConstraint(['message_id'], ['portal_dispute_messages.id'], name=op.f('fk_portal_dispute_attachments_message_id_portal_dispute_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_dispute_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_portal_dispute_attachments_storage_key'))
    )
    with op.batch_alter_table('portal_dispute_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_dispute_attachments_dispute_id'), ['dispute_id'], unique=False)

    with op.batch_alter_table('portal_vendor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispute_reasons', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('portal_vendor', schema=None) as batch_op:
        batch_op.drop_column('dispute_reasons')

    with op.batch_alter_table('portal_dispute_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_dispute_attachments_dispute_id'))

    op.drop_table('portal_dispute_attachments')
    with op.batch_alter_table('portal_dispute_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_dispute_messages_dispute_id'))

    op.drop_table('portal_dispute_messages')
    op.drop_table('portal_dispute_lines')
    with op.batch_alter_table('portal_dispute_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_dispute_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_portal_dispute_events_dispute_id'))

    op.drop_table('portal_dispute_events')
    with op.batch_alter_table('portal_disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_disputes_status'))
        batch_op.drop_index(batch_op.f('ix_portal_disputes_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_portal_disputes_customer_id'))

    op.drop_table('portal_disputes')
