"""Account credit in a card checkout: promised with the payment, applied when it settles.

A payer may ask the checkout to use the account's credit first and charge the
card the rest. The credit is not applied when the payer clicks Pay — a declined
card would then leave it spent on invoices that are only partly paid, and a
discount that needed the whole balance paid would be lost with it. Instead:

- :func:`promise` stores, with the card payment, how much credit goes to which
  invoice (:class:`portal.payments.models.CheckoutCredit`), and the discount the
  credit takes where it pays an invoice alone;
- :func:`available` is the account's credit less what unsettled card payments
  have promised, so a second checkout cannot promise the same credit (the
  checkout locks the account's row while it promises);
- :func:`apply_promised` runs in the transaction that settles the payment
  (:mod:`portal.payments.settlement`), before the settlement is posted: one
  ``credit_applied`` entry per invoice (key ``payment:{id}:credit:{invoice id}``,
  so it is applied once however often the settlement is replayed). Whatever
  changed meanwhile (the vendor applied the credit elsewhere, another payment
  paid the invoice) shrinks what is applied — never below zero, never above what
  is open — and is logged; the card's own money is settled as usual.

A payment that fails or is canceled applies nothing, and its promise stops
counting against the credit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import ledger
from portal.ledger import store
from portal.ledger.models import UNSETTLED_STATUSES, Invoice, Payment
from portal.payments.models import CheckoutCredit

if TYPE_CHECKING:
    from portal.payments.checkout import Quote

log = logging.getLogger("portal.payments.credit_plan")


def promised(session: Session, customer_id: int, currency: str) -> int:
    """Credit that the customer's unsettled card payments will apply when they settle."""
    return int(session.scalar(
        select(func.coalesce(func.sum(CheckoutCredit.amount_minor), 0))
        .join(Payment, Payment.id == CheckoutCredit.payment_id)
        .where(Payment.customer_id == customer_id, Payment.currency == currency,
               Payment.status.in_(UNSETTLED_STATUSES),
               CheckoutCredit.applied_minor.is_(None))))


def available(session: Session, customer_id: int, currency: str) -> int:
    """The customer's credit that a new checkout may use (never negative)."""
    return max(ledger.customer_credit(session, customer_id, currency)
               - promised(session, customer_id, currency), 0)


def promise(session: Session, payment_id: int, quote: Quote) -> int:
    """Store the credit ``quote`` uses, for the payment to apply when it settles; its total."""
    total = 0
    for line, discount in quote.credit_applications():
        session.add(CheckoutCredit(payment_id=payment_id, invoice_id=line.invoice.id,
                                   amount_minor=line.credit_minor, discount_minor=discount))
        total += line.credit_minor
    session.flush()
    return total


def apply_promised(session: Session, payment: Payment) -> int:
    """Apply the credit ``payment`` promised (call it with the payment locked); the total."""
    rows = list(session.scalars(
        select(CheckoutCredit).where(CheckoutCredit.payment_id == payment.id,
                                     CheckoutCredit.applied_minor.is_(None))
        .order_by(CheckoutCredit.invoice_id)))
    if rows:
        store.lock_customer(session, payment.customer_id)  # guards its credit, as apply_credit
    total = 0
    for row in rows:
        row.applied_minor = _apply_one(session, payment, row)
        total += row.applied_minor
    session.flush()
    return total


def applied_with(session: Session, payment_id: int) -> tuple[tuple[str, int], ...]:
    """The credit applied with ``payment_id`` when it settled: (invoice number, amount)."""
    rows = session.execute(
        select(Invoice.number, CheckoutCredit.applied_minor)
        .join(Invoice, Invoice.id == CheckoutCredit.invoice_id)
        .where(CheckoutCredit.payment_id == payment_id, CheckoutCredit.applied_minor > 0)
        .order_by(Invoice.number))
    return tuple((number, int(amount)) for number, amount in rows)


def _apply_one(session: Session, payment: Payment, row: CheckoutCredit) -> int:
    invoice = store.lock_invoices(session, [row.invoice_id])[row.invoice_id]
    credit = ledger.customer_credit(session, payment.customer_id, payment.currency)
    # What is open besides this payment's own reservation, which the card settles next.
    amount = max(min(row.amount_minor, credit, invoice.available_minor), 0)
    discount = row.discount_minor if (
        row.discount_minor and amount == row.amount_minor
        and amount + row.discount_minor == invoice.available_minor) else 0
    if amount < row.amount_minor or discount < row.discount_minor:
        log.warning("payment %s: %s of credit (and %s of discount) promised to invoice %s, "
                    "%s applied (credit left %s, open %s)", payment.id, row.amount_minor,
                    row.discount_minor, invoice.number, amount, credit,
                    invoice.available_minor)
    if amount <= 0:
        return 0
    ledger.apply_credit(session, customer_id=payment.customer_id, invoice_id=invoice.id,
                        amount_minor=amount, discount_minor=discount,
                        idempotency_key=f"payment:{payment.id}:credit:{invoice.id}",
                        source="portal")
    return amount
