"""Managing people: users, memberships and roles, invitations, passwords, second factor.

Services take the session and plain values, raise :class:`AccountError` with a
message for people, and never commit. E-mail goes out only after the caller's
unit of work commits: functions that e-mail return what to send, and the view
schedules it with ``uow.after_commit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts import audit, auth
from portal.accounts.audit import Origin
from portal.accounts.credentials import (
    hash_password,
    new_token,
    password_problem,
    token_hash,
    verify_password,
)
from portal.accounts.models import (
    CUSTOMER_ROLES,
    STAFF_ROLES,
    AccountSettings,
    Invitation,
    Membership,
    PasswordReset,
    User,
    UserSession,
)
from portal.ledger.models import Customer, utcnow


class AccountError(Exception):
    """A request about accounts that cannot be done; the message says why."""


class NotMember(AccountError):
    """The user named is not in this account: to the asker, it does not exist (404)."""


class TokenInvalid(AccountError):
    """A link token that is unknown, used or revoked."""


class TokenExpired(AccountError):
    """A link token past its expiry."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token to e-mail (in clear, once) and the row that stores its hash."""

    token: str
    email: str
    expires_at: dt.datetime


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _check_password(password: str, email: str) -> None:
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)


def create_user(session: Session, *, email: str, name: str, password: str | None,
                staff_role: str | None = None, locale: str | None = None) -> User:
    """Create a user (customer or staff); the e-mail must be new."""
    email = auth.normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Enter a valid e-mail address.")
    if staff_role is not None and staff_role not in STAFF_ROLES:
        raise AccountError(f"Unknown staff role {staff_role!r}.")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("A user with that e-mail already exists.")
    if password is not None:
        _check_password(password, email)
    user = User(email=email, name=name.strip() or email, staff_role=staff_role, locale=locale,
                password_hash=hash_password(password) if password else None,
                password_changed_at=utcnow() if password else None)
    session.add(user)
    session.flush()
    return user


def add_membership(session: Session, user: User, customer_id: int, role: str) -> Membership:
    """Give ``user`` a role in a customer account."""
    if role not in CUSTOMER_ROLES:
        raise AccountError(f"Unknown role {role!r}.")
    if user.is_staff:
        raise AccountError("Vendor staff cannot belong to a customer account.")
    membership = Membership(user_id=user.id, customer_id=customer_id, role=role)
    session.add(membership)
    session.flush()
    return membership


def members(session: Session, customer_id: int) -> list[Membership]:
    """Return the memberships of a customer account, by name."""
    return list(session.scalars(
        select(Membership).join(User).where(Membership.customer_id == customer_id)
        .order_by(func.lower(User.name), User.id)))


def _admin_count(session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(
        Membership.customer_id == customer_id, Membership.role == "admin")) or 0


def _membership(session: Session, customer_id: int, user_id: int) -> Membership:
    membership = session.scalars(select(Membership).where(
        Membership.customer_id == customer_id, Membership.user_id == user_id)).one_or_none()
    if membership is None:
        raise NotMember("That person is not a user of this account.")
    return membership


def invite(session: Session, *, customer_id: int, email: str, role: str, name: str | None,
           invited_by: User, origin: Origin, ttl: dt.timedelta) -> IssuedToken:
    """Invite someone to a customer account with a role; returns the token to e-mail."""
    email = auth.normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("Enter a valid e-mail address.")
    if role not in CUSTOMER_ROLES:
        raise AccountError("Choose a role: admin, payer or viewer.")
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if existing.is_staff:
            raise AccountError("That address belongs to vendor staff.")
        if any(m.customer_id == customer_id for m in existing.memberships):
            raise AccountError("That person is already a user of this account.")
    now = utcnow()
    for old in session.scalars(select(Invitation).where(
            Invitation.customer_id == customer_id, Invitation.email == email,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
        old.revoked_at = now  # a new invitation replaces any earlier one
    token = new_token()
    invitation = Invitation(token_hash=token_hash(token), customer_id=customer_id, email=email,
                            name=(name or "").strip() or None, role=role,
                            invited_by_id=invited_by.id, created_at=now,
                            expires_at=now + ttl)
    session.add(invitation)
    audit.record(session, "user_invited", origin=origin, user=invited_by,
                 customer_id=customer_id, subject=email, detail=f"role={role}")
    session.flush()
    return IssuedToken(token=token, email=email, expires_at=invitation.expires_at)


def find_invitation(session: Session, token: str) -> Invitation:
    """Return the open invitation for ``token``; raise TokenInvalid or TokenExpired."""
    invitation = session.scalars(select(Invitation).where(
        Invitation.token_hash == token_hash(token or ""))).one_or_none()
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        raise TokenInvalid("This invitation link is not valid. Ask your account admin "
                           "for a new one.")
    if _aware(invitation.expires_at) < utcnow():
        raise TokenExpired("This invitation has expired. Ask your account admin to invite "
                           "you again.")
    return invitation


def accept_invitation(session: Session, token: str, *, name: str, password: str | None,
                      origin: Origin) -> User:
    """Accept an invitation: create the user (or add the membership) and mark it used."""
    invitation = find_invitation(session, token)
    user = session.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        if not password:
            raise AccountError("Choose a password.")
        user = create_user(session, email=invitation.email, name=name or invitation.name or "",
                           password=password)
    add_membership(session, user, invitation.customer_id, invitation.role)
    invitation.accepted_at = utcnow()
    audit.record(session, "invitation_accepted", origin=origin, user=user,
                 customer_id=invitation.customer_id, subject=user.email,
                 detail=f"role={invitation.role}")
    return user


def change_role(session: Session, *, customer_id: int, user_id: int, role: str, by: User,
                origin: Origin) -> Membership:
    """Change a user's role in the account; the last admin cannot stop being admin."""
    if role not in CUSTOMER_ROLES:
        raise AccountError("Choose a role: admin, payer or viewer.")
    membership = _membership(session, customer_id, user_id)
    if membership.role == "admin" and role != "admin" and _admin_count(session, customer_id) < 2:
        raise AccountError("An account needs at least one admin. Make someone else admin "
                           "first.")
    old = membership.role
    membership.role = role
    audit.record(session, "role_changed", origin=origin, user=by, customer_id=customer_id,
                 subject=membership.user.email, detail=f"{old} -> {role}")
    return membership


def remove_member(session: Session, *, customer_id: int, user_id: int, by: User,
                  origin: Origin) -> None:
    """Remove a user from the account and end their sessions in it at once."""
    membership = _membership(session, customer_id, user_id)
    if membership.role == "admin" and _admin_count(session, customer_id) < 2:
        raise AccountError("You cannot remove the last admin of an account.")
    user = membership.user
    session.delete(membership)
    session.flush()
    session.refresh(user)
    # Sessions are per user; a user with other accounts keeps them, but any
    # session sitting in this account is ended (and all of them if none is left).
    live = session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)))
    for row in live:
        if not user.memberships or row.customer_id == customer_id:
            auth.end_session(session, row, reason="removed")
    audit.record(session, "user_removed", origin=origin, user=by, customer_id=customer_id,
                 subject=user.email)


def request_password_reset(session: Session, email: str, *, origin: Origin,
                           ttl: dt.timedelta) -> IssuedToken | None:
    """Issue a reset token if the e-mail belongs to an active user (else None, silently)."""
    email = auth.normalize_email(email)
    user = session.scalar(select(User).where(User.email == email))
    audit.record(session, "password_reset_requested", origin=origin,
                 user=user, actor_email=email[:254])
    if user is None or user.disabled_at is not None:
        return None
    token = new_token()
    reset = PasswordReset(token_hash=token_hash(token), user_id=user.id,
                          expires_at=utcnow() + ttl)
    session.add(reset)
    session.flush()
    return IssuedToken(token=token, email=user.email, expires_at=reset.expires_at)


def find_reset(session: Session, token: str) -> PasswordReset:
    """Return the unused reset for ``token``; raise TokenInvalid or TokenExpired."""
    reset = session.scalars(select(PasswordReset).where(
        PasswordReset.token_hash == token_hash(token or ""))).one_or_none()
    if reset is None or reset.used_at is not None:
        raise TokenInvalid("This reset link is not valid. Ask for a new one.")
    if _aware(reset.expires_at) < utcnow():
        raise TokenExpired("This reset link has expired. Ask for a new one.")
    return reset


def reset_password(session: Session, token: str, password: str, *, origin: Origin) -> User:
    """Set a new password from a reset link; ends every session of the user."""
    reset = find_reset(session, token)
    user = session.get(User, reset.user_id)
    _check_password(password, user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    reset.used_at = utcnow()
    auth.end_all_sessions(session, user.id, reason="password_reset")
    audit.record(session, "password_reset", origin=origin, user=user)
    return user


def change_password(session: Session, user: User, *, current: str, new: str,
                    keep_session_id: int | None, origin: Origin) -> None:
    """Change a password (knowing the current one); ends the user's other sessions."""
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not right.")
    _check_password(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    auth.end_all_sessions(session, user.id, reason="password_changed", keep_id=keep_session_id)
    audit.record(session, "password_changed", origin=origin, user=user)


def start_totp_setup(user: User) -> str:
    """Give the user a new (unconfirmed) TOTP secret and return its otpauth URI."""
    if user.totp_enabled:
        raise AccountError("Two-step verification is already on.")
    user.totp_secret = pyotp.random_base32()
    return totp_uri(user)


def totp_uri(user: User) -> str:
    """The otpauth:// URI of the user's (pending) secret, for authenticator apps."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email,
                                                         issuer_name="Payment portal")


def confirm_totp(session: Session, user: User, code: str, *, origin: Origin) -> None:
    """Turn the second factor on once the user proves their app shows the right code."""
    if not user.totp_secret or user.totp_enabled:
        raise AccountError("Start the set-up again.")
    if not auth.verify_totp(user, code):
        raise AccountError("That code is not right. Check the time on your phone and try "
                           "the newest code.")
    user.totp_enabled_at = utcnow()
    audit.record(session, "totp_enabled", origin=origin, user=user)


def disable_totp(session: Session, user: User, *, code: str, origin: Origin) -> None:
    """Turn the second factor off (not allowed where it is required)."""
    if not user.totp_enabled:
        raise AccountError("Two-step verification is not on.")
    if auth.totp_required(session, user):
        raise AccountError("Your account requires two-step verification.")
    if not auth.verify_totp(user, code):
        raise AccountError("That code is not right.")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    audit.record(session, "totp_disabled", origin=origin, user=user)


def set_account_requires_totp(session: Session, customer_id: int, required: bool, *, by: User,
                              origin: Origin) -> AccountSettings:
    """Require (or stop requiring) a second factor for every user of the account."""
    settings = session.get(AccountSettings, customer_id)
    if settings is None:
        settings = AccountSettings(customer_id=customer_id, require_totp=False,
                                   require_totp_by_vendor=False)
        session.add(settings)
    if by.is_staff:
        settings.require_totp_by_vendor = required
    else:
        settings.require_totp = required
    audit.record(session, "totp_requirement_changed", origin=origin, user=by,
                 customer_id=customer_id, detail=f"required={required}")
    return settings


def switch_account(session: Session, user: User, customer_id: int, user_session_id: int) -> None:
    """Make ``customer_id`` the session's current account (must be one of the user's)."""
    if customer_id not in {m.customer_id for m in user.memberships}:
        raise AccountError("You are not a user of that account.")
    row = session.get(UserSession, user_session_id)
    row.customer_id = customer_id
    user.last_customer_id = customer_id


def customers_of(user: User) -> list[Customer]:
    """The customer accounts a user belongs to, by name."""
    return sorted((m.customer for m in user.memberships), key=lambda c: c.name.lower())
