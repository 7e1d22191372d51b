"""plans: the vendor's policy, autopay from a bank account, reminders

``portal_vendor.plan_policy`` (JSON, empty: the defaults of
``portal.plans.schedule.Policy``); ``portal_plans.autopay_bank_account_id`` (a
verified bank account autopay debits, with the plan's ACH authorization,
``portal_ach_authorizations.plan_id``); ``portal_plan_installments.reminded_on``
(the day the reminder before an autopay debit went out).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_vendor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_policy", sa.JSON(), nullable=True))
    with op.batch_alter_table("portal_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("autopay_bank_account_id", sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key("fk_portal_plans_autopay_bank_account",
                                    "portal_bank_accounts", ["autopay_bank_account_id"], ["id"])
    with op.batch_alter_table("portal_plan_installments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_on", sa.Date(), nullable=True))
    with op.batch_alter_table("portal_ach_authorizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key("fk_portal_ach_authorizations_plan", "portal_plans",
                                    ["plan_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("portal_ach_authorizations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_portal_ach_authorizations_plan", type_="foreignkey")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("portal_plan_installments", schema=None) as batch_op:
        batch_op.drop_column("reminded_on")
    with op.batch_alter_table("portal_plans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_portal_plans_autopay_bank_account", type_="foreignkey")
        batch_op.drop_column("autopay_bank_account_id")
    with op.batch_alter_table("portal_vendor", schema=None) as batch_op:
        batch_op.drop_column("plan_policy")
