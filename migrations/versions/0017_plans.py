"""installment plans: requests, their terms, the invoices they cover, installments

``portal_plans`` (one customer, currency and total; requested, countered, active,
rejected, declined, defaulted or completed; why the policy sent it to staff),
``portal_plan_terms`` (every proposal, version 1 the customer's),
``portal_plan_invoices`` (the invoices, oldest due first) and
``portal_plan_installments`` (an active plan's payments; number 0 the down payment).
See portal.plans.models.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_plans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('policy_reasons', sa.JSON(), nullable=False),
    sa.Column('requested_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=254), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_plans_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['portal_users.id'], name=op.f('fk_portal_plans_requested_by_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_plans'))
    )
    with op.batch_alter_table('portal_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_plans_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_plans_status'), ['status'], unique=False)

    op.create_table('portal_plan_installments',
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['ar_payments.id'], name=op.f('fk_portal_plan_installments_payment_id_ar_payments')),
    sa.ForeignKeyConstraint(['plan_id'], ['portal_plans.id'], name=op.f('fk_portal_plan_installments_plan_id_portal_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'number', name=op.f('pk_portal_plan_installments'))
    )
    with op.batch_alter_table('portal_plan_installments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_plan_installments_due_on'), ['due_on'], unique=False)

    op.create_table('portal_plan_invoices',
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_portal_plan_invoices_invoice_id_ar_invoices')),
    sa.ForeignKeyConstraint(['plan_id'], ['portal_plans.id'], name=op.f('fk_portal_plan_invoices_plan_id_portal_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'invoice_id', name=op.f('pk_portal_plan_invoices'))
    )
    with op.batch_alter_table('portal_plan_invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_plan_invoices_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('portal_plan_terms',
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('first_due_on', sa.Date(), nullable=False),
    sa.Column('down_minor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['portal_plans.id'], name=op.f('fk_portal_plan_terms_plan_id_portal_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'version', name=op.f('pk_portal_plan_terms'))
    )


def downgrade() -> None:
    op.drop_table('portal_plan_terms')
    with op.batch_alter_table('portal_plan_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_plan_invoices_invoice_id'))

    op.drop_table('portal_plan_invoices')
    with op.batch_alter_table('portal_plan_installments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_plan_installments_due_on'))

    op.drop_table('portal_plan_installments')
    with op.batch_alter_table('portal_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_plans_status'))
        batch_op.drop_index(batch_op.f('ix_portal_plans_customer_id'))

    op.drop_table('portal_plans')
