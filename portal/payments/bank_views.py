"""``/bank-accounts``: the account's bank accounts for ACH — list, link, enter, verify, remove.

Thin views over :mod:`portal.payments.bank_accounts` (and its two ways of adding,
:mod:`~portal.payments.bank_linking` and :mod:`~portal.payments.bank_microdeposits`).
Anyone who may ``view`` the account sees the list; adding, verifying and removing
are for :func:`~portal.payments.bank_accounts.can_manage` people (else 403). A bank
account of another customer is a 404 before anything else is checked.

Linking with Plaid needs the page's script (``static/js/bank_link.js``): it asks
``POST /bank-accounts/link-token`` for a link token, opens Plaid Link, and posts
Link's public token to ``/bank-accounts/plaid``. Without script (or without Plaid
keys) the button stays hidden and typing the numbers still works: entering them
(``/bank-accounts/new``) is a plain form in two steps — the numbers, then the
setup authorization for that account, which is what the payer accepts and what is
stored, word for word.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.accounts import access
from portal.accounts.access import requires
from portal.accounts.views import origin
from portal.core import security
from portal.core.request_db import uow
from portal.core.security import limiter
from portal.gateways.plaid import LINK_JS_URL, PlaidGateway
from portal.ledger.models import Customer, utcnow
from portal.payments import (
    ach_authorization,
    bank_accounts,
    bank_entry,
    bank_linking,
    bank_microdeposits,
    cards,
)
from portal.payments.bank_accounts import BankAccountError, VerificationRefused
from portal.payments.bank_entry import InvalidEntry
from portal.payments.bank_models import PENDING_VERIFICATION, VERIFIED
from portal.vendor.services import get_vendor

bp = Blueprint("bank_accounts", __name__)

# The fields of the typed-in form, carried from the first step to the second.
ENTRY_FIELDS = ("holder_name", "account_type", "routing_number", "account_number",
                "account_number_again")
_ENTRY_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


def _config():
    return current_app.config["PORTAL"]


def _manager():
    """The signed-in person and the vendor, if they may change bank accounts; else 403."""
    who = access.principal()
    vendor = get_vendor(uow().session)
    if not bank_accounts.can_manage(who, vendor):
        abort(403)
    return who, vendor


def _owned(bank_account_id: int):
    """The account's bank account (404 for another's), then the right to change it (403)."""
    try:
        row = bank_accounts.owned(uow().session, access.customer_id(), bank_account_id)
    except bank_accounts.NotFound:
        abort(404)
    who, vendor = _manager()
    return row, who, vendor


def _plaid() -> PlaidGateway | None:
    """Plaid, when it and Stripe are both configured (a linked account lives at Stripe)."""
    if cards.configured_gateway() is None:
        return None
    return bank_accounts.configured_plaid(_config())


def allow_link(plaid: PlaidGateway) -> None:
    """Let the page load Plaid Link (and, in development, talk to the local stand-in)."""
    parts = urlsplit(plaid.link_js_url)
    local = plaid.link_js_url != LINK_JS_URL
    security.allow_payment_origins(*([f"{parts.scheme}://{parts.netloc}"] if local else []))


def _payer(who) -> ach_authorization.Payer:
    return ach_authorization.Payer(
        user_id=who.user.id, name=who.user.name, email=who.user.email,
        ip_address=request.remote_addr or "", user_agent=request.headers.get("User-Agent", ""))


@bp.get("/bank-accounts")
@requires("view")
def index():
    session = uow().session
    vendor = get_vendor(session)
    rows = bank_accounts.accounts(session, access.customer_id())
    manage = bank_accounts.can_manage(access.principal(), vendor)
    stripe = cards.configured_gateway() if manage else None
    plaid = _plaid() if stripe is not None else None
    if plaid is not None:
        allow_link(plaid)
    return render_template("payments/bank_accounts.html", rows=rows, manage=manage,
                           names=bank_accounts.added_by_names(session, rows), vendor=vendor,
                           stripe_ready=stripe is not None, plaid=plaid,
                           max_tries=bank_accounts.MAX_VERIFY_ATTEMPTS)


# Plaid ---------------------------------------------------------------------------------


@bp.post("/bank-accounts/link-token")
@requires("view")
@limiter.limit("20 per minute")
def link_token():
    """The link token Plaid Link opens with, as JSON (``{"link_token": ...}``)."""
    who, vendor = _manager()
    plaid = _plaid()
    if plaid is None:
        return jsonify(error=_("Linking with your bank is not available here.")), 503
    try:
        token = bank_linking.link_token(plaid, user_id=who.user.id, vendor_name=vendor.name,
                                        locale=str(get_locale() or "en"))
    except BankAccountError as refusal:
        return jsonify(error=refusal.message), 503
    return jsonify(link_token=token)


@bp.post("/bank-accounts/plaid")
@requires("view")
def link():
    """Save the account chosen in Plaid Link (the page posts Link's public token here)."""
    who, _vendor = _manager()
    plaid, stripe = _plaid(), cards.configured_gateway()
    if plaid is None or stripe is None:
        abort(404)
    unit = uow()
    try:
        row = bank_linking.link_plaid(
            unit.session, customer_id=access.customer_id(), user=who.user,
            public_token=request.form.get("public_token", "").strip(),
            account_id=request.form.get("account_id", "").strip(), plaid=plaid, stripe=stripe,
            config=_config(), origin=origin())
    except BankAccountError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("bank_accounts.index"), code=303)
    unit.commit()
    flash(_("The %(account)s was added. It can pay invoices now.",
            account=bank_accounts.describe(row)), "success")
    return redirect(url_for("bank_accounts.index"), code=303)


# Numbers typed in ------------------------------------------------------------------------


def _entry_page(values: dict, *, errors: dict | None = None, review: bool = False,
                authorize_error: str | None = None, status: int = 200):
    """The typed-in form: the numbers (first step) or the authorization for them (second)."""
    text = None
    if review:
        who = access.principal()
        session = uow().session
        customer = session.get(Customer, access.customer_id())
        text = bank_microdeposits.authorization_text(
            get_vendor(session), customer.name, _payer(who),
            account_type=values["account_type"],
            last4=bank_entry.manual_entry(**values).last4)
    return render_template("payments/bank_account_new.html", values=values,
                           errors=errors or {}, review=review, text=text,
                           text_version=ach_authorization.VERSION,
                           entry_key=_entry_key() or secrets.token_urlsafe(24),
                           authorize_error=authorize_error), status


def _entry_key() -> str | None:
    """The random name of the form being submitted (see ``add_manual``), if well formed."""
    key = request.form.get("entry_key", "")
    return key if _ENTRY_KEY.fullmatch(key) else None


def _typed() -> dict:
    values = {name: request.form.get(name, "") for name in ENTRY_FIELDS}
    if values["account_type"] not in bank_entry.ACCOUNT_TYPES:
        values["account_type"] = values["account_type"] or bank_entry.CHECKING
    return values


@bp.route("/bank-accounts/new", methods=["GET", "POST"])
@requires("view")
def new():
    who, vendor = _manager()
    stripe = cards.configured_gateway()
    if stripe is None:
        flash(_("Bank accounts cannot be added just now. Try again later."), "error")
        return redirect(url_for("bank_accounts.index"), code=303)
    if request.method == "GET":
        return _entry_page({name: "" for name in ENTRY_FIELDS} | {"account_type": "checking"})
    values = _typed()
    step = request.form.get("step", "review")
    if step == "edit":  # "Change the details" on the second step
        return _entry_page(values)
    try:
        bank_entry.manual_entry(**values)
    except InvalidEntry as invalid:
        return _entry_page(values, errors=invalid.errors, status=422)
    if step != "confirm":
        return _entry_page(values, review=True)
    if request.form.get("text_version") != ach_authorization.VERSION:
        return _entry_page(values, review=True, status=422, authorize_error=_(
            "The authorization's wording has changed. Read it again before you accept it."))
    if request.form.get("authorize") != "1":
        return _entry_page(values, review=True, status=422, authorize_error=_(
            "Tick the box to authorize the deposits and debits, or go back."))
    return _add_typed(who, vendor, stripe, values)


def _add_typed(who, vendor, stripe, values: dict):
    unit = uow()
    try:
        row = bank_microdeposits.add_manual(
            unit.session, customer_id=access.customer_id(), user=who.user, payer=_payer(who),
            stripe=stripe, vendor=vendor, accepted_at=utcnow(), origin=origin(),
            entry_key=_entry_key(), **values)
    except InvalidEntry as invalid:
        return _entry_page(values, errors=invalid.errors, status=422)
    except bank_accounts.AlreadyAdded as refusal:
        if refusal.bank_account_id is None:
            flash(refusal.message, "error")
            return _entry_page(values, status=422)
        # This very form, submitted twice: show what the first submission made.
        return redirect(url_for("bank_accounts.verify", bank_account_id=refusal.bank_account_id,
                                sent=1), code=303)
    except BankAccountError as refusal:
        flash(refusal.message, "error")
        return _entry_page(values, status=422)
    unit.commit()
    if row.status == VERIFIED:
        flash(_("The %(account)s was added. It can pay invoices now.",
                account=bank_accounts.describe(row)), "success")
        return redirect(url_for("bank_accounts.index"), code=303)
    return redirect(url_for("bank_accounts.verify", bank_account_id=row.id, sent=1), code=303)


# Micro-deposits ---------------------------------------------------------------------------


def _verify_page(row, *, errors: dict | None = None, message: str | None = None,
                 status: int = 200):
    return render_template("payments/bank_account_verify.html", row=row, errors=errors or {},
                           message=message, typed=request.form, sent=request.args.get("sent"),
                           tries_left=max(0, bank_accounts.MAX_VERIFY_ATTEMPTS
                                          - row.verify_attempts)), status


@bp.route("/bank-accounts/<int:bank_account_id>/verify", methods=["GET", "POST"])
@requires("view")
def verify(bank_account_id: int):
    row, who, _vendor = _owned(bank_account_id)
    if row.status == VERIFIED:
        flash(_("The %(account)s is verified already.", account=bank_accounts.describe(row)),
              "info")
        return redirect(url_for("bank_accounts.index"), code=303)
    if request.method == "GET" or row.status != PENDING_VERIFICATION:
        return _verify_page(row)
    stripe = cards.configured_gateway()
    if stripe is None:
        return _verify_page(row, message=_("The deposits cannot be checked just now. Try "
                                           "again later."), status=503)
    try:
        if row.microdeposit_type == bank_microdeposits.DESCRIPTOR_CODE:
            amounts, code = None, bank_entry.descriptor_code(request.form.get("descriptor_code"))
        else:
            amounts, code = bank_entry.microdeposit_amounts(
                request.form.get("amount_1"), request.form.get("amount_2")), None
    except InvalidEntry as invalid:
        return _verify_page(row, errors=invalid.errors, status=422)
    unit = uow()
    try:
        row = bank_microdeposits.verify(
            unit.session, customer_id=access.customer_id(), bank_account_id=row.id,
            amounts=amounts, descriptor_code=code, stripe=stripe, user=who.user,
            origin=origin())
    except InvalidEntry as invalid:
        return _verify_page(row, errors=invalid.errors, status=422)
    except VerificationRefused as refusal:
        unit.commit()  # the try counts
        if refusal.failed:
            flash(refusal.message, "error")
            return redirect(url_for("bank_accounts.index"), code=303)
        return _verify_page(row, message=refusal.message, status=422)
    unit.commit()
    flash(_("The %(account)s is verified. It can pay invoices now.",
            account=bank_accounts.describe(row)), "success")
    return redirect(url_for("bank_accounts.index"), code=303)


# Removing ------------------------------------------------------------------------------


@bp.route("/bank-accounts/<int:bank_account_id>/remove", methods=["GET", "POST"])
@requires("view")
def remove(bank_account_id: int):
    row, who, _vendor = _owned(bank_account_id)
    if request.method == "GET":
        return render_template("payments/bank_account_remove.html", row=row)
    stripe = cards.configured_gateway()
    described = bank_accounts.describe(row)
    unit = uow()
    try:
        if stripe is None:
            raise bank_accounts.Unavailable(_("The bank account could not be removed just "
                                              "now. Try again in a minute."))
        bank_accounts.remove(unit.session, customer_id=access.customer_id(),
                             bank_account_id=row.id, stripe=stripe,
                             plaid=bank_accounts.configured_plaid(_config()), config=_config(),
                             user=who.user, origin=origin())
    except bank_accounts.NotFound:
        abort(404)
    except BankAccountError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("bank_accounts.index"), code=303)
    unit.commit()
    flash(_("The %(account)s was removed.", account=described), "success")
    return redirect(url_for("bank_accounts.index"), code=303)
