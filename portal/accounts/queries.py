"""Reads for the accounts pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import AccountSettings, Invitation, User, UserSession


def user_by_email(session: Session, email: str) -> User | None:
    """Return the user with this (normalized) e-mail, if any."""
    return session.scalar(select(User).where(User.email == email))


def live_sessions(session: Session, user_id: int) -> list[UserSession]:
    """The user's sessions that have not ended, most recently used first."""
    return list(session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())))


def pending_invitations(session: Session, customer_id: int) -> list[Invitation]:
    """Invitations of the account not yet accepted or replaced, newest first."""
    return list(session.scalars(select(Invitation).where(
        Invitation.customer_id == customer_id, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)).order_by(Invitation.created_at.desc())))


def account_settings(session: Session, customer_id: int) -> AccountSettings | None:
    """The account's security settings, if any were saved."""
    return session.get(AccountSettings, customer_id)
