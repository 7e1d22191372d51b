"""Autopay: an active plan's installments charged on their dates, off-session, to the
card or bank account the customer chose; and the daily run around it.

:func:`daily` is what ``portal plans charge-due`` and the scheduled task
(``plans.charge_due``) run, for the vendor's today. In order:

1. **Reminders**: an installment autopay will charge within the policy's
   ``reminder_days`` is announced once by e-mail (``reminded_on``).
2. **Charges** (:func:`charge_due`): an installment is charged when it is due (on
   or before today), not paid, and its plan is active with autopay on. The amount is
   what the installment still needs (:func:`portal.plans.progress.owed_through`): a
   part paid by hand is not charged again, and one paid in full is not charged at
   all. The installment row is locked and a payment in progress or settled is never
   charged again: running twice charges nothing twice. The payment is a normal
   portal payment (reserved, then settled by the ledger), allocated to the plan's
   invoices oldest first. A card is charged with nobody present; a bank account is
   debited under the plan's ACH authorization (a copy of it is recorded for each
   debit) and is ``processing`` for days, like any ACH debit.
3. **Declines**: the payer is told; a declined installment is tried once more on a
   later day, then marked missed (and the payer told it will not be tried again).
4. **Standing**: every active plan is brought in line with its invoices
   (:func:`portal.plans.progress.sync`: paid installments, completed plans), and a
   plan with an installment unpaid ``grace_days`` after its date defaults: the
   customer and the vendor's staff are told, and its invoices return to normal
   collection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import ledger
from portal.db import Database
from portal.gateways.stripe import StripeGateway
from portal.ledger.models import Payment, utcnow
from portal.ledger.payments import AllocationInput
from portal.payments import ach_authorization, card_checkout
from portal.payments.bank_models import AchAuthorization, BankAccount
from portal.payments.checkout import PLAN_REASON
from portal.payments.models import CardPayment
from portal.plans import installment_notices as notices
from portal.plans import progress
from portal.plans.models import ACTIVE, COMPLETED, Plan, PlanInstallment
from portal.plans.progress import DUE, MISSED
from portal.plans.schedule import Policy

RETRIES = 1  # a declined installment is tried once more, on a later day
IN_PROGRESS = ("pending", "requires_action", "processing")


class AutopayError(ValueError):
    """Autopay cannot be set as asked; the message is for people."""


@dataclass(slots=True)
class Run:
    """What a run did: reminders sent, installments charged and paid, declined, missed,
    plans completed and defaulted."""

    reminded: int = 0
    charged: int = 0
    paid: int = 0
    declined: int = 0
    missed: int = 0
    completed: int = 0
    defaulted: int = 0

    def line(self) -> str:
        return (f"{self.reminded} reminded, {self.charged} charged, {self.paid} paid, "
                f"{self.declined} declined, {self.missed} missed, {self.completed} completed, "
                f"{self.defaulted} defaulted")


def _on(plan_query):
    return plan_query.where(Plan.status == ACTIVE).where(
        (Plan.autopay_method_id.is_not(None)) | (Plan.autopay_bank_account_id.is_not(None)))


def due(session: Session, today: dt.date) -> list[tuple[int, int]]:
    """The (plan, installment number) pairs autopay should look at today."""
    return list(session.execute(_on(
        select(PlanInstallment.plan_id, PlanInstallment.number)
        .join(Plan, Plan.id == PlanInstallment.plan_id)
        .where(PlanInstallment.status == DUE, PlanInstallment.due_on <= today))
        .order_by(PlanInstallment.due_on, PlanInstallment.plan_id, PlanInstallment.number)))


def allocations(plan: Plan, amount_minor: int) -> list[AllocationInput]:
    """``amount_minor`` spread over the plan's invoices, oldest due first."""
    result = []
    left = amount_minor
    for row in plan.invoices:
        take = min(left, row.invoice.available_minor)
        if take > 0:
            result.append(AllocationInput(row.invoice_id, take,
                                          short_pay_reason=PLAN_REASON
                                          if take < row.invoice.available_minor else None))
            left -= take
    return result


def daily(database: Database, gateway: StripeGateway | None, today: dt.date,
          policy: Policy) -> Run:
    """The whole daily run (see the module's steps); ``gateway`` None: nothing is charged."""
    run = Run()
    remind(database, today, policy, run)
    if gateway is not None:
        charge_due(database, gateway, today, run)
    keep_standing(database, today, policy, run)
    return run


def remind(database: Database, today: dt.date, policy: Policy, run: Run) -> None:
    """Announce, once, each autopay debit coming within ``policy.reminder_days``."""
    with database.unit_of_work() as unit:
        rows = unit.session.scalars(_on(
            select(PlanInstallment).join(Plan, Plan.id == PlanInstallment.plan_id)
            .where(PlanInstallment.status == DUE, PlanInstallment.reminded_on.is_(None),
                   PlanInstallment.due_on > today,
                   PlanInstallment.due_on <= today + dt.timedelta(days=policy.reminder_days)))
            .with_for_update()).all()
        for row in rows:
            plan = unit.session.get(Plan, row.plan_id)
            if progress.owed_through(plan, row.number) <= 0:
                continue  # paid already: nothing will be charged
            row.reminded_on = today
            notices.queue_reminder(unit.session, row.plan_id, row.number)
            run.reminded += 1
        unit.commit()


def charge_due(database: Database, gateway: StripeGateway, today: dt.date,
               run: Run | None = None) -> Run:
    """Charge every due installment once (see the module's rules); say what happened."""
    run = run or Run()
    with database.unit_of_work(read_only=True) as unit:
        pairs = due(unit.session, today)
    for plan_id, number in pairs:
        _charge_one(database, gateway, plan_id, number, today, run)
    return run


def _locked(session: Session, plan_id: int, number: int) -> PlanInstallment:
    return session.scalars(select(PlanInstallment).where(
        PlanInstallment.plan_id == plan_id, PlanInstallment.number == number)
        .with_for_update()).one()


def _charge_one(database: Database, gateway: StripeGateway, plan_id: int, number: int,
                today: dt.date, run: Run) -> None:
    with database.unit_of_work() as unit:
        session = unit.session
        installment = _locked(session, plan_id, number)
        plan = session.get(Plan, plan_id)
        if not _chargeable(session, plan, installment, today):
            return
        amount = progress.owed_through(plan, number)
        if amount <= 0:
            run.paid += len(progress.sync(session, plan))  # paid another way: no charge
            unit.commit()
            return
        bank = session.get(BankAccount, plan.autopay_bank_account_id) \
            if plan.autopay_bank_account_id else None
        payment = ledger.start_payment(
            session, customer_id=plan.customer_id, currency=plan.currency,
            method="ach" if bank else "card", amount_minor=amount,
            allocations=allocations(plan, amount), created_by="autopay",
            reference=f"plan {plan.id} installment {number}")
        if bank is not None:
            _authorize_debit(session, plan, bank, payment)
        session.add(CardPayment(
            payment_id=payment.id,
            payment_method_id=bank.stripe_id if bank else plan.autopay_method_id,
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
    _record_outcome(database, plan_id, number, today, run)


def _authorize_debit(session: Session, plan: Plan, bank: BankAccount, payment: Payment) -> None:
    """This debit's record of the plan's ACH authorization (what Stripe's mandate cites)."""
    given = session.scalars(select(AchAuthorization).where(
        AchAuthorization.plan_id == plan.id, AchAuthorization.payment_id.is_(None),
        AchAuthorization.bank_account_id == bank.id)
        .order_by(AchAuthorization.id.desc())).first()
    session.add(AchAuthorization(
        customer_id=plan.customer_id, bank_account_id=bank.id, payment_id=payment.id,
        plan_id=plan.id, kind=ach_authorization.PLAN, user_id=given.user_id,
        accepted_by=given.accepted_by, text_version=given.text_version, text=given.text,
        amount_minor=payment.amount_minor, currency=payment.currency,
        accepted_at=given.accepted_at, ip_address=given.ip_address,
        user_agent=given.user_agent))
    session.flush()


def _chargeable(session: Session, plan: Plan, installment: PlanInstallment,
                today: dt.date) -> bool:
    if plan.status != ACTIVE or installment.status != DUE:
        return False
    if not (plan.autopay_method_id or plan.autopay_bank_account_id):
        return False
    if installment.payment_id is not None:
        status = session.get(Payment, installment.payment_id).status
        if status in IN_PROGRESS or status == "succeeded":
            return False  # charged already: never twice
        if status == "reversed":
            # Taken back by the payer's bank or card issuer: presenting it again could be
            # against their wish (an unauthorized-debit return, a chargeback). The payer
            # pays it by hand, or the plan defaults after the grace period.
            return False
        if installment.last_attempt_on is not None and installment.last_attempt_on >= today:
            return False  # declined today: the retry waits for a later day
    return True


def _record_outcome(database: Database, plan_id: int, number: int, today: dt.date,
                    run: Run) -> None:
    """Bring the installment (and the plan) in line with its payment's outcome."""
    with database.unit_of_work() as unit:
        session = unit.session
        installment = _locked(session, plan_id, number)
        payment = session.get(Payment, installment.payment_id)
        plan = session.get(Plan, plan_id)
        if payment.status == "succeeded":
            progress.sync(session, plan)  # settlement did it already; harmless again
            run.paid += installment.status == progress.PAID
            run.completed += plan.status == COMPLETED
        elif payment.status in ("failed", "canceled"):
            run.declined += 1
            retry_on = None
            if installment.attempts > RETRIES:
                installment.status = MISSED
                run.missed += 1
            else:
                retry_on = today + dt.timedelta(days=1)
            notices.queue_declined(session, plan_id, number, payment.id, retry_on)
        unit.commit()


def keep_standing(database: Database, today: dt.date, policy: Policy, run: Run) -> None:
    """Sync every active plan with its invoices; default those past the grace period."""
    with database.unit_of_work(read_only=True) as unit:
        ids = list(unit.session.scalars(select(Plan.id).where(Plan.status == ACTIVE)
                                        .order_by(Plan.id)))
    for plan_id in ids:
        with database.unit_of_work() as unit:
            session = unit.session
            plan = session.scalars(select(Plan).where(Plan.id == plan_id)
                                   .with_for_update()).one()
            if plan.status != ACTIVE:
                continue
            run.paid += len(progress.sync(session, plan))
            if plan.status != ACTIVE:
                run.completed += 1
            elif progress.overdue_beyond_grace(plan, today, policy.grace_days) is not None \
                    and not _in_progress(session, plan):
                progress.default(plan, utcnow())
                notices.queue_defaulted(session, plan.id)
                run.defaulted += 1
            unit.commit()


def _in_progress(session: Session, plan: Plan) -> bool:
    """True while a payment on the plan's invoices is still being processed (an ACH debit
    takes days): the plan is not defaulted until it is known how it ended."""
    return any(row.invoice.reserved_minor > 0 for row in plan.invoices)


# Turning autopay on and off --------------------------------------------------------------


def set_card(session: Session, plan: Plan, payment_method_id: str) -> None:
    """Charge ``plan``'s installments to a saved card of the account (checked by the caller)."""
    _settable(plan)
    plan.autopay_method_id, plan.autopay_bank_account_id = payment_method_id, None
    session.flush()


def set_bank(session: Session, plan: Plan, bank: BankAccount, *, payer, vendor,
             customer_name: str, today: dt.date) -> AchAuthorization:
    """Debit ``plan``'s installments from ``bank`` (verified, the account's), recording the
    payer's acceptance of the plan's ACH authorization."""
    _settable(plan)
    if bank.customer_id != plan.customer_id or bank.status != "verified":
        raise AutopayError(_("Choose one of the account's verified bank accounts."))
    if plan.currency != card_checkout.ACH_CURRENCY:
        raise AutopayError(_("Bank debits (ACH) are in US dollars only: choose a card."))
    text = ach_authorization.plan_text(vendor, customer_name, payer, bank, plan.id,
                                       remaining_debits(plan, today), plan.currency)
    row = ach_authorization.record(
        session, kind=ach_authorization.PLAN, customer_id=plan.customer_id, bank=bank,
        payer=payer, text=text, accepted_at=utcnow(), plan_id=plan.id, currency=plan.currency)
    plan.autopay_bank_account_id, plan.autopay_method_id = bank.id, None
    session.flush()
    return row


def remaining_debits(plan: Plan, today: dt.date) -> list[tuple[dt.date, int]]:
    """The (date, amount) autopay would take for each installment not yet paid."""
    now = progress.standing(plan)
    result = []
    for row in plan.installments:
        if row.status == progress.PAID:
            continue
        owed = min(progress.owed_through(plan, row.number, now), row.amount_minor)
        if owed > 0:
            result.append((max(row.due_on, today), owed))
    return result


def stop(session: Session, plan: Plan) -> None:
    """No more autopay: the installments are paid by hand."""
    plan.autopay_method_id = plan.autopay_bank_account_id = None
    session.flush()


def _settable(plan: Plan) -> None:
    if plan.status != ACTIVE:
        raise AutopayError(_("Autopay can be set on an active plan only."))
