"""invoice link payments: the payments started through an /i/<token> link

``portal_invoice_link_payments`` names, for each payment a payer started
through a link, the link it came through (portal.links.models.LinkPayment):
the link's pages show those payments and their receipts, and no others.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_invoice_link_payments',
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['portal_invoice_links.id'], name=op.f('fk_portal_invoice_link_payments_link_id_portal_invoice_links')),
    sa.ForeignKeyConstraint(['payment_id'], ['ar_payments.id'], name=op.f('fk_portal_invoice_link_payments_payment_id_ar_payments')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_portal_invoice_link_payments'))
    )
    with op.batch_alter_table('portal_invoice_link_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_invoice_link_payments_link_id'), ['link_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_invoice_link_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_invoice_link_payments_link_id'))

    op.drop_table('portal_invoice_link_payments')
