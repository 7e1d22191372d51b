"""Settlement, exactly once: one idempotent path from Stripe's view of a card payment to the ledger.

The portal learns how a card payment ended from three places — a signed webhook
(:mod:`portal.payments.webhooks`), the return page (:func:`sync_payment`) and the
reconciliation sweep (:mod:`portal.payments.reconcile`) — in any order, any number
of times, and sometimes at the same moment. All three hand the PaymentIntent as
Stripe reports it *now* to :func:`apply_payment_intent`, which

1. locks the payment row first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
   the unit of work's ``BEGIN IMMEDIATE`` already holds the write lock), so two
   callers racing run one after the other and the second sees what the first did;
2. brings the ledger in line with Stripe (the ledger's calls are idempotent too);
3. keeps the card's brand and last four for receipts and history
   (:class:`portal.payments.models.CardPayment`).

The state table (PaymentIntent status as Stripe reports it → what happens here;
"unsettled" means ``pending``, ``requires_action`` or ``processing``):

=======================  ===================  ============================  ===============
PaymentIntent            portal payment       ledger call                   outcome
=======================  ===================  ============================  ===============
succeeded, same amount   unsettled, failed,   ``settle_payment``            settled
and currency             canceled (late)
succeeded                succeeded, reversed  none                          unchanged
succeeded, another       not settled          none: stored, logged, audit   amount_mismatch
amount or currency
requires_action          unsettled            ``mark_payment``              marked
processing               unsettled            ``mark_payment``              marked
requires_payment_method  unsettled            ``fail_payment(failed)``      failed
with a last error
requires_payment_method  any                  none (no card tried yet)      unchanged
without an error
canceled                 unsettled            ``fail_payment(canceled)``    canceled
canceled, or failed      succeeded, reversed  none; logged as an error      conflict
anything else            any                  none                          unchanged
=======================  ===================  ============================  ===============

"Anything else" is ``requires_confirmation``, ``requires_capture`` or a status
Stripe adds later; a failed or canceled payment is left so by a failure again.

``marked`` with the status it already has is ``unchanged``. A failure stores the
card's decline code (``insufficient_funds``), else Stripe's error code
(``card_declined``, ``payment_intent_authentication_failure``), and its message.

Why a different amount is never settled: the ledger would post what the portal
computed while the cash clearing account received something else. The payment
stays unsettled (its reservations held), the disagreement is stored on
``portal_card_payments``, logged at ERROR and written to the staff audit log, and
``portal payments reconcile`` keeps reporting it as an error until staff act.

Receipts: every call returns a :class:`Settlement` whose ``newly_settled`` is True
for exactly one caller per payment — the one whose call posted the settlement.
That call queues the payer's receipt (:func:`portal.payments.receipts.send_receipt`),
which goes out when its unit of work commits.

A card chargeback (:func:`apply_dispute`) reverses the settlement with
``reverse_payment``, which reopens the invoices; the caller tells the vendor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal import ledger
from portal.accounts import audit
from portal.gateways.stripe import PaymentIntent, StripeGateway
from portal.ledger import store
from portal.ledger.models import UNSETTLED_STATUSES, Payment, utcnow
from portal.money import Money
from portal.payments import ach_notices, credit_plan, receipts
from portal.payments.models import CardPayment
from portal.plans import progress as plan_progress

log = logging.getLogger("portal.payments.settlement")

SETTLED = "settled"
FAILED = "failed"
CANCELED = "canceled"
MARKED = "marked"
UNCHANGED = "unchanged"
AMOUNT_MISMATCH = "amount_mismatch"
CONFLICT = "conflict"
# Outcomes that need a person: the sweep reports them as errors.
PROBLEMS = frozenset({AMOUNT_MISMATCH, CONFLICT})

_MARKED_STATUSES = ("requires_action", "processing")
_SETTLE_FROM = (*UNSETTLED_STATUSES, "failed", "canceled")


class SettlementError(Exception):
    """The PaymentIntent is not this payment's; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """What applying Stripe's view did to one payment.

    ``newly_settled`` is True only for the call that posted the settlement: the
    place where the caller sends the payer's receipt (after its commit).
    """

    payment: Payment
    outcome: str
    newly_settled: bool = False

    @property
    def needs_staff(self) -> bool:
        """True when a person must look at this payment (amount mismatch, conflict)."""
        return self.outcome in PROBLEMS


@dataclass(frozen=True, slots=True)
class Dispute:
    """A card chargeback, as Stripe's ``charge.dispute.created`` event describes it."""

    id: str
    charge_id: str
    payment_intent_id: str | None
    amount_minor: int
    currency: str
    reason: str


@dataclass(frozen=True, slots=True)
class Chargeback:
    """What a dispute did: ``reversed`` is True only for the call that posted the reversal."""

    payment: Payment
    dispute: Dispute
    reversed: bool
    invoice_numbers: tuple[str, ...]

    @property
    def whole_payment(self) -> bool:
        """True when the dispute is for the payment's whole amount (else nothing is posted)."""
        return (self.dispute.amount_minor == self.payment.amount_minor
                and self.dispute.currency == self.payment.currency)


def sync_payment(session: Session, payment_id: int, gateway: StripeGateway) -> Payment:
    """Ask Stripe about the payment's PaymentIntent and apply it (return page); return it."""
    return sync_payment_outcome(session, payment_id, gateway).payment


def sync_payment_outcome(session: Session, payment_id: int,
                         gateway: StripeGateway) -> Settlement:
    """Ask Stripe about the payment's PaymentIntent and apply it; say what changed.

    Raises :class:`SettlementError` for a payment with no PaymentIntent, and the
    gateway's errors (:class:`portal.gateways.stripe.GatewayError`) as they come.
    """
    payment = store.lock_payment(session, payment_id)
    if not payment.gateway_ref:
        raise SettlementError(f"payment {payment_id} has no PaymentIntent yet")
    intent = gateway.retrieve_payment_intent(payment.gateway_ref)
    return apply_payment_intent(session, payment, intent)


def apply_payment_intent(session: Session, payment: Payment,
                         intent: PaymentIntent) -> Settlement:
    """Bring the ledger in line with Stripe's current view of ``payment``'s PaymentIntent."""
    payment = store.lock_payment(session, payment.id)
    _check_belongs(payment, intent)
    _remember_card(session, payment, intent)
    if intent.status == "succeeded":
        return _succeeded(session, payment, intent)
    if intent.status in _MARKED_STATUSES:
        return _marked(session, payment, intent.status)
    if intent.status == "canceled" or (intent.status == "requires_payment_method"
                                       and intent.last_error is not None):
        return _failed(session, payment, intent)
    return Settlement(payment, UNCHANGED)


def apply_dispute(session: Session, payment: Payment, dispute: Dispute) -> Chargeback:
    """Reverse a settled payment for a chargeback of its whole amount, once.

    The caller has applied the PaymentIntent first, so a payment whose success
    was never heard of is settled before it is reversed. A dispute of part of the
    payment posts nothing (the ledger reverses whole payments): it is logged and
    audited for staff, like an amount mismatch.
    """
    payment = store.lock_payment(session, payment.id)
    outcome = Chargeback(payment, dispute, False, _invoice_numbers(payment))
    if not outcome.whole_payment:
        _flag(session, payment, "payment.dispute_partial",
              f"Stripe dispute {dispute.id} is for "
              f"{Money(dispute.amount_minor, dispute.currency)} of "
              f"{Money(payment.amount_minor, payment.currency)}; nothing was posted")
        return outcome
    if payment.status not in ("succeeded", "reversed"):
        _flag(session, payment, "payment.dispute_unsettled",
              f"Stripe dispute {dispute.id} on a payment that is {payment.status}")
        return outcome
    if payment.method == "ach":
        # A debit taken back by the payer's bank after it succeeded (Stripe: a dispute).
        code = ach_notices.return_code(dispute.reason) or "ach_return"
        reason = f"ACH return {code} after success, Stripe dispute {dispute.id}"
    else:
        code, reason = "chargeback", f"card chargeback, Stripe dispute {dispute.id} " \
                                     f"({dispute.reason})"
    posted = ledger.reverse_payment(session, payment.id, code=code, reason=reason)
    if posted.created:
        # An installment it paid is owed again (autopay does not take it a second time).
        plan_progress.after_payment(session, payment.id)
    if posted.created and payment.method == "ach":
        ach_notices.notify(session, payment.id, ach_notices.RETURNED)
    return Chargeback(payment, dispute, posted.created, outcome.invoice_numbers)


# The outcomes ------------------------------------------------------------------------------


def _succeeded(session: Session, payment: Payment, intent: PaymentIntent) -> Settlement:
    if payment.status in ("succeeded", "reversed"):
        return Settlement(payment, UNCHANGED)
    if (intent.amount_received_minor, intent.currency) != (payment.amount_minor,
                                                           payment.currency):
        return _amount_mismatch(session, payment, intent)
    # Credit the checkout promised beside the card goes on first (credit_plan), so the
    # card's own money settles what is left, discount included.
    credit_plan.apply_promised(session, payment)
    posted = ledger.settle_payment(session, payment.id, gateway_ref=intent.id,
                                   source="stripe")
    if posted.created:
        # Only the call that posted the settlement sends the receipt, once its
        # transaction commits (a rollback forgets it).
        receipts.send_receipt(session, payment.id)
        # An installment plan's invoices: the plan counts what they were paid.
        plan_progress.after_payment(session, payment.id)
    return Settlement(payment, SETTLED, newly_settled=posted.created)


def _marked(session: Session, payment: Payment, status: str) -> Settlement:
    if payment.status not in UNSETTLED_STATUSES or payment.status == status:
        return Settlement(payment, UNCHANGED)
    ledger.mark_payment(session, payment.id, status)
    return Settlement(payment, MARKED)


def _failed(session: Session, payment: Payment, intent: PaymentIntent) -> Settlement:
    status = CANCELED if intent.status == "canceled" else FAILED
    if payment.status in ("failed", "canceled"):
        return Settlement(payment, UNCHANGED)
    if payment.status not in UNSETTLED_STATUSES:
        log.error("payment %s is %s but Stripe reports PaymentIntent %s as %s; nothing changed",
                  payment.id, payment.status, intent.id, intent.status)
        return Settlement(payment, CONFLICT)
    error = intent.last_error
    code = (error.decline_code or error.code) if error else None
    message = error.message[:500] if error else None
    if payment.method == "ach" and status == FAILED:
        # The bank refused the debit: its return code, and the payer is told what to do.
        code = ach_notices.return_code(code)
        ach_notices.notify(session, payment.id, ach_notices.FAILED)
    ledger.fail_payment(session, payment.id, status=status, code=code, message=message)
    return Settlement(payment, status)


def _amount_mismatch(session: Session, payment: Payment, intent: PaymentIntent) -> Settlement:
    card = _card_row(session, payment)
    seen = (card.mismatch_amount_minor, card.mismatch_currency)
    if seen != (intent.amount_received_minor, intent.currency):
        card.mismatch_amount_minor = intent.amount_received_minor
        card.mismatch_currency = intent.currency
        card.mismatch_seen_at = utcnow()
        _flag(session, payment, "payment.amount_mismatch",
              f"Stripe PaymentIntent {intent.id} received "
              f"{Money(intent.amount_received_minor, intent.currency)}, the payment is for "
              f"{Money(payment.amount_minor, payment.currency)}; not settled")
    else:
        log.error("payment %s: still an amount mismatch with %s; not settled",
                  payment.id, intent.id)
    session.flush()
    return Settlement(payment, AMOUNT_MISMATCH)


# Helpers -----------------------------------------------------------------------------------


def _check_belongs(payment: Payment, intent: PaymentIntent) -> None:
    if payment.gateway_ref != intent.id or intent.payment_id != str(payment.id):
        raise SettlementError(
            f"PaymentIntent {intent.id} (portal payment {intent.payment_id!r}) is not "
            f"payment {payment.id}'s ({payment.gateway_ref!r})")


def _card_row(session: Session, payment: Payment) -> CardPayment:
    card = session.get(CardPayment, payment.id)
    if card is None:
        card = CardPayment(payment_id=payment.id)
        session.add(card)
    return card


def _remember_card(session: Session, payment: Payment, intent: PaymentIntent) -> None:
    card = _card_row(session, payment)
    card.intent_status = intent.status
    if intent.card is not None:
        card.brand = intent.card.brand or card.brand
        card.last4 = intent.card.last4 or card.last4
    elif intent.bank_account is not None:  # an ACH debit: the bank account's last four
        card.last4 = intent.bank_account.last4 or card.last4


def _flag(session: Session, payment: Payment, action: str, detail: str) -> None:
    """Tell staff loudly: an ERROR in the log and an entry in the staff audit log."""
    log.error("payment %s: %s", payment.id, detail)
    audit.record(session, action, origin=audit.Origin(), customer_id=payment.customer_id,
                 subject=f"payment {payment.id}", detail=detail, actor_email="stripe")


def _invoice_numbers(payment: Payment) -> tuple[str, ...]:
    return tuple(allocation.invoice.number for allocation in payment.allocations)
