"""card checkout: what the checkout stored to charge a card, and credit used beside it

Columns on ``portal_card_payments`` (portal-side, not the ledger's contract):

- ``checkout_key``: the random key of the checkout page the payer submitted,
  unique, so a double click or a resubmitted form finds the payment it already
  started instead of starting a second one;
- ``payment_method_id`` and ``save_card``: the card (a Stripe PaymentMethod id,
  never card data) and whether to keep it, so the reconciliation sweep can repeat
  the PaymentIntent's creation with the same idempotency key and parameters when
  the portal never heard Stripe's answer;
- ``credit_minor``: account credit applied to the same invoices at the same
  checkout (posted as ``credit_applied`` entries), shown with the payment.

``ALTER TABLE ... ADD COLUMN`` and a unique index: the same on SQLite and
PostgreSQL.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("portal_card_payments",
                  sa.Column("checkout_key", sa.String(length=64), nullable=True))
    op.add_column("portal_card_payments",
                  sa.Column("payment_method_id", sa.String(length=255), nullable=True))
    op.add_column("portal_card_payments",
                  sa.Column("save_card", sa.Boolean(), nullable=False,
                            server_default=sa.false()))
    op.add_column("portal_card_payments",
                  sa.Column("credit_minor", BigId, nullable=False, server_default="0"))
    op.create_index(op.f("ix_portal_card_payments_checkout_key"), "portal_card_payments",
                    ["checkout_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_card_payments_checkout_key"),
                  table_name="portal_card_payments")
    with op.batch_alter_table("portal_card_payments") as batch:
        batch.drop_column("credit_minor")
        batch.drop_column("save_card")
        batch.drop_column("payment_method_id")
        batch.drop_column("checkout_key")
