"""Autopay: charging an active plan's due installments to its saved card, off-session.

:func:`charge_due` is what ``portal plans charge-due`` (and the scheduled task, still to
come with issue 9's pages) runs. Rules:

- An installment is charged when it is due (on or before ``today``), still unpaid,
  and its plan is active with a saved card. Its row is locked, so two runs at once
  charge it once; an installment whose payment is in progress or succeeded is never
  charged again: running the command twice charges nothing twice.
- The payment is a normal portal card payment (reserved, then settled by the ledger),
  allocated to the plan's invoices oldest first, charged with nobody present.
- A declined charge is tried once more, on a later day; declined again, the
  installment is missed (the plan's default after the grace period comes with the
  rest of issue 9). When every installment is paid, the plan is completed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import ledger
from portal.db import Database
from portal.gateways.stripe import StripeGateway
from portal.ledger.models import Payment, utcnow
from portal.ledger.payments import AllocationInput
from portal.payments import card_checkout
from portal.payments.models import CardPayment
from portal.plans.models import ACTIVE, COMPLETED, Plan, PlanInstallment

RETRIES = 1  # a declined installment is tried once more, on a later day
DUE, PAID, MISSED = "due", "paid", "missed"
IN_PROGRESS = ("pending", "requires_action", "processing")


@dataclass(slots=True)
class Run:
    """What a run did: installments charged and paid, declined, missed."""

    charged: int = 0
    paid: int = 0
    declined: int = 0
    missed: int = 0


def due(session: Session, today: dt.date) -> list[tuple[int, int]]:
    """The (plan, installment number) pairs autopay should look at today."""
    return list(session.execute(
        select(PlanInstallment.plan_id, PlanInstallment.number)
        .join(Plan, Plan.id == PlanInstallment.plan_id)
        .where(Plan.status == ACTIVE, Plan.autopay_method_id.is_not(None),
               PlanInstallment.status == DUE, PlanInstallment.due_on <= today)
        .order_by(PlanInstallment.due_on, PlanInstallment.plan_id, PlanInstallment.number)))


def allocations(plan: Plan, amount_minor: int) -> list[AllocationInput]:
    """``amount_minor`` spread over the plan's invoices, oldest due first."""
    result = []
    left = amount_minor
    for row in plan.invoices:
        take = min(left, row.invoice.available_minor)
        if take > 0:
            result.append(AllocationInput(row.invoice_id, take))
            left -= take
    return result


def charge_due(database: Database, gateway: StripeGateway, today: dt.date) -> Run:
    """Charge every due installment once (see the module's rules); say what happened."""
    run = Run()
    with database.unit_of_work(read_only=True) as unit:
        pairs = due(unit.session, today)
    for plan_id, number in pairs:
        _charge_one(database, gateway, plan_id, number, today, run)
    return run


def _charge_one(database: Database, gateway: StripeGateway, plan_id: int, number: int,
                today: dt.date, run: Run) -> None:
    with database.unit_of_work() as unit:
        session = unit.session
        installment = session.scalars(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan_id,
                                          PlanInstallment.number == number)
            .with_for_update()).one()
        plan = session.get(Plan, plan_id)
        if not _chargeable(session, plan, installment, today):
            return
        amount = installment.amount_minor - installment.paid_minor
        payment = ledger.start_payment(
            session, customer_id=plan.customer_id, currency=plan.currency, method="card",
            amount_minor=amount, allocations=allocations(plan, amount),
            created_by="autopay", reference=f"plan {plan.id} installment {number}")
        session.add(CardPayment(
            payment_id=payment.id, payment_method_id=plan.autopay_method_id,
            checkout_key=f"plan-{plan.id}-{number}-{installment.attempts + 1}"))
        installment.payment_id = payment.id
        installment.attempts += 1
        installment.last_attempt_on = today
        stripe_customer = card_checkout.stripe_customer(session, gateway, plan.customer_id)
        unit.commit()
        run.charged += 1
        outcome = card_checkout.charge_started(session, gateway, payment.id, stripe_customer,
                                               off_session=True)
        unit.commit()
        if outcome is None:
            return  # no answer from Stripe: the reconciliation sweep settles it
    _record_outcome(database, plan_id, number, run)


def _chargeable(session: Session, plan: Plan, installment: PlanInstallment,
                today: dt.date) -> bool:
    if plan.status != ACTIVE or not plan.autopay_method_id or installment.status != DUE:
        return False
    if installment.payment_id is not None:
        status = session.get(Payment, installment.payment_id).status
        if status in IN_PROGRESS or status == "succeeded":
            return False  # charged already: never twice
        if installment.last_attempt_on is not None and installment.last_attempt_on >= today:
            return False  # declined today: the retry waits for a later day
    return True


def _record_outcome(database: Database, plan_id: int, number: int, run: Run) -> None:
    """Bring the installment (and the plan) in line with its payment's outcome."""
    with database.unit_of_work() as unit:
        session = unit.session
        installment = session.scalars(
            select(PlanInstallment).where(PlanInstallment.plan_id == plan_id,
                                          PlanInstallment.number == number)
            .with_for_update()).one()
        payment = session.get(Payment, installment.payment_id)
        if payment.status == "succeeded":
            installment.status, installment.paid_minor = PAID, installment.amount_minor
            run.paid += 1
            plan = session.get(Plan, plan_id)
            if all(row.status == PAID for row in plan.installments):
                plan.status, plan.closed_at = COMPLETED, utcnow()
        elif payment.status in ("failed", "canceled"):
            run.declined += 1
            if installment.attempts > RETRIES:
                installment.status = MISSED
                run.missed += 1
        unit.commit()
