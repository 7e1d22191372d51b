"""Who may sign in and what they may do: users, memberships, sessions, tokens, audit.

Invariants:

- A user's e-mail is stored lower-cased and is unique.
- A customer user reaches a customer account only through a membership, whose
  role is ``admin``, ``payer`` or ``viewer``. Vendor staff have a
  ``staff_role`` (``ar_admin``, ``collector``, ``viewer``) and no memberships.
- Sessions live on the server (``portal_sessions``); the browser holds only a
  random session token, which the table stores as a SHA-256 hash. A session
  that is revoked, idle too long or past its absolute lifetime is over,
  whatever the cookie says.
- Invitation and password-reset tokens are single-use, expire, and are stored
  only as hashes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime
from portal.ledger.models import BigId, Customer, utcnow

CUSTOMER_ROLES = ("admin", "payer", "viewer")
STAFF_ROLES = ("ar_admin", "collector", "viewer")


class User(Base):
    """A person who signs in: a customer's AP staff or the vendor's AR staff."""

    __tablename__ = "portal_users"
    __table_args__ = (
        CheckConstraint(f"staff_role IS NULL OR staff_role IN {STAFF_ROLES!r}",
                        name="staff_role_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))
    staff_role: Mapped[str | None] = mapped_column(String(20))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_customer_id: Mapped[int | None] = mapped_column(ForeignKey("ar_customers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.id", cascade="all, delete-orphan")

    @property
    def is_staff(self) -> bool:
        """True for the vendor's AR staff."""
        return self.staff_role is not None

    @property
    def totp_enabled(self) -> bool:
        """True once the user has confirmed a second factor."""
        return self.totp_enabled_at is not None


class Membership(Base):
    """A user's role in one customer account."""

    __tablename__ = "portal_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "customer_id"),
        CheckConstraint(f"role IN {CUSTOMER_ROLES!r}", name="role_known"),
        Index("ix_portal_memberships_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    customer: Mapped[Customer] = relationship()


class AccountSettings(Base):
    """Per-customer-account settings the account admin (or the vendor) controls."""

    __tablename__ = "portal_account_settings"

    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), primary_key=True)
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    require_totp_by_vendor: Mapped[bool] = mapped_column(Boolean, default=False)


class UserSession(Base):
    """A signed-in session, kept on the server so sign-out ends it for real."""

    __tablename__ = "portal_sessions"
    __table_args__ = (Index("ix_portal_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("ar_customers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set once the second factor was given (or when none is needed).
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class Invitation(Base):
    """An invitation to join a customer account with a role."""

    __tablename__ = "portal_invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    invited_by: Mapped[User] = relationship()


class PasswordReset(Base):
    """A single-use password reset token."""

    __tablename__ = "portal_password_resets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed sign-ins per e-mail (hashed, so unknown addresses are tracked alike)."""

    __tablename__ = "portal_login_throttle"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Something security-relevant that happened: who, when, from where."""

    __tablename__ = "portal_audit_events"
    __table_args__ = (
        Index("ix_portal_audit_events_customer_at", "customer_id", "at"),
        Index("ix_portal_audit_events_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    actor_email: Mapped[str | None] = mapped_column(String(254))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("ar_customers.id"))
    subject: Mapped[str | None] = mapped_column(String(254))
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
