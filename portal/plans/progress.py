"""How an active plan stands: what has been paid on its invoices, which installments
that covers, what the next one still needs, when the plan is done or has defaulted.

A plan is kept by its invoices' balances, not by which payment paid what: every
payment or credit on the plan's invoices counts, in installment order, whether autopay
charged it, the payer paid by hand through the checkout, or staff posted a credit.
So a payment by hand is never charged again by autopay, and paying everything early
is simply paying the invoices.

- *covered*: the plan's invoices' balances when it was requested, less their
  balances now (never below 0 nor above the total).
- Installment *k* is paid once covered reaches the sum of installments 0..k; what
  covered reaches of it before that is its ``paid_minor``.
- What installment *k* still needs (:func:`owed_through`) also counts payments in
  progress (their reservations), so nothing is charged twice while a bank debit is
  processing.
- The plan is completed when its invoices have no balance left, and defaulted
  when an installment is still unpaid ``grace_days`` after its date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.ledger.models import Allocation, utcnow
from portal.plans.models import ACTIVE, COMPLETED, DEFAULTED, Plan, PlanInstallment, PlanInvoice

DUE, PAID, MISSED = "due", "paid", "missed"


@dataclass(frozen=True, slots=True)
class Standing:
    """A plan's money as its invoices show it now."""

    total_minor: int
    covered_minor: int  # paid or credited since the plan was requested
    in_progress_minor: int  # held by payments still in progress

    @property
    def remaining_minor(self) -> int:
        """What the plan still needs, payments in progress aside."""
        return self.total_minor - self.covered_minor


def standing(plan: Plan) -> Standing:
    """How much of ``plan`` its invoices show as paid, and as being paid."""
    balance = sum(max(row.invoice.balance_minor, 0) for row in plan.invoices)
    covered = min(max(plan.total_minor - balance, 0), plan.total_minor)
    reserved = sum(row.invoice.reserved_minor for row in plan.invoices)
    return Standing(plan.total_minor, covered, reserved)


def _through(plan: Plan, number: int) -> int:
    return sum(row.amount_minor for row in plan.installments if row.number <= number)


def owed_through(plan: Plan, number: int, now: Standing | None = None) -> int:
    """What installment ``number`` still needs for it and those before it to be paid."""
    now = now or standing(plan)
    return max(_through(plan, number) - now.covered_minor - now.in_progress_minor, 0)


def next_unpaid(plan: Plan, now: Standing | None = None) -> PlanInstallment | None:
    """The first installment the plan's invoices do not show as paid, if any.

    Read from the balances, not the installments' rows: a payment the ERP recorded (a
    check, say) pays installments at once, before the daily run brings the rows in line.
    """
    now = now or standing(plan)
    through = 0
    for row in plan.installments:
        through += row.amount_minor
        if through > now.covered_minor:
            return row
    return None


def upcoming(plan: Plan, now: Standing | None = None) -> tuple[PlanInstallment | None, int]:
    """An active plan's next unpaid installment and what it still needs (with those before
    it, less payments in progress); (None, 0) when nothing is left or the plan is not active."""
    if plan.status != ACTIVE:
        return None, 0
    now = now or standing(plan)
    row = next_unpaid(plan, now)
    return row, owed_through(plan, row.number, now) if row else 0


def sync(session: Session, plan: Plan, now: dt.datetime | None = None) -> list[int]:
    """Bring ``plan``'s installments (and its status) in line with its invoices; return
    the numbers of the installments this made paid."""
    if plan.status != ACTIVE:
        return []
    covered = standing(plan).covered_minor
    newly_paid, before = [], 0
    for row in plan.installments:
        paid = min(max(covered - before, 0), row.amount_minor)
        before += row.amount_minor
        row.paid_minor = paid
        if paid == row.amount_minor and row.status != PAID:
            row.status = PAID
            newly_paid.append(row.number)
        elif paid < row.amount_minor and row.status == PAID:
            # What paid it was taken back (a bank return, a chargeback): it is owed again.
            row.status = DUE
    if all(row.invoice.balance_minor <= 0 for row in plan.invoices):
        plan.status, plan.closed_at = COMPLETED, now or utcnow()
    session.flush()
    return newly_paid


def overdue_beyond_grace(plan: Plan, today: dt.date, grace_days: int) -> PlanInstallment | None:
    """The first installment still unpaid ``grace_days`` after its date, if any."""
    limit = today - dt.timedelta(days=grace_days)
    return next((row for row in plan.installments
                 if row.status != PAID and row.due_on < limit), None)


def default(plan: Plan, now: dt.datetime | None = None) -> None:
    """End ``plan`` as defaulted: its invoices return to normal collection."""
    plan.status, plan.closed_at = DEFAULTED, now or utcnow()


def active_plans_of_invoices(session: Session, invoice_ids: list[int]) -> list[Plan]:
    """The active plans covering any of ``invoice_ids``."""
    if not invoice_ids:
        return []
    covering = select(PlanInvoice.plan_id).where(PlanInvoice.invoice_id.in_(invoice_ids))
    return list(session.scalars(select(Plan).where(Plan.id.in_(covering),
                                                   Plan.status == ACTIVE).order_by(Plan.id)))


def after_payment(session: Session, payment_id: int) -> None:
    """A payment settled or was reversed: bring the active plans of its invoices up to date."""
    invoice_ids = list(session.scalars(select(Allocation.invoice_id).where(
        Allocation.payment_id == payment_id)))
    for plan in active_plans_of_invoices(session, invoice_ids):
        sync(session, plan)
