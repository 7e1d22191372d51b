"""invoice links: /i/<token> links that open one invoice without an account

``portal_invoice_links`` keeps each link's token only as its SHA-256 hex digest
(unique), the invoice it reaches, who made it and for whom, when it expires or
was revoked, and when it was last used (portal.links.models).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_invoice_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=254), nullable=True),
    sa.Column('sent_to', sa.String(length=254), nullable=True),
    sa.Column('last_viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['ar_invoices.id'], name=op.f('fk_portal_invoice_links_invoice_id_ar_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_invoice_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_invoice_links_token_hash'))
    )
    with op.batch_alter_table('portal_invoice_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_invoice_links_invoice_id'), ['invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_invoice_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_invoice_links_invoice_id'))

    op.drop_table('portal_invoice_links')
