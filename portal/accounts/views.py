"""Sign-in, sign-out, password reset, invitations and the user's own account pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from wtforms.fields.choices import SelectChoice

from portal import i18n
from portal.accounts import access, audit, auth, queries, services
from portal.accounts.access import principal, requires, signed_in
from portal.accounts.audit import Origin
from portal.accounts.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    InviteForm,
    LanguageForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    RoleForm,
    SwitchAccountForm,
    TotpForm,
)
from portal.accounts.services import AccountError, NotMember, TokenExpired, TokenInvalid
from portal.core.request_db import uow
from portal.core.security import limiter
from portal.notifications import mail

bp = Blueprint("accounts", __name__)


def origin() -> Origin:
    """Where the current request comes from, for the audit log."""
    return Origin(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


def config():
    return current_app.config["PORTAL"]


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def home_for(who) -> str:
    """Where a signed-in person lands."""
    if who.is_staff:
        return url_for("staff.home")
    return url_for("invoices.index")


@bp.before_app_request
def _second_factor_setup():
    if request.endpoint == "static":  # stylesheets and logos need no database
        return
    who = principal()
    if who is not None and not who.user.totp_enabled:
        g.totp_setup_pending = auth.totp_required(uow().session, who.user)


@bp.get("/")
def index():
    who = principal()
    if who is None:
        return redirect(url_for("accounts.login"))
    return redirect(home_for(who))


@bp.post("/language")
def set_language():
    """Switch the language: the signed-in user's setting, and a cookie for this browser."""
    form = LanguageForm()
    back = safe_next(form.next.data) or url_for("accounts.index")
    if not form.validate_on_submit():
        flash(_("Choose one of the languages offered."), "error")
        return redirect(back)
    who = principal()
    if who is not None:
        who.user.locale = form.language.data
        uow().commit()
    response = redirect(back)
    response.set_cookie(i18n.LANGUAGE_COOKIE, form.language.data, max_age=i18n.COOKIE_SECONDS,
                        secure=config().https, httponly=True, samesite="Lax")
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    error = None
    if form.validate_on_submit():
        unit = uow()
        try:
            user = auth.authenticate(unit.session, form.email.data, form.password.data,
                                     origin=origin(),
                                     policy=auth.SessionPolicy.from_config(config()))
        except auth.SignInRefused as refused:
            unit.commit()
            error = str(refused)
        else:
            token, row = auth.start_session(unit.session, user, origin=origin())
            unit.commit()
            session.clear()  # nothing from before sign-in carries over
            login_user(access.Principal(user, row, token))
            if not row.verified_at:
                session["after_totp"] = safe_next(form.next.data)
                return redirect(url_for("accounts.verify_totp"))
            return redirect(safe_next(form.next.data) or home_for(access.Principal(
                user, row, token)))
    status = 401 if error else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def verify_totp():
    who = principal()
    if who is None:
        return redirect(url_for("accounts.login"))
    if who.verified:
        return redirect(home_for(who))
    form = TotpForm()
    error = None
    if form.validate_on_submit():
        unit = uow()
        if auth.verify_totp(who.user, form.code.data):
            who.session_row.verified_at = dt.datetime.now(dt.UTC)
            unit.commit()
            return redirect(safe_next(session.pop("after_totp", None)) or home_for(who))
        unit.commit()
        error = _("That code is not right. Use the newest code from your authenticator app.")
    return render_template("accounts/verify_totp.html", form=form, error=error)


@bp.post("/logout")
def logout():
    who = principal()
    if who is not None:
        unit = uow()
        auth.end_session(unit.session, who.session_row)
        unit.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.post("/logout/everywhere")
@signed_in
def logout_everywhere():
    who = principal()
    unit = uow()
    count = auth.end_all_sessions(unit.session, who.user.id, reason="sign_out_everywhere")
    audit.record(unit.session, "signed_out_everywhere", origin=origin(), user=who.user,
                 customer_id=who.customer_id, detail=f"sessions={count}")
    unit.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        unit = uow()
        issued = services.request_password_reset(
            unit.session, form.email.data, origin=origin(),
            ttl=dt.timedelta(minutes=config().password_reset_minutes))
        if issued is not None:
            link = config().base_url.rstrip("/") + url_for("accounts.reset_password",
                                                           token=issued.token)
            unit.after_commit(lambda: mail.send("password_reset", issued.email, link=link,
                                                minutes=config().password_reset_minutes))
        unit.commit()
        # The same answer whether or not the address has an account.
        return render_template("accounts/forgot_sent.html", email=form.email.data)
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str):
    unit = uow()
    try:
        services.find_reset(unit.session, token)
    except (TokenInvalid, TokenExpired) as exc:
        return render_template("accounts/token_problem.html", message=str(exc)), 404
    form = NewPasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            services.reset_password(unit.session, token, form.password.data, origin=origin())
        except AccountError as exc:
            error = str(exc)
        else:
            unit.commit()
            flash(_("Your password is changed. Sign in with it now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, error=error)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def accept_invitation(token: str):
    unit = uow()
    try:
        invitation = services.find_invitation(unit.session, token)
    except (TokenInvalid, TokenExpired) as exc:
        return render_template("accounts/token_problem.html", message=str(exc)), 404
    existing = queries.user_by_email(unit.session, invitation.email)
    form = AcceptInvitationForm(name=invitation.name or "")
    if existing is not None:
        form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        try:
            services.accept_invitation(
                unit.session, token, name=getattr(form, "name", None) and form.name.data,
                password=getattr(form, "password", None) and form.password.data,
                origin=origin())
        except AccountError as exc:
            error = str(exc)
        else:
            unit.commit()
            flash(_("Welcome! Sign in to reach %(account)s.",
                    account=invitation.customer.name), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/accept_invitation.html", form=form, error=error,
                           invitation=invitation, existing=existing)


@bp.get("/account")
@signed_in
def home_page():
    who = principal()
    if who.is_staff:
        return redirect(url_for("staff.home"))
    return render_template("accounts/home.html", who=who)


@bp.route("/account/profile", methods=["GET", "POST"])
@signed_in
def profile():
    who = principal()
    unit = uow()
    form = ProfileForm(obj=who.user)
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        who.user.name = form.name.data.strip()
        who.user.locale = form.locale.data or None
        unit.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", who=who, form=form,
                           password_form=password_form, sessions=_live_sessions(who))


def _live_sessions(who):
    return queries.live_sessions(uow().session, who.user.id)


@bp.post("/account/password")
@signed_in
def change_password():
    who = principal()
    unit = uow()
    form = ChangePasswordForm(prefix="pw")
    error = None
    if form.validate_on_submit():
        try:
            services.change_password(unit.session, who.user, current=form.current.data,
                                     new=form.password.data,
                                     keep_session_id=who.session_row.id, origin=origin())
        except AccountError as exc:
            error = str(exc)
        else:
            unit.commit()
            flash(_("Your password is changed; your other sessions are signed out."),
                  "success")
            return redirect(url_for("accounts.profile"))
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    return render_template("accounts/profile.html", who=who, form=ProfileForm(obj=who.user),
                           password_form=form, password_error=error,
                           sessions=_live_sessions(who)), 400


@bp.route("/account/two-step", methods=["GET", "POST"])
def totp_setup():
    who = principal()
    if who is None:
        return redirect(url_for("accounts.login"))
    if not who.verified:
        return redirect(url_for("accounts.verify_totp"))
    unit = uow()
    form = TotpForm()
    error = None
    uri = None
    # CSRFProtect has already checked the token of every POST.
    if request.method == "POST" and request.form.get("action") == "start":
        try:
            uri = services.start_totp_setup(who.user)
        except AccountError as exc:
            error = str(exc)
        unit.commit()
    elif request.method == "POST" and form.validate_on_submit():
        action = request.form.get("action")
        try:
            if action == "disable":
                services.disable_totp(unit.session, who.user, code=form.code.data,
                                      origin=origin())
                message = _("Two-step verification is off.")
            else:
                services.confirm_totp(unit.session, who.user, form.code.data, origin=origin())
                message = _("Two-step verification is on.")
        except AccountError as exc:
            error = str(exc)
            if who.user.totp_secret and not who.user.totp_enabled:
                uri = services.totp_uri(who.user)
        else:
            unit.commit()
            flash(message, "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/totp.html", who=who, form=form, error=error, uri=uri,
                           required=auth.totp_required(unit.session, who.user))


@bp.post("/account/switch")
@signed_in
def switch_account():
    who = principal()
    unit = uow()
    form = SwitchAccountForm()
    form.customer_id.choices = [SelectChoice(c.id, c.name)
                               for c in services.customers_of(who.user)]
    if not form.validate_on_submit():
        abort(404)
    try:
        services.switch_account(unit.session, who.user, form.customer_id.data,
                                who.session_row.id)
    except AccountError:
        abort(404)
    unit.commit()
    return redirect(url_for("accounts.index"))


@bp.get("/account/users")
@requires("manage_users")
def users():
    unit = uow()
    customer = access.customer_id()
    invitations = queries.pending_invitations(unit.session, customer)
    settings = queries.account_settings(unit.session, customer)
    return render_template("accounts/users.html", who=principal(),
                           members=services.members(unit.session, customer),
                           invitations=invitations, invite_form=InviteForm(),
                           role_form=RoleForm(), confirm_form=ConfirmForm(),
                           settings=settings, now=dt.datetime.now(dt.UTC))


@bp.post("/account/users/invite")
@requires("manage_users")
@limiter.limit("30 per hour")
def invite():
    unit = uow()
    who = principal()
    customer = access.customer_id()
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("Check the e-mail address and role."), "error")
        return redirect(url_for("accounts.users"))
    try:
        issued = services.invite(unit.session, customer_id=customer, email=form.email.data,
                                 role=form.role.data, name=form.name.data, invited_by=who.user,
                                 origin=origin(),
                                 ttl=dt.timedelta(days=config().invitation_days))
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.users"))
    link = config().base_url.rstrip("/") + url_for("accounts.accept_invitation",
                                                   token=issued.token)
    account_name = who.user.memberships and next(
        m.customer.name for m in who.user.memberships if m.customer_id == customer)
    inviter = who.user.name
    unit.after_commit(lambda: mail.send("invitation", issued.email, link=link,
                                        account=account_name, inviter=inviter,
                                        role=form.role.data, expires_at=issued.expires_at))
    unit.commit()
    flash(_("Invitation sent to %(email)s.", email=issued.email), "success")
    return redirect(url_for("accounts.users"))


@bp.post("/account/users/<int:user_id>/role")
@requires("manage_users")
def change_role(user_id: int):
    unit = uow()
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.change_role(unit.session, customer_id=access.customer_id(), user_id=user_id,
                             role=form.role.data, by=principal().user, origin=origin())
    except NotMember:
        abort(404)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.users"))
    unit.commit()
    flash(_("Role changed."), "success")
    return redirect(url_for("accounts.users"))


@bp.post("/account/users/<int:user_id>/remove")
@requires("manage_users")
def remove_user(user_id: int):
    unit = uow()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.remove_member(unit.session, customer_id=access.customer_id(), user_id=user_id,
                               by=principal().user, origin=origin())
    except NotMember:
        abort(404)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.users"))
    unit.commit()
    flash(_("The user is removed and signed out."), "success")
    return redirect(url_for("accounts.users"))


@bp.post("/account/security")
@requires("manage_users")
def account_security():
    unit = uow()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    required = request.form.get("require_totp") == "on"
    services.set_account_requires_totp(unit.session, access.customer_id(), required,
                                       by=principal().user, origin=origin())
    unit.commit()
    flash(_("Security settings saved."), "success")
    return redirect(url_for("accounts.users"))


@bp.get("/account/activity")
@requires("manage_users")
def activity():
    events = audit.for_customer(uow().session, access.customer_id())
    return render_template("accounts/activity.html", who=principal(), events=events)
