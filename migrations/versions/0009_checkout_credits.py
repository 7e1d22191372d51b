"""checkout credits: account credit a card payment will apply when it settles

One row per invoice of a card checkout that the payer asked to pay partly or
wholly with the account's credit. The credit is applied (``credit_applied``
ledger entries) in the transaction that settles the card payment, never before:
a declined card leaves the credit unspent. While the payment is unsettled its
rows count against the credit the next checkout may use, so two checkouts cannot
promise the same credit twice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portal_checkout_credits",
        sa.Column("payment_id", BigId, nullable=False),
        sa.Column("invoice_id", BigId, nullable=False),
        sa.Column("amount_minor", BigId, nullable=False),
        sa.Column("discount_minor", BigId, nullable=False),
        sa.Column("applied_minor", BigId, nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["ar_payments.id"],
                                name=op.f("fk_portal_checkout_credits_payment_id_ar_payments")),
        sa.ForeignKeyConstraint(["invoice_id"], ["ar_invoices.id"],
                                name=op.f("fk_portal_checkout_credits_invoice_id_ar_invoices")),
        sa.PrimaryKeyConstraint("payment_id", "invoice_id",
                                name=op.f("pk_portal_checkout_credits")),
    )


def downgrade() -> None:
    op.drop_table("portal_checkout_credits")
