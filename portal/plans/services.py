"""Installment plans: a customer's request judged by the vendor's policy, and staff's
decision on requests outside it (approve, counter-propose, reject); the customer's
answer to a counter-proposal. The pages (issue 9, still to come) only call these.

Rules kept here:

- A request names open invoices of the customer, in one currency, none disputed
  (a dispute in force) and none already on a requested, countered or active plan;
  the plan covers their balances. Opening locks the invoices (the ledger's lock),
  so one invoice cannot go on two plans at once.
- The terms must make a schedule (:func:`portal.plans.schedule.schedule`); the
  policy (:func:`portal.plans.schedule.judge`) then approves at once or sends the
  request to staff with its reasons.
- An approved plan gets its installments at once, from its current terms.

Services never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.disputes.services import held
from portal.ledger import store
from portal.ledger.models import Customer, Invoice, utcnow
from portal.plans import schedule as plan_schedule
from portal.plans.models import (
    ACTIVE,
    COUNTERED,
    DECLINED,
    DEFAULTED,
    REJECTED,
    REQUESTED,
    Plan,
    PlanInstallment,
    PlanInvoice,
    PlanTerms,
)
from portal.plans.queries import plans_of
from portal.plans.schedule import Policy, Record, ScheduleError
from portal.vendor.models import Vendor

CUSTOMER, VENDOR = "customer", "vendor"


class PlanError(ValueError):
    """A plan that cannot be requested or changed as asked; the message is for people."""


@dataclass(frozen=True, slots=True)
class Terms:
    """What a plan asks for: how many installments, how often, from when, how much down."""

    count: int
    frequency: str
    first_due_on: dt.date
    down_minor: int = 0


def policy_for(vendor: Vendor) -> Policy:
    """The vendor's plan policy (``portal vendor set plan_policy``; the defaults if unset)."""
    return Policy.from_settings(vendor.plan_policy)


def on_plan(session: Session, invoice_ids: list[int]) -> set[int]:
    """The invoices among ``invoice_ids`` on a requested, countered or active plan."""
    return set(plans_of(session, invoice_ids))


def eligible(session: Session, customer_id: int, limit: int = 200) -> list[Invoice]:
    """The account's invoices a plan may cover: open, with something left to pay, not
    disputed, not on a plan already; oldest due first."""
    invoices = list(session.scalars(
        select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == "open",
                              Invoice.balance_minor > Invoice.reserved_minor)
        .order_by(Invoice.due_date, Invoice.id).limit(limit)))
    ids = [inv.id for inv in invoices]
    blocked = set(held(session, ids)) | on_plan(session, ids)
    return [inv for inv in invoices if inv.id not in blocked]


@dataclass(slots=True)
class Preview:
    """What a request would be: its schedule and whether the policy approves it at once."""

    total_minor: int
    currency: str
    payments: list
    reasons: list[str]
    words: list[str] = field(default_factory=list)  # the reasons, for people

    @property
    def approved(self) -> bool:
        return not self.reasons


def preview(session: Session, customer_id: int, invoices: list[Invoice], terms: Terms,
            policy: Policy, today: dt.date) -> Preview:
    """The schedule ``terms`` make of ``invoices`` and the policy's verdict; PlanError
    when they make no schedule."""
    total = sum(inv.available_minor for inv in invoices)
    payments = _checked_schedule(total, terms, today)
    verdict = plan_schedule.judge(
        policy, total_minor=total, count=terms.count, frequency=terms.frequency,
        first=terms.first_due_on, today=today, down_minor=terms.down_minor,
        record=record(session, customer_id, today, policy.default_lookback_days))
    return Preview(total, invoices[0].currency if invoices else "", payments, verdict.reasons)


def record(session: Session, customer_id: int, today: dt.date,
           lookback_days: int) -> Record:
    """The customer's standing for the policy: a recent default, open AR, credit limit.

    The credit limit is in the customer's currency, so the open AR it is held to is
    what is open in that currency: amounts in others cannot be added to it without a
    rate, and the portal has none.
    """
    since = dt.datetime.combine(today - dt.timedelta(days=lookback_days), dt.time(),
                                tzinfo=dt.UTC)
    defaulted = session.scalar(select(func.count()).select_from(Plan).where(
        Plan.customer_id == customer_id, Plan.status == DEFAULTED,
        Plan.closed_at >= since)) > 0
    customer = session.get(Customer, customer_id)
    open_ar = session.scalar(select(func.coalesce(func.sum(Invoice.balance_minor), 0)).where(
        Invoice.customer_id == customer_id, Invoice.status == "open",
        Invoice.currency == customer.currency))
    return Record(defaulted_within_lookback=defaulted, open_ar_minor=int(open_ar),
                  credit_limit_minor=customer.credit_limit_minor)


def request_plan(session: Session, *, customer_id: int, invoice_ids: list[int], terms: Terms,
                 reason: str, user_id: int | None, policy: Policy, today: dt.date,
                 now: dt.datetime | None = None) -> Plan:
    """Request a plan; approved at once inside ``policy``, else waiting for staff.
    Raises :class:`PlanError`, writing nothing."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise PlanError(_("Choose the invoices the plan is for."))
    locked = store.lock_invoices(session, ids)
    invoices = [locked[i] for i in ids if i in locked and locked[i].customer_id == customer_id]
    if len(invoices) != len(ids):
        raise PlanError(_("Choose invoices of this account only."))
    closed = [inv.number for inv in invoices if inv.status != "open" or inv.available_minor <= 0]
    if closed:
        raise PlanError(_("Invoice %(number)s has nothing left to put on a plan.",
                          number=closed[0]))
    if len({inv.currency for inv in invoices}) > 1:
        raise PlanError(_("A plan covers invoices in one currency."))
    disputed = held(session, ids)
    if disputed:
        number = next(inv.number for inv in invoices if inv.id in disputed)
        raise PlanError(_("Invoice %(number)s is disputed: it cannot go on a plan until the "
                          "dispute is resolved.", number=number))
    taken = on_plan(session, ids)
    if taken:
        number = next(inv.number for inv in invoices if inv.id in taken)
        raise PlanError(_("Invoice %(number)s is on a plan already.", number=number))
    reason = (reason or "").strip()
    if not reason:
        raise PlanError(_("Say in a few words why you need a plan."))
    invoices.sort(key=lambda inv: (inv.due_date, inv.id))
    total = sum(inv.available_minor for inv in invoices)
    _checked_schedule(total, terms, today)
    verdict = plan_schedule.judge(
        policy, total_minor=total, count=terms.count, frequency=terms.frequency,
        first=terms.first_due_on, today=today, down_minor=terms.down_minor,
        record=record(session, customer_id, today, policy.default_lookback_days))
    now = now or utcnow()
    plan = Plan(customer_id=customer_id, currency=invoices[0].currency, total_minor=total,
                status=REQUESTED, reason=reason[:2000], policy_reasons=verdict.reasons,
                requested_by_user_id=user_id, created_at=now)
    session.add(plan)
    session.flush()
    for position, invoice in enumerate(invoices):
        session.add(PlanInvoice(plan_id=plan.id, invoice_id=invoice.id, position=position,
                                amount_minor=invoice.available_minor))
    session.add(_terms_row(plan.id, 1, CUSTOMER, terms, now))
    session.flush()
    session.refresh(plan)
    if verdict.approved:
        _activate(session, plan, today, by="policy", now=now)
    return plan


def _checked_schedule(total: int, terms: Terms, today: dt.date) -> list:
    try:
        return plan_schedule.schedule(total, terms.count, terms.frequency, terms.first_due_on,
                                      today=today, down_minor=terms.down_minor)
    except ScheduleError as error:
        raise PlanError(_schedule_words(str(error))) from None


def _schedule_words(problem: str) -> str:
    if "after today" in problem:
        return _("Choose a first installment date after today.")
    if "down payment" in problem:
        return _("The down payment must be less than the total.")
    if "frequency" in problem:
        return _("Choose weekly, every two weeks or monthly.")
    return _("Choose at least one installment, of at least one cent each.")


def _terms_row(plan_id: int, version: int, side: str, terms: Terms,
               now: dt.datetime) -> PlanTerms:
    return PlanTerms(plan_id=plan_id, version=version, side=side, count=terms.count,
                     frequency=terms.frequency, first_due_on=terms.first_due_on,
                     down_minor=terms.down_minor, created_at=now)


def _activate(session: Session, plan: Plan, today: dt.date, *, by: str,
              now: dt.datetime, note: str | None = None) -> None:
    current = plan.current
    terms = Terms(current.count, current.frequency, current.first_due_on, current.down_minor)
    for payment in _checked_schedule(plan.total_minor, terms, today):
        session.add(PlanInstallment(plan_id=plan.id, number=payment.number,
                                    due_on=payment.due_on, amount_minor=payment.amount_minor))
    plan.status, plan.decided_at, plan.decided_by, plan.decision_note = ACTIVE, now, by, note
    session.flush()
    session.refresh(plan)


# Staff's decision and the customer's answer ----------------------------------------------


def _waiting(plan: Plan, *statuses: str) -> None:
    if plan.status not in statuses:
        raise PlanError(_("This plan is not waiting for that decision any more."))


def approve(session: Session, plan: Plan, *, by: str, today: dt.date, note: str | None = None,
            now: dt.datetime | None = None) -> None:
    """Staff approve a request as asked: the plan is active."""
    _waiting(plan, REQUESTED)
    _activate(session, plan, today, by=by, now=now or utcnow(), note=note)


def counter(session: Session, plan: Plan, terms: Terms, *, by: str, today: dt.date,
            note: str | None = None, now: dt.datetime | None = None) -> None:
    """Staff propose other terms; the customer accepts or declines them."""
    _waiting(plan, REQUESTED)
    _checked_schedule(plan.total_minor, terms, today)
    now = now or utcnow()
    session.add(_terms_row(plan.id, plan.current.version + 1, VENDOR, terms, now))
    plan.status, plan.decided_at, plan.decided_by, plan.decision_note = COUNTERED, now, by, note
    session.flush()
    session.refresh(plan)


def reject(session: Session, plan: Plan, *, by: str, note: str,
           now: dt.datetime | None = None) -> None:
    """Staff refuse the request, saying why: its invoices return to normal collection."""
    _waiting(plan, REQUESTED)
    if not (note or "").strip():
        raise PlanError(_("Say why the plan is rejected."))
    now = now or utcnow()
    plan.status, plan.decided_at, plan.decided_by = REJECTED, now, by
    plan.decision_note, plan.closed_at = note.strip(), now


def answer_counter(session: Session, plan: Plan, *, accept: bool, today: dt.date,
                   now: dt.datetime | None = None) -> None:
    """The customer accepts the counter-proposal (the plan is active) or declines it."""
    _waiting(plan, COUNTERED)
    now = now or utcnow()
    if accept:
        _activate(session, plan, today, by=plan.decided_by or "staff", now=now,
                  note=plan.decision_note)
    else:
        plan.status, plan.closed_at = DECLINED, now

