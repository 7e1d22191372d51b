"""E-mail about a plan's installments, sent once the unit of work that decided it commits:

- ``reminder``: autopay will charge an installment in a few days (amount, date, the
  card or bank account);
- ``declined``: autopay's charge was declined; it is tried once more on the date said,
  or, the second time, not again (``missed``): pay it by hand;
- ``defaulted``: an installment stayed unpaid past the grace period and the plan has
  ended; to the customer, and to the vendor's staff (the support address, else every
  active AR admin and collector).

The customer's side is the user who requested the plan, else the account's admins, in
their language (:func:`portal.plans.notices.readers`, as for staff's decisions).
Everything is read in a read-only unit first and rendered after, as
:mod:`portal.disputes.notices` does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session

from portal import tasks
from portal.core import after_commit
from portal.core.request_db import database
from portal.disputes.notices import resolvers
from portal.i18n import reader_locale
from portal.ledger.models import Customer, Payment
from portal.notifications import mail
from portal.payments.bank_models import BankAccount
from portal.payments.history import failure_words
from portal.plans.models import Plan, PlanInstallment
from portal.plans.notices import readers
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.plans.installment_notices")

TASK = "send_plan_notice"
REMINDER, DECLINED, MISSED, DEFAULTED = "reminder", "declined", "missed", "defaulted"


def queue_reminder(session: Session, plan_id: int, number: int) -> None:
    """Announce installment ``number``'s autopay debit, after commit."""
    after_commit.enqueue(session, TASK, plan_id=plan_id, what=REMINDER, number=number)


def queue_declined(session: Session, plan_id: int, number: int, payment_id: int,
                   retry_on) -> None:
    """Tell the payer autopay's charge was declined (and when it is tried again), after commit."""
    after_commit.enqueue(session, TASK, plan_id=plan_id, number=number, payment_id=payment_id,
                         what=DECLINED if retry_on else MISSED,
                         retry_on=retry_on.isoformat() if retry_on else None)


def queue_defaulted(session: Session, plan_id: int) -> None:
    """Tell the customer and the vendor's staff the plan defaulted, after commit."""
    after_commit.enqueue(session, TASK, plan_id=plan_id, what=DEFAULTED)


@dataclass(frozen=True, slots=True)
class _Reader:
    email: str
    locale: str
    url: str
    staff: bool = False



def customer_side(session: Session, plan: Plan, base_url: str) -> list[_Reader]:
    """Who hears of a plan on the customer's side (:func:`portal.plans.notices.readers`)."""
    url = f"{base_url}/plans/{plan.id}"
    return [_Reader(reader.email, reader.locale, url) for reader in readers(session, plan)]


def _staff_side(session: Session, plan: Plan, base_url: str) -> list[_Reader]:
    url = f"{base_url}/staff/plans/{plan.id}"
    support = get_vendor(session).support_email
    if support:
        return [_Reader(support, "en", url, staff=True)]
    return [_Reader(user.email, reader_locale(user.locale), url, staff=True)
            for user in resolvers(session)]


def _method_words(session: Session, plan: Plan) -> str:
    if plan.autopay_bank_account_id:
        bank = session.get(BankAccount, plan.autopay_bank_account_id)
        return f"{bank.bank_name or 'bank'} ••{bank.last4}"
    return ""


@tasks.task(TASK)
def _send(plan_id: int, what: str, number: int | None = None, payment_id: int | None = None,
          retry_on: str | None = None) -> None:
    base_url = current_app.config["PORTAL"].base_url.rstrip("/")
    with database().unit_of_work(read_only=True) as unit:
        session = unit.session
        plan = session.get(Plan, plan_id)
        if plan is None:
            return
        readers = customer_side(session, plan, base_url)
        if what == DEFAULTED:
            readers += _staff_side(session, plan, base_url)
        installment = session.get(PlanInstallment, (plan_id, number)) \
            if number is not None else None
        payment = session.get(Payment, payment_id) if payment_id else None
        context = dict(
            plan_id=plan.id, customer=session.get(Customer, plan.customer_id).name,
            vendor_name=get_vendor(session).name, currency=plan.currency,
            amount_minor=installment.amount_minor if installment else None,
            due_on=installment.due_on if installment else None,
            charged_minor=payment.amount_minor if payment else None,
            failure_code=payment.failure_code if payment else None,
            failure_message=payment.failure_message if payment else None,
            retry_on=dt.date.fromisoformat(retry_on) if retry_on else None, number=number,
            bank=_method_words(session, plan),
            by_bank=bool(plan.autopay_bank_account_id),
            remaining_minor=sum(row.invoice.balance_minor for row in plan.invoices),
            invoices=[row.invoice.number for row in plan.invoices])
    for reader in readers:
        try:
            mail.deliver(mail.render("plan_notice", reader.email, reader.locale, what=what,
                                     url=reader.url, staff=reader.staff,
                                     failure_words=failure_words, **context))
        except Exception:
            log.exception("an e-mail about plan %s was not sent", plan_id)

