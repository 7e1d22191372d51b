"""accounts and sessions: users, memberships, server-side sessions, invitations, resets, audit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:15:21.419374
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('portal_login_throttle',
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('email_hash', name=op.f('pk_portal_login_throttle'))
    )
    op.create_table('portal_account_settings',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('require_totp', sa.Boolean(), nullable=False),
    sa.Column('require_totp_by_vendor', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_account_settings_customer_id_ar_customers')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_portal_account_settings'))
    )
    op.create_table('portal_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('staff_role', sa.String(length=20), nullable=True),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('require_totp', sa.Boolean(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("staff_role IS NULL OR staff_role IN ('ar_admin', 'collector', 'viewer')", name=op.f('ck_portal_users_staff_role_known')),
    sa.ForeignKeyConstraint(['last_customer_id'], ['ar_customers.id'], name=op.f('fk_portal_users_last_customer_id_ar_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_users')),
    sa.UniqueConstraint('email', name=op.f('uq_portal_users_email'))
    )
    op.create_table('portal_audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject', sa.String(length=254), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_audit_events_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['user_id'], ['portal_users.id'], name=op.f('fk_portal_audit_events_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_audit_events'))
    )
    with op.batch_alter_table('portal_audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_portal_audit_events_customer_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index('ix_portal_audit_events_user_at', ['user_id', 'at'], unique=False)

    op.create_table('portal_invitations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('invited_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_invitations_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['portal_users.id'], name=op.f('fk_portal_invitations_invited_by_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_invitations_token_hash'))
    )
    with op.batch_alter_table('portal_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_invitations_customer_id'), ['customer_id'], unique=False)

    op.create_table('portal_memberships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'payer', 'viewer')", name=op.f('ck_portal_memberships_role_known')),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_memberships_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['user_id'], ['portal_users.id'], name=op.f('fk_portal_memberships_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_memberships')),
    sa.UniqueConstraint('user_id', 'customer_id', name=op.f('uq_portal_memberships_user_id'))
    )
    with op.batch_alter_table('portal_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_portal_memberships_customer', ['customer_id'], unique=False)

    op.create_table('portal_password_resets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['portal_users.id'], name=op.f('fk_portal_password_resets_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_password_resets_token_hash'))
    )
    with op.batch_alter_table('portal_password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_password_resets_user_id'), ['user_id'], unique=False)

    op.create_table('portal_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=40), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['ar_customers.id'], name=op.f('fk_portal_sessions_customer_id_ar_customers')),
    sa.ForeignKeyConstraint(['user_id'], ['portal_users.id'], name=op.f('fk_portal_sessions_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_sessions_token_hash'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_portal_sessions_user', ['user_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_sessions_user')

    op.drop_table('portal_sessions')
    with op.batch_alter_table('portal_password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_password_resets_user_id'))

    op.drop_table('portal_password_resets')
    with op.batch_alter_table('portal_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_memberships_customer')

    op.drop_table('portal_memberships')
    with op.batch_alter_table('portal_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_invitations_customer_id'))

    op.drop_table('portal_invitations')
    with op.batch_alter_table('portal_audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_audit_events_user_at')
        batch_op.drop_index('ix_portal_audit_events_customer_at')

    op.drop_table('portal_audit_events')
    op.drop_table('portal_users')
    op.drop_table('portal_account_settings')
    op.drop_table('portal_login_throttle')

