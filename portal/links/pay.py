"""Paying through a link: ``/i/pay``, and the payment and receipt pages a link shows.

A browser granted a link's invoice (:mod:`portal.links.access`) pays that one
invoice through the same checkout and ledger path as signed-in users
(:func:`portal.payments.checkout.quote`, :func:`portal.payments.card_checkout.begin`
and :func:`~portal.payments.card_checkout.charge_started`): the amount and any
early-payment discount are judged by the server, a short payment needs a
reason, the amount is reserved before Stripe is asked, and settlement posts it.

What differs, because nobody is signed in:

- the payer types their name and e-mail; the receipt goes there, and both are
  stored on the payment (``payer_name``, ``payer_email``);
- nothing saved is offered or kept: a new card only (never saved), or a bank
  account connected with Plaid for this one debit (:data:`ONE_OFF`, the Plaid
  Item removed at once), each debit with its own authorization;
- no account credit is used or created (overpaying is refused);
- every payment is recorded against its link (``portal_invoice_link_payments``)
  and as an audit event with IP and browser, which staff see on the links page.

The link's pages show only payments started through a link to the granted
invoice, so a payer never sees another payment of the customer.
"""

from __future__ import annotations

import secrets

from flask import (
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from portal.core.request_db import uow, write_uow
from portal.gateways.stripe import GatewayError, StripeGateway
from portal.i18n import date, money
from portal.ledger.models import Customer, Payment
from portal.links import services
from portal.links.models import InvoiceLink, LinkPayment
from portal.links.views import _not_valid, _origin, bp, granted, page_limit
from portal.payments import (
    ach_authorization,
    bank_accounts,
    bank_linking,
    card_checkout,
    cards,
    checkout,
    history,
    receipts,
)
from portal.payments.bank_accounts import BankAccountError
from portal.payments.bank_models import ONE_OFF, BankAccount
from portal.payments.bank_views import allow_link
from portal.payments.card_checkout import BankChoice, CardChoice, CheckoutRefused
from portal.payments.checkout import CheckoutRequest, LineRequest
from portal.payments.history_views import receipt_response
from portal.payments.views import CHECKOUT_KEY, PAYMENT_METHOD, allow_stripe, ask_stripe_now
from portal.vendor.services import get_vendor, local_today

# The bank account connected for this browser's next debit (its id), beside the grant.
BANK_KEY = "invoice_link_bank"


class PayerForm(FlaskForm):
    """Who pays: the name and e-mail the receipt (and a debit's authorization) names."""

    payer_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    payer_email = EmailField(_l("Your e-mail"), validators=[
        DataRequired(_l("Enter your e-mail address, such as name@example.com.")),
        Email(_l("Enter your e-mail address, such as name@example.com.")), Length(max=254)])


def _locale() -> str:
    return str(get_locale() or "en")


def _request(link: InvoiceLink, form: MultiDict) -> CheckoutRequest:
    shown = form.get("shown_discount", "")
    return CheckoutRequest((LineRequest(
        number=link.invoice.number, amount=form.get("amount", ""),
        reason=form.get("reason", ""), note=form.get("note", ""),
        shown_discount_minor=int(shown) if shown.isdigit() else None),))


def _quote(link: InvoiceLink, form: MultiDict, vendor, today) -> checkout.Quote:
    """The checkout of the link's invoice; paying more than is due is refused (no credit)."""
    result = checkout.quote(uow().session, link.invoice.customer_id, vendor, today,
                            _request(link, form), locale=_locale())
    for line in result.lines:
        if line.over_minor:
            line.errors[:] = [_("Pay at most %(due)s, what is due on this invoice.",
                                due=money(line.due_minor, result.currency))]
    return result


def _bank(link: InvoiceLink) -> BankAccount | None:
    """The bank account this browser connected for the link's invoice, if still usable."""
    wanted = browser.get(BANK_KEY)
    if not isinstance(wanted, dict) or wanted.get("link") != link.id:
        return None
    row = uow().session.get(BankAccount, int(wanted.get("bank") or 0))
    if row is None or row.status != ONE_OFF or row.customer_id != link.invoice.customer_id:
        return None
    return row


def _plaid(gateway: StripeGateway | None):
    if gateway is None:
        return None
    return bank_accounts.configured_plaid(current_app.config["PORTAL"])


def _payer(form: PayerForm) -> ach_authorization.Payer:
    return ach_authorization.Payer(
        user_id=None, name=form.payer_name.data.strip(), email=form.payer_email.data.strip(),
        ip_address=request.remote_addr or "", user_agent=request.user_agent.string or "")


def _render(link: InvoiceLink, form: MultiDict, *, payer: PayerForm | None = None,
            pay_error: str | None = None, bank_error: str | None = None, status: int = 200):
    session = uow().session
    vendor = get_vendor(session)
    today = local_today(vendor)
    result = _quote(link, form, vendor, today)
    payer = payer or PayerForm(formdata=form if form.get("payer_name") is not None else None)
    gateway = cards.configured_gateway() if result.ok and result.charge_minor > 0 else None
    if gateway is not None:
        allow_stripe(gateway)
    ach = gateway is not None and result.currency == card_checkout.ACH_CURRENCY
    plaid = _plaid(gateway) if ach else None
    if plaid is not None:
        allow_link(plaid)
    bank = _bank(link) if ach else None
    authorization = None
    if bank is not None and payer.payer_name.data and payer.payer_email.data:
        authorization = ach_authorization.debit_text(
            vendor, session.get(Customer, link.invoice.customer_id).name, _payer(payer), bank,
            result.charge_minor, result.currency, today)
    method = form.get("method") or "card"
    return render_template(
        "links/pay.html", invoice=link.invoice, quote=result, line=result.lines[0]
        if result.lines else None, vendor=vendor, today=today, payer=payer, form=form,
        gateway=gateway, plaid=plaid, ach=ach and (plaid or bank) is not None,
        bank=bank, bank_words=bank_accounts.describe(bank) if bank else None,
        authorization=authorization, authorized_as=_authorized_as(payer),
        method=method if method in ("card", "ach") else "card",
        ach_days=ach_authorization.BUSINESS_DAYS, reasons=vendor.short_pay_reasons,
        pay_error=pay_error, bank_error=bank_error, checkout_key=secrets.token_urlsafe(32),
        with_language_switch=True), status


def _authorized_as(payer: PayerForm) -> str:
    """Who the authorization shown names (the page sends it back with "Pay")."""
    return f"{(payer.payer_name.data or '').strip()} <{(payer.payer_email.data or '').strip()}>"


@bp.get("/i/pay")
@page_limit
def pay_page():
    """The checkout of the granted invoice: what is due today, who pays, how."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    return _render(link, request.args)


@bp.post("/i/pay/review")
@page_limit
def pay_review():
    """Recompute the checkout from the amount typed (the "Update total" button)."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    return _render(link, request.form)


@bp.post("/i/pay/link-token")
@page_limit
def pay_link_token():
    """The token Plaid Link opens with, to connect a bank account for this debit (JSON)."""
    link = granted()
    plaid = _plaid(cards.configured_gateway()) if link else None
    if link is None or plaid is None:
        return jsonify(error=_("Connecting a bank is not available here.")), 404
    try:
        token = bank_linking.link_token(plaid, user_id=f"link-{link.id}",
                                        vendor_name=get_vendor(uow().session).name,
                                        locale=_locale())
    except BankAccountError as refusal:
        return jsonify(error=refusal.message), 503
    return jsonify(link_token=token)


@bp.post("/i/pay/bank")
@page_limit
def pay_bank():
    """Make the account chosen in Plaid Link debitable once, then show its authorization."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    stripe = cards.configured_gateway()
    plaid = _plaid(stripe)
    if plaid is None:
        abort(404)
    form = MultiDict(request.form)
    form["method"] = "ach"
    unit = uow()
    try:
        row = bank_linking.link_one_off(
            unit.session, customer_id=link.invoice.customer_id,
            public_token=form.get("public_token", "").strip(),
            account_id=form.get("account_id", "").strip(), plaid=plaid, stripe=stripe)
    except BankAccountError as refusal:
        unit.session.rollback()
        return _render(link, form, bank_error=refusal.message, status=422)
    services.record_use(unit.session, link, "link.bank_connected", origin=_origin())
    unit.commit()
    browser[BANK_KEY] = {"link": link.id, "bank": row.id}
    return _render(link, form)


@bp.post("/i/pay/confirm")
@page_limit
def pay_confirm():
    """Pay the granted invoice: start the payment, charge once, say how it went."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    form = request.form
    payer = PayerForm(formdata=form)
    if not payer.validate():
        return _render(link, form, payer=payer, pay_error=_(
            "Nothing has been paid yet. Correct what is marked below."), status=422)
    key = form.get("checkout_key", "")
    if not CHECKOUT_KEY.fullmatch(key):
        return _render(link, form, payer=payer, pay_error=_(
            "This checkout has expired. Check the amount and pay again."), status=422)
    unit = uow()
    session = unit.session
    vendor = get_vendor(session)
    today = local_today(vendor)
    customer_id = link.invoice.customer_id
    result = _quote(link, form, vendor, today)
    gateway = cards.configured_gateway()
    if gateway is None:
        return _render(link, form, payer=payer, pay_error=_(
            "Payments are not available right now. Nothing has been paid."), status=503)
    by_bank = form.get("method") == "ach"
    chosen = _bank_choice(link, form, payer, today) if by_bank else _card_choice(form)
    if isinstance(chosen, str):
        return _render(link, form, payer=payer, pay_error=chosen, status=422)
    card, bank = (None, chosen) if by_bank else (chosen, None)
    try:
        stripe_customer = card_checkout.stripe_customer(session, gateway, customer_id)
        unit.commit()
    except GatewayError:
        return _render(link, form, payer=payer, pay_error=_(
            "The card processor could not be reached. Nothing has been paid; try again in a "
            "minute."), status=503)
    shown = form.get("shown_charge", "")
    name, email = payer.payer_name.data.strip(), payer.payer_email.data.strip()
    try:
        started = card_checkout.begin(
            session, customer_id=customer_id, quote=result,
            shown_charge_minor=int(shown) if shown.isdigit() else None, checkout_key=key,
            card=card, bank=bank, vendor=vendor, payer_name=name, payer_email=email)
    except CheckoutRefused as refusal:
        session.rollback()
        return _render(link, form, payer=payer, pay_error=str(refusal), status=422)
    if started.payment_id is None:  # no credit is used here: nothing is due
        session.rollback()
        return redirect(url_for("links.invoice"), code=303)
    if started.existing:
        return redirect(url_for("links.payment", payment_id=started.payment_id), code=303)
    session.add(LinkPayment(payment_id=started.payment_id, link_id=link.id))
    services.record_use(session, link, "link.payment_started", origin=_origin(),
                        payment_id=started.payment_id)
    unit.commit()
    outcome = card_checkout.charge_started(session, gateway, started.payment_id,
                                           stripe_customer)
    if outcome is None:
        return redirect(url_for("links.payment", payment_id=started.payment_id), code=303)
    unit.commit()
    if outcome.kind == card_checkout.FAILED:
        again = MultiDict([(k, v) for k, v in form.items(multi=True)
                           if k not in ("payment_method", "checkout_key")])
        return _render(link, again, payer=payer, status=402, pay_error=_(
            "The payment did not go through: %(reason)s Nothing was charged.",
            reason=outcome.message))
    if outcome.kind == card_checkout.NEEDS_AUTHENTICATION:
        return redirect(url_for("links.authenticate", payment_id=outcome.payment_id),
                        code=303)
    return redirect(url_for("links.payment_return", payment_id=outcome.payment_id), code=303)


def _card_choice(form: MultiDict) -> CardChoice | str:
    method = form.get("payment_method", "")
    if not PAYMENT_METHOD.fullmatch(method):
        return _("Enter the card's details.")
    return CardChoice(method)


def _bank_choice(link: InvoiceLink, form: MultiDict, payer: PayerForm,
                 today) -> BankChoice | str:
    bank = _bank(link)
    if bank is None:
        return _("Connect your bank to pay by bank debit, or pay by card.")
    if form.get("authorized_as") != _authorized_as(payer):
        return _("Your name or e-mail changed: read the debit authorization again, then "
                 "accept it.")
    if form.get("authorize") != "1":
        return _("To pay by bank debit, accept the debit authorization.")
    return BankChoice(bank, _payer(payer), today)


# The payments made through a link ------------------------------------------------------


def _link_payment(link: InvoiceLink, payment_id: int) -> Payment:
    """A payment started through a link to the granted invoice; 404 for any other."""
    row = uow().session.scalars(
        select(LinkPayment).join(InvoiceLink, InvoiceLink.id == LinkPayment.link_id)
        .where(LinkPayment.payment_id == payment_id,
               InvoiceLink.invoice_id == link.invoice_id)).one_or_none()
    if row is None:
        abort(404)
    return row.payment


@bp.get("/i/payments/<int:payment_id>/authenticate")
@page_limit
def authenticate(payment_id: int):
    """The card's bank asks for verification (3-D Secure): Stripe.js runs it here."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    payment = _link_payment(link, payment_id)
    gateway = cards.configured_gateway()
    if payment.status != "requires_action" or not payment.gateway_ref or gateway is None:
        return redirect(url_for("links.payment_return", payment_id=payment.id), code=303)
    reference, amount, currency = payment.gateway_ref, payment.amount_minor, payment.currency
    uow().session.rollback()
    try:
        intent = gateway.retrieve_payment_intent(reference)
    except GatewayError:
        abort(503)
    allow_stripe(gateway)
    return render_template("links/authenticate.html", payment_id=payment_id, amount=amount,
                           currency=currency, gateway=gateway, vendor=get_vendor(uow().session),
                           client_secret=intent.client_secret,
                           return_url=url_for("links.payment_return", payment_id=payment_id))


@bp.get("/i/payments/<int:payment_id>/return")
@page_limit
def payment_return(payment_id: int):
    """Where the payer lands after paying: ask Stripe now, apply it, show the payment."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    ask_stripe_now(_link_payment(link, payment_id))
    return redirect(url_for("links.payment", payment_id=payment_id), code=303)


@bp.get("/i/payments/<int:payment_id>")
@page_limit
def payment(payment_id: int):
    """A payment made through a link: how it stands, and its receipt once settled."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    session = uow().session
    row = _link_payment(link, payment_id)
    vendor = get_vendor(session)
    expected = None
    if row.method == "ach" and row.status in ("pending", "processing"):
        expected = date(ach_authorization.expected_by(
            row.created_at.astimezone(vendor.zone).date()), "long")
    return render_template("links/payment.html", payment=row, invoice=link.invoice,
                           listed=history.listed(session, row),
                           vendor=vendor, zone=vendor.zone, expected=expected,
                           has_receipt=receipts.has_receipt(row), with_language_switch=True)


@bp.get("/i/payments/<int:payment_id>/receipt.pdf")
@page_limit
def receipt_pdf(payment_id: int):
    """Download the receipt of a settled payment made through a link."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    link_id = link.id

    def record_download() -> None:
        with write_uow() as writer:
            services.record_use(writer.session, writer.session.get(InvoiceLink, link_id),
                                "link.receipt_downloaded", origin=_origin())
            writer.commit()

    return receipt_response(uow().session, _link_payment(link, payment_id),
                            before_layout=record_download)
