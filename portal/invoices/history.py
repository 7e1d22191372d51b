"""Reads for one invoice's page: what was applied to it, and payments still in progress.

"Applied" is read from the journal — the invoice's ``receivable`` lines — so
what the page lists always adds up to what the ledger says the balance is
(apart from changes to the invoice itself, which change its total instead).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.ledger import accounts
from portal.ledger.models import (
    Allocation,
    CreditMemo,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    Reservation,
)
from portal.money import Money
from portal.payments import ach_authorization

# Entry kinds shown as "payments and credits"; adjustments change the total instead.
APPLIED_KINDS = ("payment_settled", "payment_reversed", "credit_memo_issued", "credit_applied",
                 "write_off")


@dataclass(frozen=True, slots=True)
class Applied:
    """One payment, credit or write-off applied to the invoice.

    ``amount`` is what it took off the balance (negative for a payment
    returned, which put it back); ``discount`` the early-pay discount within it.
    """

    kind: str
    day: dt.date
    amount: Money
    discount: Money | None = None
    method: str | None = None
    reference: str | None = None
    payment_status: str | None = None
    memo_number: str | None = None
    reason: str | None = None


def applied_to(session: Session, invoice: Invoice, zone: dt.tzinfo) -> list[Applied]:
    """Return what was applied to ``invoice``, oldest first; dates in the vendor's ``zone``."""
    rows = session.execute(
        select(JournalEntry, JournalLine.amount_minor)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.invoice_id == invoice.id,
               JournalLine.account == accounts.RECEIVABLE,
               JournalEntry.kind.in_(APPLIED_KINDS))
        .order_by(JournalEntry.occurred_at, JournalEntry.id)).all()
    payment_ids = {entry.payment_id for entry, _ in rows if entry.payment_id}
    memo_ids = {entry.credit_memo_id for entry, _ in rows if entry.credit_memo_id}
    payments = {p.id: p for p in session.scalars(
        select(Payment).where(Payment.id.in_(payment_ids)))} if payment_ids else {}
    allocations = {a.payment_id: a for a in session.scalars(
        select(Allocation).where(Allocation.invoice_id == invoice.id,
                                 Allocation.payment_id.in_(payment_ids)))} if payment_ids else {}
    memos = {m.id: m for m in session.scalars(
        select(CreditMemo).where(CreditMemo.id.in_(memo_ids)))} if memo_ids else {}
    cur = invoice.currency
    out: list[Applied] = []
    for entry, amount_minor in rows:
        day = entry.occurred_at.astimezone(zone).date()
        amount = Money(-amount_minor, cur)
        if entry.payment_id:
            payment = payments[entry.payment_id]
            allocation = allocations.get(payment.id)
            discount = allocation.discount_minor if allocation else 0
            moment = payment.received_at or payment.settled_at
            if entry.kind == "payment_settled" and moment is not None:
                day = moment.astimezone(zone).date()
            out.append(Applied(entry.kind, day, amount,
                               discount=Money(discount, cur) if discount else None,
                               method=payment.method, reference=payment.reference,
                               payment_status=payment.status))
        elif entry.credit_memo_id:
            memo = memos[entry.credit_memo_id]
            out.append(Applied(entry.kind, memo.issue_date, amount, memo_number=memo.number,
                               reason=memo.reason))
        else:
            out.append(Applied(entry.kind, day, amount, reason=entry.memo))
    return out


@dataclass(frozen=True, slots=True)
class InProgress:
    """A payment started but not settled that holds part of the invoice's balance."""

    held: Money
    discount: Money | None
    method: str
    status: str
    started: dt.date

    @property
    def expected(self) -> dt.date | None:
        """When a bank debit should have settled (an estimate); None for other methods."""
        return ach_authorization.expected_by(self.started) if self.method == "ach" else None


def in_progress(session: Session, invoice: Invoice, zone: dt.tzinfo) -> list[InProgress]:
    """Return the active reservations on ``invoice`` with their payments, oldest first."""
    rows = session.execute(
        select(Reservation, Payment).join(Payment, Payment.id == Reservation.payment_id)
        .where(Reservation.invoice_id == invoice.id, Reservation.released_at.is_(None))
        .order_by(Reservation.created_at, Reservation.id)).all()
    cur = invoice.currency
    return [InProgress(held=Money(r.held_minor, cur),
                       discount=Money(r.discount_minor, cur) if r.discount_minor else None,
                       method=p.method, status=p.status,
                       started=r.created_at.astimezone(zone).date())
            for r, p in rows]
