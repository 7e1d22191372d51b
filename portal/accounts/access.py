"""Access control's one home: who is signed in, in which account, with which role.

Every route that shows or changes customer data asks this module:

- :func:`customer_id` is the current account of the signed-in customer user;
  queries for customer data filter by it, so another customer's row is simply
  not found (404), never "forbidden" (which would confirm it exists);
- :func:`requires` guards a customer route by permission (403 for a role
  limit, e.g. a viewer trying to pay);
- :func:`staff_required` guards ``/staff/``; customers get a 404 there, and
  staff get a 404 on customer pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from portal.accounts import auth
from portal.accounts.models import User, UserSession

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"view", "pay", "dispute", "plan", "manage_users",
                        "manage_bank_accounts"}),
    "payer": frozenset({"view", "pay", "dispute", "plan"}),
    "viewer": frozenset({"view"}),
}
STAFF_PERMISSIONS: dict[str, frozenset[str]] = {
    "ar_admin": frozenset({"view", "collect", "resolve", "manage_links", "manage_staff"}),
    "collector": frozenset({"view", "collect", "resolve", "manage_links"}),
    "viewer": frozenset({"view"}),
}


class Principal(UserMixin):
    """The signed-in person as Flask-Login sees them: a user and their server session.

    ``get_id`` returns the session token (Flask-Login's "alternative token"),
    so revoking the session row signs the browser out.
    """

    def __init__(self, user: User, user_session: UserSession, token: str) -> None:
        self.user = user
        self.session_row = user_session
        self.token = token

    def get_id(self) -> str:
        return self.token

    @property
    def is_staff(self) -> bool:
        return self.user.is_staff

    @property
    def verified(self) -> bool:
        """True once any required second factor has been given in this session."""
        return self.session_row.verified_at is not None

    @property
    def customer_id(self) -> int | None:
        return None if self.is_staff else self.session_row.customer_id

    @property
    def role(self) -> str | None:
        """The user's role in the current account (customers) or their staff role."""
        if self.is_staff:
            return self.user.staff_role
        for membership in self.user.memberships:
            if membership.customer_id == self.customer_id:
                return membership.role
        return None

    def can(self, permission: str) -> bool:
        """Tell whether the role allows ``permission``."""
        table = STAFF_PERMISSIONS if self.is_staff else PERMISSIONS
        return permission in table.get(self.role or "", frozenset())


login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.session_protection = None  # the server-side session is the protection


@login_manager.user_loader
def _load(token: str) -> Principal | None:
    from portal.core.request_db import uow, write_uow

    unit = uow()
    policy = auth.SessionPolicy.from_config(current_app.config["PORTAL"])
    now = auth.utcnow()
    check = auth.check_session(unit.session, token, policy, now)
    # Persist timeouts and last-seen now, whatever the request does next: in the
    # request's own unit of work when it may write (nothing else has happened in
    # it yet), else in one of its own (a page view's unit of work cannot write).
    if check.writes and unit.read_only:
        with write_uow() as writer:
            auth.record_check(writer.session, check, now)
            writer.commit()
    elif check.writes:
        auth.record_check(unit.session, check, now)
        unit.session.commit()
    if check.row is None:
        return None
    principal = Principal(check.row.user, check.row, token)
    if not principal.is_staff and principal.role is None:
        return None  # removed from the account this session was in
    return principal


def principal() -> Principal | None:
    """Return the signed-in principal, or None."""
    return current_user if current_user.is_authenticated else None


def customer_id() -> int:
    """Return the current customer account's id; 404 for anyone else."""
    who = principal()
    if who is None or who.is_staff or who.customer_id is None:
        abort(404)
    return who.customer_id


def _needs_sign_in():
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _gate(who: Principal | None):
    """Common checks: signed in and second factor given (or set-up pending)."""
    if who is None:
        return _needs_sign_in()
    if not who.verified:
        return redirect(url_for("accounts.verify_totp"))
    return None


def requires(permission: str) -> Callable:
    """Guard a customer route: sign-in, second factor, then ``permission`` (else 403)."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            who = principal()
            refusal = _gate(who)
            if refusal is not None:
                return refusal
            if who.is_staff:
                abort(404)
            if g.get("totp_setup_pending"):
                return redirect(url_for("accounts.totp_setup"))
            if not who.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def signed_in(view: Callable) -> Callable:
    """Guard a route any signed-in user may see (their own profile, sign-out)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        refusal = _gate(principal())
        if refusal is not None:
            return refusal
        if g.get("totp_setup_pending"):
            return redirect(url_for("accounts.totp_setup"))
        return view(*args, **kwargs)
    return wrapped


def staff_required(permission: str = "view") -> Callable:
    """Guard a ``/staff/`` route: vendor staff with ``permission``; 404 for customers."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            who = principal()
            refusal = _gate(who)
            if refusal is not None:
                return refusal
            if not who.is_staff:
                abort(404)
            if g.get("totp_setup_pending"):
                return redirect(url_for("accounts.totp_setup"))
            if not who.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
