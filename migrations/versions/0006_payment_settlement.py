"""payment settlement: Stripe webhook events seen, and card details of card payments

Two portal-side tables (portal/payments/models.py), not part of the shared
ledger's contract; ``ar_payments`` is unchanged, so the ERP's reads are too:

- ``portal_stripe_events``: one row per Stripe event id handled, unique, so a
  replayed webhook is a no-op;
- ``portal_card_payments``: per card payment, the card's brand and last four,
  the PaymentIntent status last seen, and an amount Stripe reported that
  disagrees with the payment's.

Plain CREATE TABLEs: the same on SQLite and PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portal_stripe_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_id", BigId, nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["ar_payments.id"],
                                name=op.f("fk_portal_stripe_events_payment_id_ar_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_portal_stripe_events_event_id")),
    )
    op.create_index(op.f("ix_portal_stripe_events_payment_id"), "portal_stripe_events",
                    ["payment_id"])
    op.create_table(
        "portal_card_payments",
        sa.Column("payment_id", BigId, nullable=False),
        sa.Column("brand", sa.String(length=20), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=True),
        sa.Column("intent_status", sa.String(length=40), nullable=True),
        sa.Column("mismatch_amount_minor", BigId, nullable=True),
        sa.Column("mismatch_currency", sa.String(length=3), nullable=True),
        sa.Column("mismatch_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["ar_payments.id"],
                                name=op.f("fk_portal_card_payments_payment_id_ar_payments")),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_portal_card_payments")),
    )


def downgrade() -> None:
    op.drop_table("portal_card_payments")
    op.drop_index(op.f("ix_portal_stripe_events_payment_id"), table_name="portal_stripe_events")
    op.drop_table("portal_stripe_events")
