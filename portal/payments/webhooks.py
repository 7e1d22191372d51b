"""``POST /webhooks/stripe``: Stripe tells the portal how payments ended.

A machine endpoint: no session, no sign-in, no CSRF token (the app exempts this
blueprint); what authenticates a delivery is its ``Stripe-Signature``, checked
with the endpoint's signing secret and a five-minute timestamp tolerance
(https://docs.stripe.com/webhooks#verify-events). The answers follow Stripe's
delivery rules (https://docs.stripe.com/webhooks#acknowledge-events-immediately):

- bad or missing signature, or a stale timestamp: **400**, nothing read or written;
- an event id seen before: **200**, nothing done (its id is unique in
  ``portal_stripe_events``; a delivery racing its twin waits on that index);
- handled, ignored, or about a payment the portal does not know: **200**, after
  the unit of work has committed — a 200 before the commit could lose the event;
- anything failing on the way: **500** and everything rolled back, so Stripe
  delivers again.

The event's ``data.object`` is used only for ids. The PaymentIntent itself is
fetched from Stripe, so events arriving out of order (``processing`` after
``succeeded``) cannot move a payment backwards, and the same
:func:`portal.payments.settlement.apply_payment_intent` runs as for the return
page and the sweep. A payment is recognised only when the PaymentIntent's
metadata names it *and* its ``gateway_ref`` is that PaymentIntent — or, for a
checkout payment that never learnt its PaymentIntent (Stripe's answer to the
creation was lost), when it has none yet and the PaymentIntent is for the
account's Stripe customer, amount and currency: it is then recorded as its own.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.core.request_db import uow
from portal.db import UnitOfWork
from portal.gateways.stripe import (
    NotConfigured,
    NotFound,
    PaymentIntent,
    StripeGateway,
    WebhookEvent,
    WebhookSignatureError,
)
from portal.ledger import store
from portal.ledger.models import Payment, utcnow
from portal.notifications import mail
from portal.payments import settlement
from portal.payments.models import StripeCustomerLink, StripeEvent
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.payments.webhooks")

bp = Blueprint("webhooks", __name__)

PAYMENT_INTENT_EVENTS = frozenset({
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "payment_intent.processing", "payment_intent.requires_action",
})
DISPUTE_CREATED = "charge.dispute.created"
UNKNOWN_PAYMENT = "unknown_payment"
IGNORED = "ignored"

_INSERT_EVENT = {name: dialect.insert(StripeEvent).on_conflict_do_nothing(
                     index_elements=[StripeEvent.event_id]).returning(StripeEvent.id)
                 for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


class MalformedEvent(ValueError):
    """A signed event whose object lacks a field the handler needs."""


@bp.post("/webhooks/stripe")
def stripe_webhook():
    """Verify a Stripe event, handle it once, commit, then answer."""
    try:
        gateway = StripeGateway.from_config(current_app.config["PORTAL"])
        event = gateway.construct_event(request.get_data(),
                                        request.headers.get("Stripe-Signature"))
    except (WebhookSignatureError, NotConfigured) as error:
        log.warning("Stripe webhook refused: %s", error)
        return jsonify(error="signature"), 400
    try:
        outcome = handle_event(uow(), gateway, event)
    except Exception:  # any failure: roll back (at teardown) and let Stripe retry
        log.exception("Stripe event %s (%s) failed; Stripe will retry", event.id, event.type)
        return jsonify(error="failed"), 500
    return jsonify(received=event.id, outcome=outcome), 200


def handle_event(unit: UnitOfWork, gateway: StripeGateway, event: WebhookEvent) -> str:
    """Record ``event`` once, apply it, commit (then e-mail); return what was done."""
    session = unit.session
    row_id = _record(session, event)
    if row_id is None:
        return "duplicate"
    if event.type in PAYMENT_INTENT_EVENTS:
        payment_id, outcome = _payment_intent_event(session, gateway, event)
    elif event.type == DISPUTE_CREATED:
        payment_id, outcome = _dispute_event(unit, gateway, event)
    else:
        payment_id, outcome = None, IGNORED
    row = session.get(StripeEvent, row_id)
    row.payment_id, row.outcome = payment_id, outcome
    unit.commit()
    return outcome


def _record(session: Session, event: WebhookEvent) -> int | None:
    """Insert the event's id; None if it was there already (a replay)."""
    statement = _INSERT_EVENT[session.get_bind().dialect.name]
    return session.scalars(statement, {"event_id": event.id, "type": event.type[:100],
                                       "received_at": utcnow()}).one_or_none()


def _payment_intent_event(session: Session, gateway: StripeGateway,
                          event: WebhookEvent) -> tuple[int | None, str]:
    intent = _current_intent(gateway, _string(event.object, "id", "pi_"))
    payment = _payment_of(session, intent) if intent else None
    if payment is None:
        return None, UNKNOWN_PAYMENT
    result = settlement.apply_payment_intent(session, payment, intent)
    return payment.id, result.outcome


def _dispute_event(unit: UnitOfWork, gateway: StripeGateway,
                   event: WebhookEvent) -> tuple[int | None, str]:
    session = unit.session
    dispute = _dispute(event.object)
    intent = (_current_intent(gateway, dispute.payment_intent_id)
              if dispute.payment_intent_id else None)
    payment = _payment_of(session, intent) if intent else None
    if payment is None or intent.charge_id != dispute.charge_id:
        log.warning("dispute %s on charge %s: no portal payment has it", dispute.id,
                    dispute.charge_id)
        return None, UNKNOWN_PAYMENT
    # A success never heard of is settled first, so it can be reversed.
    settlement.apply_payment_intent(session, payment, intent)
    chargeback = settlement.apply_dispute(session, payment, dispute)
    if chargeback.reversed or not chargeback.whole_payment:
        _tell_vendor_after_commit(unit, chargeback)
    return payment.id, "reversed" if chargeback.reversed else "dispute_recorded"


def _tell_vendor_after_commit(unit: UnitOfWork, chargeback: settlement.Chargeback) -> None:
    config = current_app.config["PORTAL"]
    vendor = get_vendor(unit.session)
    to = vendor.support_email or config.mail_from
    payment, dispute = chargeback.payment, chargeback.dispute
    context: dict[str, Any] = dict(
        payment_id=payment.id, account=payment.customer.name,
        account_number=payment.customer.number, amount_minor=payment.amount_minor,
        currency=payment.currency, dispute_id=dispute.id, reason=dispute.reason,
        dispute_amount_minor=dispute.amount_minor, dispute_currency=dispute.currency,
        invoices=chargeback.invoice_numbers, reversed=chargeback.reversed,
        ach=payment.method == "ach", return_code=payment.failure_code)
    unit.after_commit(lambda: mail.send("chargeback", to, **context))


def _current_intent(gateway: StripeGateway, intent_id: str) -> PaymentIntent | None:
    """Stripe's PaymentIntent now; None if Stripe does not know it (other errors raise:
    a 500, and Stripe delivers again)."""
    try:
        return gateway.retrieve_payment_intent(intent_id)
    except NotFound:
        log.warning("Stripe event about PaymentIntent %s, which Stripe does not know",
                    intent_id)
        return None


def _payment_of(session: Session, intent: PaymentIntent) -> Payment | None:
    """The portal payment the PaymentIntent's metadata names, if it is that payment's."""
    payment_id = intent.payment_id or ""
    payment = session.get(Payment, int(payment_id)) if payment_id.isdigit() else None
    if payment is not None and payment.gateway_ref is None and _adoptable(session, payment,
                                                                          intent):
        # The checkout never heard Stripe's answer (card_checkout: stranded); Stripe's
        # own record — fetched here, with the secret key — names this payment.
        payment = store.lock_payment(session, payment.id)
        if payment.gateway_ref is None:
            payment.gateway_ref = intent.id
            session.flush()
    if payment is None or payment.gateway_ref != intent.id:
        log.warning("PaymentIntent %s names portal payment %r, which is not its payment",
                    intent.id, intent.payment_id)
        return None
    return payment


def _adoptable(session: Session, payment: Payment, intent: PaymentIntent) -> bool:
    """True when a payment without a PaymentIntent may take this one: a card or ACH payment
    of the account whose Stripe customer the PaymentIntent is for, in its amount and
    currency."""
    link = session.get(StripeCustomerLink, payment.customer_id)
    return (payment.method in ("card", "ach") and link is not None
            and intent.customer_id == link.stripe_customer_id
            and (intent.amount_minor, intent.currency) == (payment.amount_minor,
                                                           payment.currency))


def _dispute(data: dict[str, Any]) -> settlement.Dispute:
    """The fields of Stripe's Dispute object the portal uses, checked.

    https://docs.stripe.com/api/disputes/object
    """
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise MalformedEvent("a dispute needs a positive integer amount")
    intent = data.get("payment_intent")
    return settlement.Dispute(
        id=_string(data, "id", "dp_"), charge_id=_string(data, "charge", "ch_"),
        payment_intent_id=intent if isinstance(intent, str) and intent else None,
        amount_minor=amount, currency=_string(data, "currency", "").upper(),
        reason=str(data.get("reason") or "unknown")[:100])


def _string(data: dict[str, Any], name: str, prefix: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 255:
        raise MalformedEvent(f"the event's object has no valid {name!r}")
    return value
