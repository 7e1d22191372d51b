"""The checkout page, ``/pay``: the selected invoices, editable amounts, the server's totals.

Reached by a POST from the invoice list's selection bar or an invoice page (the
selected numbers, or "every invoice matching this filter" as the filter's
token and the numbers left out), which redirects to ``GET /pay?invoice=...``
so that a reload or the back button shows the same page. Every figure on the
page comes from :func:`portal.payments.checkout.quote`; the form posts back
only what the payer typed, and "Update totals" or "Spread" recompute it.
Only roles with ``pay`` reach it (a viewer's POST is a 403).
"""

from __future__ import annotations

import re
import secrets
from decimal import InvalidOperation
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from portal.accounts import access
from portal.accounts.access import requires
from portal.core import security
from portal.core.request_db import uow, write_uow
from portal.gateways.stripe import (
    STRIPE_JS_URL,
    CardSummary,
    GatewayError,
    StripeGateway,
)
from portal.i18n import date, money, parse_amount
from portal.invoices import selection
from portal.invoices.forms import amount_example
from portal.ledger.models import Customer, Payment
from portal.money import Money, MoneyError
from portal.payments import ach_authorization, card_checkout, cards, checkout, history, settlement
from portal.payments.bank_accounts import verified_accounts as verified_bank_accounts
from portal.payments.card_checkout import BankChoice, CardChoice, CheckoutRefused
from portal.payments.checkout import CheckoutRequest, LineRequest
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("checkout", __name__)


def _locale() -> str:
    return str(get_locale() or "en")


@bp.post("/pay")
@requires("pay")
def start():
    """Take a selection from the invoice pages to the checkout."""
    session = uow().session
    numbers = selection.selected_numbers(session, access.customer_id(), request.form,
                                         local_today(get_vendor(session)),
                                         limit=checkout.MAX_INVOICES + 1)
    return redirect(url_for("checkout.page", invoice=numbers), code=303)


def _request_from(form: MultiDict) -> CheckoutRequest:
    lines = []
    for number in dict.fromkeys(form.getlist("invoice")):
        shown = form.get(f"shown_discount-{number}", "")
        lines.append(LineRequest(
            number=number, amount=form.get(f"amount-{number}", ""),
            reason=form.get(f"reason-{number}", ""), note=form.get(f"note-{number}", ""),
            shown_discount_minor=int(shown) if shown.isdigit() else None))
    return CheckoutRequest(tuple(lines), use_credit=form.get("use_credit") == "1",
                           overpay_to_credit=form.get("overpay_to_credit") == "1")


# A checkout page's key: random, URL-safe; it names the payment a submission starts.
CHECKOUT_KEY = re.compile(r"[A-Za-z0-9_-]{32,64}")
PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,200}")


def allow_stripe(gateway: StripeGateway) -> None:
    """Let this page load Stripe.js (and, in development, the local stand-in's origin)."""
    parts = urlsplit(gateway.js_url)
    local = gateway.js_url != STRIPE_JS_URL
    security.allow_payment_origins(*([f"{parts.scheme}://{parts.netloc}"] if local else []))


def _saved_cards(gateway: StripeGateway | None, customer_id: int) -> list[CardSummary]:
    """The account's saved cards; none before its first card payment (nothing is created)."""
    if gateway is None:
        return []
    stripe_customer = cards.known_stripe_customer_id(uow().session, customer_id)
    if stripe_customer is None:
        return []
    try:
        return gateway.list_saved_cards(stripe_customer)
    except GatewayError:
        return []  # the page still works with a new card


def _render(form: MultiDict, *, spread_error: str | None = None,
            pay_error: str | None = None, status: int = 200):
    session = uow().session
    vendor = get_vendor(session)
    today = local_today(vendor)
    asked = _request_from(form)
    customer_id = access.customer_id()
    result = checkout.quote(session, customer_id, vendor, today, asked, locale=_locale())
    gateway = cards.configured_gateway() if result.ok and result.charge_minor > 0 else None
    if gateway is not None:
        allow_stripe(gateway)
    chosen = form.get("card", "")
    banks = _bank_offer(session, customer_id, vendor, today, result) if gateway else []
    return render_template("payments/checkout.html", quote=result, vendor=vendor, today=today,
                           banks=banks, method=form.get("method") or ("ach" if banks else "card"),
                           ach_days=ach_authorization.BUSINESS_DAYS,
                           chosen_bank=form.get("bank_account", ""),
                           typed={line.number: line.amount for line in asked.lines},
                           asked={line.number: line for line in asked.lines}, form=form,
                           spread_error=spread_error, reasons=vendor.short_pay_reasons,
                           pay_error=pay_error, gateway=gateway,
                           saved_cards=_saved_cards(gateway, customer_id), chosen_card=chosen,
                           checkout_key=secrets.token_urlsafe(32)), status


def _bank_offer(session, customer_id: int, vendor, today, result) -> list[tuple]:
    """The verified bank accounts to pay from, each with its debit authorization's text."""
    if result.currency != card_checkout.ACH_CURRENCY:
        return []
    who = access.principal()
    payer = ach_authorization.Payer(user_id=who.user.id, name=who.user.name,
                                    email=who.user.email, ip_address="", user_agent="")
    customer_name = session.get(Customer, customer_id).name
    return [(bank, ach_authorization.debit_text(vendor, customer_name, payer, bank,
                                                result.charge_minor, result.currency, today))
            for bank in verified_bank_accounts(session, customer_id)]


@bp.get("/pay")
@requires("pay")
def page():
    """The checkout for the invoices named in the query string, at what is due today."""
    return _render(request.args)


@bp.post("/pay/review")
@requires("pay")
def review():
    """Recompute the checkout from what the payer typed; spread one amount if asked."""
    form = request.form
    if form.get("action") != "spread":
        return _render(form)
    session = uow().session
    vendor = get_vendor(session)
    result = checkout.quote(session, access.customer_id(), vendor, local_today(vendor),
                            _request_from(form), locale=_locale())
    try:
        total = Money.parse(format(parse_amount(form.get("spread_total", ""), _locale()), "f"),
                            result.currency or "USD").minor
    except (InvalidOperation, MoneyError):
        total = 0
    if total <= 0:
        return _render(form, spread_error=_("Enter the total you want to pay, such as "
                                            "%(example)s.", example=amount_example(_locale())))
    spread = checkout.allocate_total(result, total)
    # The invoices the total reaches, each with its share; those it does not reach drop out.
    spread_form = MultiDict([(k, v) for k, v in form.items(multi=True)
                             if k != "invoice" and not k.startswith("amount-")])
    for number, minor in spread.items():
        spread_form.add("invoice", number)
        spread_form[f"amount-{number}"] = Money(minor, result.currency).plain()
    return _render(spread_form)


@bp.post("/pay/confirm")
@requires("pay")
def confirm():
    """Pay the checkout: apply credit, start the payment, charge the card once, say how it went.

    The steps and why each is its own transaction: :mod:`portal.payments.card_checkout`.
    """
    form = request.form
    unit = uow()
    session = unit.session
    customer_id = access.customer_id()
    key = form.get("checkout_key", "")
    if not CHECKOUT_KEY.fullmatch(key):
        return _render(form, pay_error=_("This checkout has expired. Check the amounts and "
                                         "pay again."), status=422)
    vendor = get_vendor(session)
    result = checkout.quote(session, customer_id, vendor, local_today(vendor),
                            _request_from(form), locale=_locale())
    shown = form.get("shown_charge", "")
    gateway = cards.configured_gateway()
    card: CardChoice | None = None
    bank: BankChoice | None = None
    stripe_customer = None
    principal = access.principal()
    by_bank = form.get("method") == "ach"
    if result.ok and result.charge_minor > 0:
        if gateway is None:
            return _render(form, pay_error=_("Card payments are not available right now. "
                                             "Nothing has been paid."), status=503)
        try:
            stripe_customer = card_checkout.stripe_customer(session, gateway, customer_id)
            unit.commit()
            chosen = (_bank_choice(form, session, customer_id, principal, vendor) if by_bank
                      else _card_choice(form, gateway, stripe_customer))
        except GatewayError:
            return _render(form, pay_error=_("The card processor could not be reached. "
                                             "Nothing has been paid; try again in a minute."),
                           status=503)
        if isinstance(chosen, str):
            return _render(form, pay_error=chosen, status=422)
        card, bank = (None, chosen) if by_bank else (chosen, None)
    try:
        started = card_checkout.begin(
            session, customer_id=customer_id, quote=result,
            shown_charge_minor=int(shown) if shown.isdigit() else None, checkout_key=key,
            card=card, payer_name=principal.user.name, payer_email=principal.user.email,
            bank=bank, vendor=vendor)
    except CheckoutRefused as refusal:
        session.rollback()
        return _render(form, pay_error=str(refusal), status=422)
    unit.commit()
    if started.payment_id is None:
        flash(_("%(amount)s of your account's credit was applied to the invoices. Nothing "
                "was charged.", amount=money(started.credit_minor, result.currency)), "success")
        return redirect(url_for("invoices.index"), code=303)
    if started.existing:
        return redirect(url_for("checkout.returned", payment_id=started.payment_id), code=303)
    outcome = card_checkout.charge_started(session, gateway, started.payment_id,
                                           stripe_customer)
    if outcome is None:
        flash(_("We could not confirm the payment with the card processor. Do not pay "
                "again: the amounts stay held on the invoices and we will check with the "
                "processor in a few minutes."), "warn")
        return redirect(url_for("payments.detail", payment_id=started.payment_id), code=303)
    unit.commit()
    return _after(outcome, form)


def _card_choice(form: MultiDict, gateway: StripeGateway,
                 stripe_customer: str) -> CardChoice | str:
    """The card the form names, or what is wrong with the choice (for the payer)."""
    chosen = form.get("card", "new")
    if chosen == "new":
        method = form.get("payment_method", "")
        if not PAYMENT_METHOD.fullmatch(method):
            return _("Enter the card's details, or choose a saved card.")
        return CardChoice(method, save=form.get("save_card") == "1")
    if chosen not in card_checkout.saved_card_ids(gateway, stripe_customer):
        return _("That card is no longer saved. Choose another card.")
    return CardChoice(chosen, saved=True)


def _bank_choice(form: MultiDict, session, customer_id: int, principal,
                 vendor) -> BankChoice | str:
    """The bank account the form names, with the authorization accepted, or what is wrong."""
    wanted = form.get("bank_account", "")
    bank = next((b for b in verified_bank_accounts(session, customer_id)
                 if str(b.id) == wanted), None)
    if bank is None:
        return _("Choose one of the account's bank accounts to pay from.")
    if form.get("authorize") != "1":
        return _("To pay by bank debit, accept the debit authorization.")
    payer = ach_authorization.Payer(
        user_id=principal.user.id, name=principal.user.name, email=principal.user.email,
        ip_address=request.remote_addr or "", user_agent=request.user_agent.string or "")
    return BankChoice(bank, payer, local_today(vendor))


def _after(outcome: card_checkout.Outcome, form: MultiDict):
    """Send the payer where the outcome leads."""
    if outcome.kind == card_checkout.FAILED:
        # Back to the same checkout, fresh from the ledger, with the reason on top.
        again = MultiDict([(k, v) for k, v in form.items(multi=True)
                           if k not in ("payment_method", "checkout_key")])
        message = _("The payment did not go through: %(reason)s Nothing was charged.",
                    reason=outcome.message)
        return _render(again, pay_error=message, status=402)
    if outcome.kind == card_checkout.NEEDS_AUTHENTICATION:
        return redirect(url_for("checkout.authenticate", payment_id=outcome.payment_id),
                        code=303)
    return redirect(url_for("checkout.returned", payment_id=outcome.payment_id), code=303)


@bp.get("/payments/<int:payment_id>/authenticate")
@requires("pay")
def authenticate(payment_id: int):
    """The card's bank asks for verification (3-D Secure): Stripe.js runs it on this page."""
    session = uow().session
    payment = history.payment_or_404(session, access.customer_id(), payment_id)
    gateway = cards.configured_gateway()
    if payment.status != "requires_action" or not payment.gateway_ref or gateway is None:
        return redirect(url_for("checkout.returned", payment_id=payment.id), code=303)
    reference, amount, currency = payment.gateway_ref, payment.amount_minor, payment.currency
    session.rollback()
    try:
        intent = gateway.retrieve_payment_intent(reference)
    except GatewayError:
        abort(503)
    allow_stripe(gateway)
    return render_template("payments/authenticate.html", payment_id=payment_id,
                           amount=amount, currency=currency, gateway=gateway,
                           client_secret=intent.client_secret)


@bp.get("/payments/<int:payment_id>/return")
@requires("view")
def returned(payment_id: int):
    """Where the payer lands after paying: ask Stripe now, apply it, show the payment."""
    session = uow().session
    payment = history.payment_or_404(session, access.customer_id(), payment_id)
    if ask_stripe_now(payment):
        payment = history.payment_or_404(session, access.customer_id(), payment_id)
    _flash_outcome(payment)
    return redirect(url_for("payments.detail", payment_id=payment_id), code=303)


def ask_stripe_now(payment: Payment) -> bool:
    """Apply what Stripe says of an unsettled payment now (the payer is back from paying);
    tell whether it was asked. The request's own transaction is ended first, so read the
    payment again afterwards. No answer changes nothing: the webhook or the sweep will."""
    gateway = cards.configured_gateway()
    if not payment.gateway_ref or payment.status in ("succeeded", "reversed") or not gateway:
        return False
    payment_id = payment.id
    uow().session.rollback()
    try:
        with write_uow() as writer:
            settlement.sync_payment(writer.session, payment_id, gateway)
            writer.commit()
    except GatewayError:
        pass
    return True


def _flash_outcome(payment: Payment) -> None:
    amount = money(payment.amount_minor, payment.currency)
    if payment.status == "succeeded":
        flash(_("Thank you. Your payment of %(amount)s is complete; a receipt is on its way "
                "by e-mail.", amount=amount), "success")
    elif payment.status in ("failed", "canceled"):
        flash(_("The payment of %(amount)s did not go through. Nothing was charged.",
                amount=amount), "error")
    elif payment.method == "ach" and payment.status in ("pending", "processing"):
        vendor = get_vendor(uow().session)
        started = payment.created_at.astimezone(vendor.zone).date()
        flash(_("Thank you. Your bank debit of %(amount)s is processing: banks take a few "
                "business days, so expect it to complete by %(date)s. The amounts are held on "
                "the invoices until then, and we will e-mail you if your bank refuses it.",
                amount=amount, date=date(ach_authorization.expected_by(started), "long")),
              "info")
    elif payment.status in ("pending", "processing", "requires_action"):
        flash(_("Your payment of %(amount)s is being processed. The amounts are held on the "
                "invoices until it settles.", amount=amount), "info")
