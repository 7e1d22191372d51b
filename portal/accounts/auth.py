"""Sign-in, the sign-in throttle, server-side sessions and the second factor.

Rules:

- One answer for every failed sign-in ("e-mail or password is wrong"),
  whether or not the e-mail exists; an unknown e-mail costs one argon2 verify
  like a known one.
- Failures are counted per e-mail (hashed, known or not) in a one-minute
  window; at ``login_failure_limit`` the e-mail is locked for
  ``login_lock_minutes`` and further attempts are refused *without checking
  the password*.
- A session is a row in ``portal_sessions``; the browser's cookie carries a
  random token whose hash finds it. Idle and absolute timeouts are checked on
  every request; revoking the row ends the session at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts import audit
from portal.accounts.audit import Origin
from portal.accounts.credentials import (
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from portal.accounts.models import AccountSettings, LoginThrottle, User, UserSession
from portal.db import is_postgres
from portal.ledger.models import utcnow

THROTTLE_WINDOW = dt.timedelta(minutes=1)


class SignInRefused(Exception):
    """Sign-in did not succeed; the message is the same whatever the reason."""

    def __init__(self) -> None:
        super().__init__("That e-mail and password do not match an account, or the account "
                         "is temporarily locked. Check them and try again in a few minutes.")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Timeouts and throttle limits, from configuration."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    failure_limit: int = 10
    lock: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_config(cls, config) -> SessionPolicy:
        """Build the policy from the portal's :class:`~portal.config.Config`."""
        return cls(idle=dt.timedelta(minutes=config.session_idle_minutes),
                   absolute=dt.timedelta(hours=config.session_absolute_hours),
                   failure_limit=config.login_failure_limit,
                   lock=dt.timedelta(minutes=config.login_lock_minutes))


def normalize_email(email: str) -> str:
    """Return the e-mail as stored: trimmed and lower-cased."""
    return (email or "").strip().lower()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite returns naive datetimes; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _throttle(session: Session, email: str) -> LoginThrottle:
    key = token_hash("login:" + email)
    query = select(LoginThrottle).where(LoginThrottle.email_hash == key)
    if is_postgres(session):
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        row = LoginThrottle(email_hash=key, window_start=utcnow(), failures=0)
        session.add(row)
        session.flush()
    return row


def authenticate(session: Session, email: str, password: str, *, origin: Origin,
                 policy: SessionPolicy, now: dt.datetime | None = None) -> User:
    """Return the user whose e-mail and password these are, or raise SignInRefused.

    The caller commits in both cases: failures and locks must be remembered.
    """
    now = now or utcnow()
    email = normalize_email(email)
    throttle = _throttle(session, email)
    locked_until = _aware(throttle.locked_until)
    if locked_until and locked_until > now:
        audit.record(session, "sign_in_locked", origin=origin, actor_email=email[:254])
        raise SignInRefused()
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    usable = user is not None and user.disabled_at is None
    if not verify_password(user.password_hash if usable else None, password):
        if now - _aware(throttle.window_start) > THROTTLE_WINDOW:
            throttle.window_start, throttle.failures = now, 0
        throttle.failures += 1
        if throttle.failures >= policy.failure_limit:
            throttle.locked_until = now + policy.lock
        # A known user's failures show in their account's activity log too.
        audit.record(session, "sign_in_failed", origin=origin, user=user if usable else None,
                     actor_email=email[:254],
                     customer_id=default_customer_id(user) if usable else None)
        raise SignInRefused()
    throttle.failures, throttle.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(session: Session, user: User, *, origin: Origin,
                  now: dt.datetime | None = None) -> tuple[str, UserSession]:
    """Create a server-side session for ``user``; return its token and row."""
    now = now or utcnow()
    token = new_token()
    customer_id = default_customer_id(user)
    row = UserSession(token_hash=token_hash(token), user_id=user.id, customer_id=customer_id,
                      created_at=now, last_seen_at=now,
                      verified_at=None if user.totp_enabled else now,
                      ip=origin.ip, user_agent=(origin.user_agent or "")[:300] or None)
    session.add(row)
    audit.record(session, "sign_in", origin=origin, user=user, customer_id=customer_id)
    session.flush()
    return token, row


def default_customer_id(user: User) -> int | None:
    """The account a user lands in: the last one used, else the first membership."""
    ids = [m.customer_id for m in user.memberships]
    if user.last_customer_id in ids:
        return user.last_customer_id
    return ids[0] if ids else None


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """What :func:`check_session` found: the live session, and what must be written."""

    row: UserSession | None  # the live session; None if unknown, revoked or timed out
    session_id: int | None = None  # the session row to write to, if anything is written
    revoke: str | None = None  # why the session ends now (a timeout), if it does
    touch: bool = False  # its last-seen time is over a minute old

    @property
    def writes(self) -> bool:
        """Tell whether :func:`record_check` has anything to write."""
        return self.revoke is not None or self.touch


def check_session(session: Session, token: str, policy: SessionPolicy,
                  now: dt.datetime | None = None) -> SessionCheck:
    """Find the live session for ``token`` without writing anything.

    A timed-out session comes back as ``row=None`` with the reason to revoke it,
    which :func:`record_check` writes so it can never come back; a live one whose
    last-seen time is over a minute old asks to be touched (a page view should
    not always write).
    """
    now = now or utcnow()
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == token_hash(token))).one_or_none()
    if row is None or row.revoked_at is not None or row.user.disabled_at is not None:
        return SessionCheck(None)
    if now - _aware(row.created_at) > policy.absolute:
        return SessionCheck(None, row.id, revoke="absolute_timeout")
    if now - _aware(row.last_seen_at) > policy.idle:
        return SessionCheck(None, row.id, revoke="idle_timeout")
    return SessionCheck(row, row.id, touch=now - _aware(row.last_seen_at) > dt.timedelta(minutes=1))


def record_check(session: Session, check: SessionCheck, now: dt.datetime | None = None) -> None:
    """Write what ``check`` found: revoke a timed-out session, or touch a live one."""
    if not check.writes:
        return
    now = now or utcnow()
    row = session.get(UserSession, check.session_id)
    if row is None or row.revoked_at is not None:
        return
    if check.revoke:
        row.revoked_at, row.revoked_reason = now, check.revoke
    else:
        row.last_seen_at = max(_aware(row.last_seen_at), now)


def end_session(session: Session, row: UserSession, reason: str = "sign_out") -> None:
    """Revoke one session."""
    if row.revoked_at is None:
        row.revoked_at, row.revoked_reason = utcnow(), reason


def end_all_sessions(session: Session, user_id: int, reason: str,
                     keep_id: int | None = None) -> int:
    """Revoke every live session of a user (but ``keep_id``); return how many."""
    query = update(UserSession).where(UserSession.user_id == user_id,
                                      UserSession.revoked_at.is_(None))
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    result = session.execute(query.values(revoked_at=utcnow(), revoked_reason=reason)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def totp_required(session: Session, user: User) -> bool:
    """Tell whether this user must have a second factor (own setting, admin or vendor)."""
    if user.require_totp:
        return True
    ids = [m.customer_id for m in user.memberships]
    if not ids:
        return False
    return bool(session.scalar(select(AccountSettings.customer_id).where(
        AccountSettings.customer_id.in_(ids),
        (AccountSettings.require_totp.is_(True))
        | (AccountSettings.require_totp_by_vendor.is_(True))).limit(1)))


def verify_totp(user: User, code: str, now: dt.datetime | None = None) -> bool:
    """Check a TOTP code (one step of clock drift allowed); a code works only once."""
    if not user.totp_secret:
        return False
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    now = now or utcnow()
    totp = pyotp.TOTP(user.totp_secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if candidate <= (user.totp_last_step or -1):
            continue
        if totp.verify(code, for_time=candidate * totp.interval):
            user.totp_last_step = candidate
            return True
    return False
