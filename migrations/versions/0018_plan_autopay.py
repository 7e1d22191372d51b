"""plan autopay: the saved card a plan charges, and each installment's attempts

``portal_plans.autopay_method_id`` (a saved card of the account, empty: paid by
hand); ``portal_plan_installments.attempts`` and ``last_attempt_on`` (autopay tries
an installment once, and once more on a later day if the card was declined).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('portal_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('autopay_method_id', sa.String(length=255), nullable=True))
    with op.batch_alter_table('portal_plan_installments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('last_attempt_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_plan_installments', schema=None) as batch_op:
        batch_op.drop_column('last_attempt_on')
        batch_op.drop_column('attempts')
    with op.batch_alter_table('portal_plans', schema=None) as batch_op:
        batch_op.drop_column('autopay_method_id')
