"""vendor profile: the single-row table portal_vendor (portal/vendor/models.py)

The vendor that runs the portal: names, logo, remit-to address, support
contacts, time zone and its payment policies (discount base, pro-rated
discounts on partial payments, short-pay reasons). Not part of the shared
ledger's contract; only the portal writes it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_vendor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("logo_path", sa.String(length=255), nullable=True),
        sa.Column("remit_to", sa.Text(), nullable=True),
        sa.Column("support_email", sa.String(length=254), nullable=True),
        sa.Column("support_phone", sa.String(length=40), nullable=True),
        sa.Column("website", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("discount_base", sa.String(length=16), nullable=False),
        sa.Column("prorate_partial_discounts", sa.Boolean(), nullable=False),
        sa.Column("short_pay_reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("discount_base IN ('total', 'subtotal')",
                           name=op.f("ck_portal_vendor_discount_base_known")),
        sa.CheckConstraint("id = 1", name=op.f("ck_portal_vendor_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_vendor")),
    )


def downgrade() -> None:
    op.drop_table("portal_vendor")
