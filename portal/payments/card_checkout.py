"""Paying the checkout: the payer's "Pay" becomes a ledger payment and one Stripe charge.

``POST /pay/confirm`` (:mod:`portal.payments.views`) hands over the checkout form,
the page's random ``checkout_key``, the total the page showed, and the card: the
id of a saved card, or of a new one that Stripe.js has just made from the card
Element in the payer's browser (card data never reaches the portal).

The steps, each in a transaction of its own, so that no transaction waits on
Stripe and Stripe never charges for a payment the database does not hold:

1. :func:`stripe_customer` — the account's Stripe customer (created once).
2. :func:`begin` (one unit of work) — the quote again, on the server, from what
   was typed. A payment already started with this ``checkout_key`` is returned
   as it is (a double click, a resubmitted form), and so is the credit a
   credit-only checkout with this key applied. A refused quote, or a total that
   is not the one the payer saw, changes nothing. When credit alone pays
   everything it is applied now, invoice by invoice (``credit_applied``, key
   ``checkout:{key}:credit:{id}``, with the discount where credit settles a
   discounted invoice), and that is all. Otherwise the card payment is started
   (``start_payment``: the invoices' amounts are reserved), the credit to use
   beside it is promised (:mod:`portal.payments.credit_plan`: applied when the
   card payment settles, so a declined card leaves it unspent) and what is
   needed to charge the card is stored (:class:`CardPayment`). Commit.
3. :func:`charge` — the PaymentIntent, created and confirmed with the card, with
   the idempotency key ``portal-payment-{id}``; no transaction is open.
4. :func:`record` (one unit of work) — the PaymentIntent's id is stored on the
   payment and its state goes through :func:`portal.payments.settlement.apply_payment_intent`
   like every webhook: settled (the receipt is sent after the commit), waiting
   for 3-D Secure, or failed (the reservations are released).

When step 3 fails without an answer (a timeout, Stripe unreachable) the payment
stays ``pending`` with no PaymentIntent and its amounts reserved. The
reconciliation sweep (:func:`resume`) repeats step 3 with the same idempotency
key and parameters — Stripe answers with the first request's result if it got
it, or charges now if it never did — and records the answer. A payment left so
for longer than Stripe keeps idempotency keys is failed instead (code
``abandoned``): repeating it then could charge twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import ledger
from portal.gateways.stripe import (
    CardDeclined,
    GatewayError,
    MandateAcceptance,
    PaymentIntent,
    StripeGateway,
)
from portal.i18n import money
from portal.ledger import accounts, store
from portal.ledger.models import (
    UNSETTLED_STATUSES,
    Customer,
    JournalEntry,
    JournalLine,
    Payment,
    utcnow,
)
from portal.payments import ach_authorization, cards, credit_plan, settlement
from portal.payments.bank_models import AchAuthorization, BankAccount
from portal.payments.checkout import Quote
from portal.payments.history import failure_words
from portal.payments.models import CardPayment
from portal.vendor.models import Vendor

log = logging.getLogger("portal.payments.card_checkout")

# ACH debits are in US dollars only.
ACH_CURRENCY = "USD"
# Stripe keeps idempotency keys for 24 hours; repeat a creation only well within that.
REPEAT_WITHIN = dt.timedelta(hours=23)

# What became of the payer's "Pay".
SETTLED = "settled"
NEEDS_AUTHENTICATION = "requires_action"
PROCESSING = "processing"
FAILED = "failed"
CREDIT_ONLY = "credit_only"
REFUSED = "refused"
UNKNOWN = "unknown"  # Stripe did not answer: the sweep will find out


class CheckoutRefused(Exception):
    """The checkout cannot be paid as submitted; nothing was written. The message is for people."""


@dataclass(frozen=True, slots=True)
class CardChoice:
    """The card to charge: a PaymentMethod id, and whether to keep it for later."""

    payment_method: str
    save: bool = False
    saved: bool = False  # one of the account's saved cards


@dataclass(frozen=True, slots=True)
class BankChoice:
    """The bank account to debit (ACH) and the authorization the payer accepted for it."""

    bank: BankAccount
    payer: ach_authorization.Payer
    today: dt.date  # the vendor's, named in the authorization as the debit date


@dataclass(frozen=True, slots=True)
class Started:
    """What :func:`begin` did: the payment to charge (None for credit only), credit applied."""

    payment_id: int | None
    credit_minor: int
    charge_minor: int
    existing: bool = False  # the checkout key's payment or credit, from an earlier submission


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the payer is told, and where they go next."""

    kind: str
    payment_id: int | None
    message: str | None = None
    client_secret: str | None = None  # for Stripe.js's 3-D Secure step


def stripe_customer(session: Session, gateway: StripeGateway, customer_id: int) -> str:
    """Step 1: the account's Stripe customer id (created and stored the first time)."""
    customer = session.get(Customer, customer_id)
    return cards.stripe_customer_id(session, gateway, customer)


def saved_card_ids(gateway: StripeGateway, stripe_customer_id: str) -> set[str]:
    return {card.payment_method_id for card in gateway.list_saved_cards(stripe_customer_id)}


def begin(session: Session, *, customer_id: int, quote: Quote, shown_charge_minor: int | None,
          checkout_key: str, card: CardChoice | None, payer_name: str | None,
          payer_email: str | None, bank: BankChoice | None = None,
          vendor: Vendor | None = None) -> Started:
    """Step 2: apply credit and start the payment; raise CheckoutRefused, writing nothing.

    By card (``card``) or by ACH debit (``bank``, with ``vendor`` for the
    authorization's text, which is recorded with the payment it authorizes).

    The caller commits. ``quote`` must have been computed in this session.
    """
    existing = session.scalars(select(CardPayment).where(
        CardPayment.checkout_key == checkout_key)).one_or_none()
    if existing is not None:
        payment = session.get(Payment, existing.payment_id)
        if payment is None or payment.customer_id != customer_id:
            raise CheckoutRefused(_("This checkout has expired. Start again from your "
                                    "invoices."))
        return Started(payment.id, existing.credit_minor, payment.amount_minor, existing=True)
    applied_before = _credit_applied_before(session, customer_id, quote, checkout_key)
    if applied_before:  # a credit-only checkout submitted again: it has no payment to find
        return Started(None, applied_before, 0, existing=True)
    if not quote.ok:
        raise CheckoutRefused(_("Nothing has been paid yet. Correct what is marked below."))
    if shown_charge_minor is None or shown_charge_minor != quote.charge_minor:
        raise CheckoutRefused(_(
            "The total is now %(amount)s. Nothing has been paid yet: check the amounts and "
            "pay again.", amount=money(quote.charge_minor, quote.currency)))
    if quote.charge_minor > 0 and card is None and bank is None:
        raise CheckoutRefused(_("Choose a saved card or enter a card to pay with."))
    if quote.charge_minor > 0 and bank is not None and quote.currency != ACH_CURRENCY:
        raise CheckoutRefused(_("Bank debits (ACH) are in US dollars only. Pay these "
                                "invoices by card."))
    if quote.credit_minor:
        # One checkout at a time promises the account's credit (credit_plan).
        store.lock_customer(session, customer_id)
        if quote.credit_minor > credit_plan.available(session, customer_id, quote.currency):
            raise CheckoutRefused(_(
                "Your account's credit changed while you were paying. Nothing has been "
                "paid: check the amounts and pay again."))
    if quote.charge_minor == 0:  # credit alone pays it all: applied now
        return Started(None, _apply_credit(session, customer_id, quote, checkout_key), 0)
    try:
        payment = ledger.start_payment(
            session, customer_id=customer_id, currency=quote.currency,
            method="ach" if bank is not None else "card",
            amount_minor=quote.charge_minor, allocations=quote.allocations(),
            created_by=payer_email, payer_name=payer_name, payer_email=payer_email)
    except ledger.LedgerError as error:
        # The quote read the invoices unlocked; start_payment locks and reads them
        # again, and refuses when another clerk reserved or paid part meanwhile.
        log.info("checkout %s refused by the ledger: %s", checkout_key, error)
        raise CheckoutRefused(_taken_meanwhile(quote)) from error
    # Credit beside the card is applied when the card payment settles, not before.
    credit = credit_plan.promise(session, payment.id, quote)
    if bank is not None:
        text = ach_authorization.debit_text(
            vendor, session.get(Customer, customer_id).name, bank.payer, bank.bank,
            payment.amount_minor, payment.currency, bank.today)
        ach_authorization.record(
            session, kind=ach_authorization.DEBIT, customer_id=customer_id, bank=bank.bank,
            payer=bank.payer, text=text, accepted_at=utcnow(), payment_id=payment.id,
            amount_minor=payment.amount_minor, currency=payment.currency)
    session.add(CardPayment(payment_id=payment.id, checkout_key=checkout_key,
                            payment_method_id=bank.bank.stripe_id if bank else card.payment_method,
                            save_card=bool(card and card.save), credit_minor=credit))
    session.flush()
    return Started(payment.id, credit, payment.amount_minor)


def _credit_key(checkout_key: str, invoice_id: int) -> str:
    return f"checkout:{checkout_key}:credit:{invoice_id}"


def _taken_meanwhile(quote: Quote) -> str:
    """Say, for the payer, which invoice has less open than the quote took from it."""
    for line in quote.lines:
        # start_payment locked and read again these very objects (populate_existing).
        invoice = line.invoice
        held = line.cash_minor + line.discount_minor
        if line.cash_minor == 0 or held <= invoice.available_minor:
            continue
        if invoice.reserved_minor > 0:
            return _("Another payment in progress now holds part of invoice %(number)s, so "
                     "this payment was not started. Nothing has been paid: check the amounts "
                     "and pay again.", number=invoice.number)
        return _("Invoice %(number)s changed while you were paying. Nothing has been paid: "
                 "check the amounts and pay again.", number=invoice.number)
    return _("The invoices changed while you were paying. Nothing has been paid: check the "
             "amounts and pay again.")


def _apply_credit(session: Session, customer_id: int, quote: Quote, checkout_key: str) -> int:
    applied = 0
    for line, discount in quote.credit_applications():
        ledger.apply_credit(session, customer_id=customer_id, invoice_id=line.invoice.id,
                            amount_minor=line.credit_minor, discount_minor=discount,
                            idempotency_key=_credit_key(checkout_key, line.invoice.id),
                            source="portal")
        applied += line.credit_minor
    return applied


def _credit_applied_before(session: Session, customer_id: int, quote: Quote,
                           checkout_key: str) -> int:
    """Credit that an earlier submission of this checkout applied to the quote's invoices."""
    keys = [_credit_key(checkout_key, line.invoice.id) for line in quote.lines]
    if not keys:
        return 0
    return int(session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.idempotency_key.in_(keys), JournalEntry.kind == "credit_applied",
               JournalEntry.customer_id == customer_id,
               JournalLine.account == accounts.CUSTOMER_CREDIT)))


@dataclass(frozen=True, slots=True)
class Charge:
    """What step 3 sends Stripe, read from the database before its transaction ends."""

    payment_id: int
    amount_minor: int
    currency: str
    stripe_customer_id: str
    payment_method: str
    save_card: bool
    invoice_numbers: tuple[str, ...]
    # An ACH debit: the payer's acceptance of its authorization, for the mandate.
    acceptance: MandateAcceptance | None = None
    off_session: bool = False  # a saved card charged with nobody present (plan autopay)

    @classmethod
    def of(cls, session: Session, payment_id: int, stripe_customer_id: str) -> Charge:
        payment = session.get(Payment, payment_id)
        card = session.get(CardPayment, payment_id)
        acceptance = None
        if payment.method == "ach":
            authorization = session.scalars(select(AchAuthorization).where(
                AchAuthorization.payment_id == payment.id)).one()
            acceptance = ach_authorization.acceptance(authorization)
            # A one-off account lives on a Stripe customer of its own.
            stripe_customer_id = session.scalar(select(BankAccount.stripe_customer_id).where(
                BankAccount.stripe_id == card.payment_method_id)) or stripe_customer_id
        return cls(payment.id, payment.amount_minor, payment.currency, stripe_customer_id,
                   card.payment_method_id, card.save_card,
                   tuple(r.invoice.number for r in payment.reservations), acceptance)


def charge(gateway: StripeGateway, order: Charge) -> PaymentIntent:
    """Step 3: create and confirm the PaymentIntent, once per payment (idempotency key).

    Call it with no transaction open: it waits on Stripe.
    """
    if order.acceptance is not None:
        return gateway.create_ach_payment_intent(
            order.amount_minor, order.currency, order.stripe_customer_id,
            payment_method=order.payment_method, acceptance=order.acceptance,
            payment_id=order.payment_id, invoice_numbers=order.invoice_numbers,
            idempotency_key=idempotency_key(order.payment_id))
    return gateway.create_payment_intent(
        order.amount_minor, order.currency, order.stripe_customer_id,
        payment_id=order.payment_id, invoice_numbers=order.invoice_numbers,
        idempotency_key=idempotency_key(order.payment_id),
        payment_method=order.payment_method, save_card=order.save_card,
        off_session=order.off_session)


def charge_started(session: Session, gateway: StripeGateway, payment_id: int,
                   stripe_customer_id: str, *, off_session: bool = False) -> Outcome | None:
    """Steps 3 and 4 for a payment :func:`begin` started and the caller committed: read
    the order, end the transaction, charge, record what Stripe said (the caller commits).

    None when Stripe gave no answer: the amounts stay held and the sweep finds out.
    """
    order = dataclasses.replace(Charge.of(session, payment_id, stripe_customer_id),
                                off_session=off_session)
    session.rollback()  # no transaction stays open while Stripe answers
    try:
        intent = charge(gateway, order)
    except CardDeclined as error:
        return declined_before_intent(session, payment_id, error)
    except GatewayError as error:
        if no_answer(error):
            return None
        return refused_by_stripe(session, payment_id, error)
    return record(session, payment_id, intent)


def idempotency_key(payment_id: int) -> str:
    return f"portal-payment-{payment_id}"


def record(session: Session, payment_id: int, intent: PaymentIntent) -> Outcome:
    """Step 4: store the PaymentIntent on the payment and apply its state; the caller commits."""
    payment = store.lock_payment(session, payment_id)
    if not payment.gateway_ref:
        payment.gateway_ref = intent.id
        session.flush()
    result = settlement.apply_payment_intent(session, payment, intent)
    return outcome_of(result.payment, intent.client_secret)


def outcome_of(payment: Payment, client_secret: str | None = None) -> Outcome:
    """Say what the payer sees for ``payment`` as it stands."""
    if payment.status == "succeeded":
        return Outcome(SETTLED, payment.id)
    if payment.status == "requires_action":
        return Outcome(NEEDS_AUTHENTICATION, payment.id, client_secret=client_secret)
    if payment.status in ("failed", "canceled"):
        words = failure_words(payment.failure_code, payment.failure_message)
        return Outcome(FAILED, payment.id, message=words or _("The payment did not go "
                                                               "through."))
    if payment.status == "processing":
        return Outcome(PROCESSING, payment.id)
    return Outcome(UNKNOWN, payment.id)


def declined_before_intent(session: Session, payment_id: int, error: CardDeclined) -> Outcome:
    """Stripe refused the card before any PaymentIntent recorded it: fail the payment."""
    ledger.fail_payment(session, payment_id, code=error.decline_code or error.code,
                        message=error.message[:500])
    payment = store.lock_payment(session, payment_id)
    return outcome_of(payment)


def refused_by_stripe(session: Session, payment_id: int, error: GatewayError) -> Outcome:
    """Stripe answered with a refusal of the request (not a decline): fail the payment."""
    log.error("payment %s: Stripe refused the PaymentIntent: %s (%s)", payment_id,
              error.message, error.code)
    ledger.fail_payment(session, payment_id, code=error.code or "gateway_error",
                        message=error.message[:500])
    payment = store.lock_payment(session, payment_id)
    return Outcome(FAILED, payment.id, message=_(
        "The card payment could not be started. Nothing was charged; try again, or use "
        "another card."))


def no_answer(error: GatewayError) -> bool:
    """True when Stripe may or may not have acted on the request (no HTTP answer, or a 5xx)."""
    return error.http_status is None or error.http_status >= 500 or error.http_status == 409


# The sweep's part --------------------------------------------------------------------------


def stranded_payment_ids(session: Session, older_than: dt.timedelta,
                         now: dt.datetime | None = None) -> list[int]:
    """Card payments started at checkout whose PaymentIntent the portal never learnt of."""
    cutoff = (now or utcnow()) - older_than
    query = (select(Payment.id).join(CardPayment, CardPayment.payment_id == Payment.id)
             .where(Payment.method == "card", Payment.status.in_(UNSETTLED_STATUSES),
                    Payment.gateway_ref.is_(None), CardPayment.payment_method_id.is_not(None),
                    Payment.created_at <= cutoff)
             .order_by(Payment.id))
    return list(session.scalars(query))


def resume(session: Session, gateway: StripeGateway, payment_id: int,
           now: dt.datetime | None = None) -> str:
    """Repeat step 3 for a stranded payment and record the answer; return the outcome's kind.

    Run in its own unit of work (the caller commits). A payment past Stripe's
    idempotency window is failed with code ``abandoned``.
    """
    payment = store.lock_payment(session, payment_id)
    if payment.gateway_ref or payment.status not in UNSETTLED_STATUSES:
        return settlement.UNCHANGED
    card = session.get(CardPayment, payment_id)
    if card is None or not card.payment_method_id:
        return settlement.UNCHANGED
    if (now or utcnow()) - payment.created_at > REPEAT_WITHIN:
        ledger.fail_payment(session, payment_id, code="abandoned", message=(
            "The card was never confirmed as charged; the checkout was abandoned."))
        return FAILED
    order = Charge.of(session, payment_id,
                      stripe_customer(session, gateway, payment.customer_id))
    try:
        intent = charge(gateway, order)
    except CardDeclined as error:
        return declined_before_intent(session, payment_id, error).kind
    except GatewayError as error:
        if no_answer(error):
            raise
        return refused_by_stripe(session, payment_id, error).kind
    return record(session, payment_id, intent).kind
