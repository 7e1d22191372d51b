"""one-off bank accounts: the Stripe customer each lives on

A bank account connected through an invoice link for one debit is attached to a
Stripe customer of its own, not the account's, so the account's saved bank
accounts (and a later link of the same account by its admin) never meet it:
``portal_bank_accounts.stripe_customer_id`` names that customer (empty: the
account's own, portal_stripe_customers).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('portal_bank_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_customer_id', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_bank_accounts', schema=None) as batch_op:
        batch_op.drop_column('stripe_customer_id')
