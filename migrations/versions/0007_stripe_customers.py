"""Stripe customers: which Stripe customer is each customer account's

One portal-side row per customer account that has paid by card (or saved one):
the id of its Stripe customer, stored the first time the checkout asks Stripe for
it, so that every later payment and saved card uses the same one (Stripe has no
lookup by the portal's id that both the real API and the local stand-in serve).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portal_stripe_customers",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["ar_customers.id"],
                                name=op.f("fk_portal_stripe_customers_customer_id_ar_customers")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_portal_stripe_customers")),
        sa.UniqueConstraint("stripe_customer_id",
                            name=op.f("uq_portal_stripe_customers_stripe_customer_id")),
    )


def downgrade() -> None:
    op.drop_table("portal_stripe_customers")
