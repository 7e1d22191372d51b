"""Postings that move cash: payments started, settled, failed, reversed; credit applied.

The life of a portal payment, and what the ledger does at each step:

1. :func:`start_payment` — a ``pending`` payment with one reservation per
   invoice it pays (cash plus any discount). Reservations lower what anyone
   else can pay (``balance - reserved``); nothing is posted yet.
2. :func:`mark_payment` — ``requires_action`` (3-D Secure) or ``processing``
   (ACH): still unsettled, reservations stay.
3. :func:`settle_payment` — one ``payment_settled`` entry: cash clearing
   debited, each invoice's receivable credited by cash plus discount (the
   discount debited to discounts allowed), anything beyond the invoices'
   balances credited to customer credit. Reservations are released. A second
   call (webhook replayed, return page and webhook racing) returns the first
   entry.
4. :func:`fail_payment` — ``failed`` or ``canceled``: reservations released,
   nothing posted. Repeating it is a no-op.
5. :func:`reverse_payment` — an ACH return or card chargeback after success:
   a ``payment_reversed`` entry mirrors the settlement line by line, which
   reopens the invoices (and takes back the discount).

Every write that depends on a balance locks the rows it reads first
(:mod:`portal.ledger.store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.ledger import accounts, store
from portal.ledger.entries import EntryDraft, LedgerError
from portal.ledger.invoicing import refresh_status
from portal.ledger.models import (
    PAYMENT_METHODS,
    UNSETTLED_STATUSES,
    Allocation,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    Reservation,
    utcnow,
)
from portal.ledger.store import Posted
from portal.money import Money, MoneyError, check_currency

GATEWAY_OF_METHOD = {"card": "stripe", "ach": "stripe", "external": "external"}


@dataclass(frozen=True, slots=True)
class AllocationInput:
    """What a payment should take from one invoice."""

    invoice_id: int
    amount_minor: int
    discount_minor: int = 0
    short_pay_reason: str | None = None
    short_pay_note: str | None = None


def _m(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LedgerError(f"{what} must be an integer number of minor units")
    return value


def customer_credit(session: Session, customer_id: int, currency: str) -> int:
    """Return the customer's unapplied credit in ``currency`` (minor units; may be negative)."""
    total = session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_minor), 0)).where(
            JournalLine.account == accounts.CUSTOMER_CREDIT,
            JournalLine.customer_id == customer_id,
            JournalLine.currency == currency,
        ))
    return -int(total)


def start_payment(session: Session, *, customer_id: int, currency: str, method: str,
                  amount_minor: int, allocations: Sequence[AllocationInput],
                  created_by: str | None = None, payer_name: str | None = None,
                  payer_email: str | None = None, reference: str | None = None) -> Payment:
    """Create an unsettled payment and reserve what it takes from each invoice.

    ``amount_minor`` may exceed the allocations' cash: the excess becomes
    customer credit when the payment settles. Raises :class:`LedgerError` (and
    changes nothing) if an invoice is not the customer's, is in another
    currency, or has less open than asked.
    """
    try:
        currency = check_currency(currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from None
    if method not in PAYMENT_METHODS:
        raise LedgerError(f"unknown payment method {method!r}")
    if _int(amount_minor, "a payment amount") <= 0:
        raise LedgerError("a payment must be a positive amount")
    seen: set[int] = set()
    cash = 0
    for alloc in allocations:
        if alloc.invoice_id in seen:
            raise LedgerError("an invoice can appear only once in a payment")
        seen.add(alloc.invoice_id)
        amount = _int(alloc.amount_minor, "an allocation")
        discount = _int(alloc.discount_minor, "a discount")
        if amount < 0 or discount < 0 or amount + discount == 0:
            raise LedgerError("each invoice in a payment needs a positive amount")
        cash += amount
    if cash > amount_minor:
        raise LedgerError("the invoices take more than the payment's amount")
    invoices = store.lock_invoices(session, seen)
    for alloc in allocations:
        invoice = invoices[alloc.invoice_id]
        _check_payable(invoice, customer_id, currency)
        held = alloc.amount_minor + alloc.discount_minor
        if held > invoice.available_minor:
            raise LedgerError(
                f"invoice {invoice.number} has {_m(invoice.available_minor, currency)} open "
                f"to pay ({_m(invoice.reserved_minor, currency)} is already in payments "
                f"being processed); this payment asks for {_m(held, currency)}")
    payment = Payment(customer_id=customer_id, amount_minor=amount_minor, currency=currency,
                      method=method, gateway=GATEWAY_OF_METHOD[method], status="pending",
                      created_by=created_by, payer_name=payer_name, payer_email=payer_email,
                      reference=reference)
    for alloc in allocations:
        invoice = invoices[alloc.invoice_id]
        payment.reservations.append(Reservation(
            invoice_id=invoice.id, amount_minor=alloc.amount_minor,
            discount_minor=alloc.discount_minor, short_pay_reason=alloc.short_pay_reason,
            short_pay_note=alloc.short_pay_note))
        invoice.reserved_minor += alloc.amount_minor + alloc.discount_minor
    session.add(payment)
    # One flush: the payment, its reservations (one multi-row INSERT) and the
    # invoices' reservation totals.
    session.flush()
    return payment


def _check_payable(invoice: Invoice, customer_id: int, currency: str) -> None:
    if invoice.customer_id != customer_id:
        raise LedgerError(f"invoice {invoice.number} belongs to another customer")
    if invoice.currency != currency:
        raise LedgerError(f"invoice {invoice.number} is in {invoice.currency}, not {currency}")


def mark_payment(session: Session, payment_id: int, status: str, *,
                 gateway_ref: str | None = None) -> Payment:
    """Move an unsettled payment to another unsettled status (``requires_action``,
    ``processing``); a settled or failed payment is left as it is."""
    if status not in UNSETTLED_STATUSES:
        raise LedgerError(f"{status!r} is not an unsettled status")
    payment = store.lock_payment(session, payment_id)
    if gateway_ref and not payment.gateway_ref:
        payment.gateway_ref = gateway_ref
    if payment.status in UNSETTLED_STATUSES:
        payment.status = status
    session.flush()
    return payment


def _release(payment: Payment, invoices: dict[int, Invoice], when: dt.datetime) -> None:
    """Release the payment's active reservations on its ``invoices`` (locked and loaded).

    Changes the loaded rows only; the caller's flush writes them.
    """
    for reservation in payment.reservations:
        if reservation.released_at is None:
            reservation.released_at = when
            invoices[reservation.invoice_id].reserved_minor -= reservation.held_minor


def _refuse_another_payments_key(earlier: Posted | None, payment: Payment, key: str) -> None:
    if earlier and earlier.entry.payment_id != payment.id:
        raise store.IdempotencyConflict(
            f"idempotency key {key!r} already settled payment {earlier.entry.payment_id}")


def settle_payment(session: Session, payment_id: int, *, settled_at: dt.datetime | None = None,
                   gateway_ref: str | None = None, idempotency_key: str | None = None,
                   source: str = "portal") -> Posted:
    """Post the payment's settlement once, apply it to its invoices, release reservations.

    Applies each reservation up to the invoice's balance at this moment (a
    credit memo may have lowered it meanwhile); whatever cash is left over
    goes to customer credit, so no money is lost or applied twice.
    """
    payment = store.lock_payment(session, payment_id, with_reservations=True)
    key = idempotency_key or f"payment:{payment.id}:settled"
    if idempotency_key is not None or payment.settled_at is not None:
        # Before anything changes: a key used for another kind raises here, and a
        # key that settled another payment is no replay of this one. (The default
        # key names this payment; should another writer have taken it, the
        # insert below writes nothing and the same checks run on what it finds.)
        earlier = store.replayed(session, key, "payment_settled")
        _refuse_another_payments_key(earlier, payment, key)
        if payment.settled_at is not None:
            if earlier:
                return earlier
            raise LedgerError(f"payment {payment.id} is already settled under another key")
    when = settled_at or utcnow()
    # A payment that failed and then succeeded after all (a retried card) has no
    # reservations left; it still pays what it was meant to, where still open.
    plan = ([r for r in payment.reservations if r.released_at is None]
            if payment.status in UNSETTLED_STATUSES else list(payment.reservations))
    invoices = store.lock_invoices(
        session, {r.invoice_id for r in payment.reservations if r.released_at is None}
        | {r.invoice_id for r in plan})
    draft = EntryDraft("payment_settled", key, when, customer_id=payment.customer_id,
                       payment_id=payment.id, source=source)
    cur, cust = payment.currency, payment.customer_id
    draft.add(accounts.cash_clearing(payment.gateway), payment.amount_minor, cur,
              customer_id=cust)
    applied_cash = 0
    applied: list[tuple[Reservation, int, int]] = []
    for reservation in plan:
        invoice = invoices[reservation.invoice_id]
        # What is open to this payment: the balance, less what *other* payments
        # reserve (its own reservation is released below, with the posting).
        own = reservation.held_minor if reservation.released_at is None else 0
        open_now = max(invoice.balance_minor - (invoice.reserved_minor - own), 0)
        cash = min(reservation.amount_minor, open_now)
        discount = min(reservation.discount_minor, open_now - cash)
        if cash + discount == 0:
            continue
        applied_cash += cash
        applied.append((reservation, cash, discount))
        draft.add(accounts.DISCOUNTS_ALLOWED, discount, cur, customer_id=cust,
                  invoice_id=invoice.id)
        draft.add(accounts.RECEIVABLE, -(cash + discount), cur, customer_id=cust,
                  invoice_id=invoice.id)
    draft.add(accounts.CUSTOMER_CREDIT, -(payment.amount_minor - applied_cash), cur,
              customer_id=cust)
    posted = store.post(session, draft, flush=False)
    if not posted.created:  # a writer that raced us to the key; nothing was written
        _refuse_another_payments_key(posted, payment, key)
    _release(payment, invoices, when)
    for reservation, cash, discount in applied:
        session.add(Allocation(payment_id=payment.id, invoice_id=reservation.invoice_id,
                               entry_id=posted.entry.id, amount_minor=cash,
                               discount_minor=discount,
                               short_pay_reason=reservation.short_pay_reason,
                               short_pay_note=reservation.short_pay_note))
        refresh_status(invoices[reservation.invoice_id], "payment_settled")
    payment.status = "succeeded"
    payment.settled_at = when
    payment.received_at = payment.received_at or when
    if gateway_ref and not payment.gateway_ref:
        payment.gateway_ref = gateway_ref
    # One flush: reservations released, each invoice's reservation total, balance
    # and status in one UPDATE, the allocations, the payment.
    session.flush()
    return posted


def fail_payment(session: Session, payment_id: int, *, status: str = "failed",
                 code: str | None = None, message: str | None = None,
                 when: dt.datetime | None = None) -> Payment:
    """Mark an unsettled payment failed or canceled and release its reservations.

    A payment already failed or canceled is returned unchanged (a duplicate
    callback is not an error); a settled one cannot fail — reverse it instead.
    """
    if status not in ("failed", "canceled"):
        raise LedgerError(f"{status!r} is not a failure status")
    payment = store.lock_payment(session, payment_id, with_reservations=True)
    if payment.status in ("failed", "canceled"):
        return payment
    if payment.status not in UNSETTLED_STATUSES:
        raise LedgerError(f"payment {payment.id} has {payment.status}; reverse it instead")
    invoices = store.lock_invoices(session, [r.invoice_id for r in payment.reservations
                                             if r.released_at is None])
    _release(payment, invoices, when or utcnow())
    payment.status = status
    payment.failure_code = code
    payment.failure_message = message
    session.flush()
    return payment


def reverse_payment(session: Session, payment_id: int, *, reason: str,
                    code: str | None = None, occurred_at: dt.datetime | None = None,
                    source: str = "portal") -> Posted:
    """Reverse a settled payment (ACH return, chargeback): mirror its settlement entry.

    The invoices it paid are reopened by what it applied (cash and discount);
    the part that went to customer credit is taken back from customer credit.
    """
    payment = store.lock_payment(session, payment_id)
    key = f"payment:{payment.id}:reversed"
    earlier = store.replayed(session, key, "payment_reversed")
    if earlier:
        return earlier
    if payment.status != "succeeded":
        raise LedgerError(f"payment {payment.id} has {payment.status}; only a settled "
                          "payment can be reversed")
    settlement = session.scalars(
        select(JournalEntry).where(JournalEntry.payment_id == payment.id,
                                   JournalEntry.kind == "payment_settled")
        .execution_options(populate_existing=True)).one()
    invoice_ids = [line.invoice_id for line in settlement.lines if line.invoice_id]
    invoices = store.lock_invoices(session, invoice_ids)
    when = occurred_at or utcnow()
    draft = EntryDraft("payment_reversed", key, when, customer_id=payment.customer_id,
                       payment_id=payment.id, reverses_entry_id=settlement.id,
                       memo=f"{code + ': ' if code else ''}{reason}"[:500], source=source)
    for line in settlement.lines:
        draft.add(line.account, -line.amount_minor, line.currency,
                  customer_id=line.customer_id, invoice_id=line.invoice_id)
    posted = store.post(session, draft)
    for invoice in invoices.values():
        refresh_status(invoice, "payment_reversed")
    payment.status = "reversed"
    payment.reversed_at = when
    payment.failure_code = code
    payment.failure_message = reason[:500]
    session.flush()
    return posted


def record_external_payment(session: Session, *, customer_id: int, amount_minor: int,
                            currency: str, idempotency_key: str,
                            allocations: Sequence[AllocationInput] = (),
                            reference: str | None = None,
                            received_at: dt.datetime | None = None,
                            source: str = "erp") -> Posted:
    """Record a payment made outside the portal (check, wire) and settle it at once."""
    earlier = store.replayed(session, idempotency_key, "payment_settled")
    if earlier:
        return earlier
    try:
        # In a savepoint: a writer that raced this one to the key (an ERP retry
        # sent twice at once) and lost keeps no payment of its own, and gets the
        # winner's entry instead of a refusal.
        with session.begin_nested():
            payment = start_payment(session, customer_id=customer_id, currency=currency,
                                    method="external", amount_minor=amount_minor,
                                    allocations=allocations, reference=reference,
                                    created_by=source)
            payment.received_at = received_at
            return settle_payment(session, payment.id, settled_at=received_at,
                                  idempotency_key=idempotency_key, source=source)
    except LedgerError:
        earlier = store.replayed(session, idempotency_key, "payment_settled")
        if earlier:
            return earlier
        raise


def _credit_refusal(session: Session, customer_id: int, invoice: Invoice,
                    amount_minor: int) -> str | None:
    """Return why ``amount_minor`` of credit cannot go to ``invoice`` (locked), or None."""
    if invoice.customer_id != customer_id:
        return f"invoice {invoice.number} belongs to another customer"
    available_credit = customer_credit(session, customer_id, invoice.currency)
    if amount_minor > available_credit:
        return (f"the customer has {_m(max(available_credit, 0), invoice.currency)} "
                f"of credit; {_m(amount_minor, invoice.currency)} was asked")
    if amount_minor > invoice.available_minor:
        return (f"invoice {invoice.number} has only "
                f"{_m(invoice.available_minor, invoice.currency)} open")
    return None


def apply_credit(session: Session, *, customer_id: int, invoice_id: int, amount_minor: int,
                 idempotency_key: str, occurred_at: dt.datetime | None = None,
                 source: str = "portal", discount_minor: int = 0) -> Posted:
    """Apply the customer's unapplied credit to an invoice.

    ``discount_minor`` is an early-payment discount taken with the credit (the
    portal's checkout, when credit pays a discounted invoice): allowed only when
    credit and discount together settle everything open on the invoice.
    """
    earlier = store.replayed(session, idempotency_key, "credit_applied")
    if earlier:
        return earlier
    if _int(amount_minor, "a credit amount") <= 0:
        raise LedgerError("credit applied must be a positive amount")
    if _int(discount_minor, "a discount") < 0:
        raise LedgerError("a discount cannot be negative")
    store.lock_customer(session, customer_id)
    invoice = store.lock_invoices(session, [invoice_id])[invoice_id]
    refusal = _credit_refusal(session, customer_id, invoice, amount_minor)
    if refusal is None and discount_minor and (
            amount_minor + discount_minor != invoice.available_minor):
        refusal = (f"a discount is taken only when it settles invoice {invoice.number}: "
                   f"{_m(invoice.available_minor, invoice.currency)} is open, credit and "
                   f"discount make {_m(amount_minor + discount_minor, invoice.currency)}")
    if refusal is not None:
        # A writer racing with this key may have applied it while this one
        # waited for the customer's lock: that is a replay, not a refusal.
        earlier = store.replayed(session, idempotency_key, "credit_applied")
        if earlier:
            return earlier
        raise LedgerError(refusal)
    draft = EntryDraft("credit_applied", idempotency_key, occurred_at or utcnow(),
                       customer_id=customer_id, invoice_id=invoice.id, source=source)
    draft.add(accounts.CUSTOMER_CREDIT, amount_minor, invoice.currency, customer_id=customer_id)
    if discount_minor:
        draft.add(accounts.DISCOUNTS_ALLOWED, discount_minor, invoice.currency,
                  customer_id=customer_id, invoice_id=invoice.id)
    draft.add(accounts.RECEIVABLE, -(amount_minor + discount_minor), invoice.currency,
              customer_id=customer_id, invoice_id=invoice.id)
    posted = store.post(session, draft)
    refresh_status(invoice, "credit_applied")
    return posted
