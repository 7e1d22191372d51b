"""E-mail to the customer about its installment plans, sent once the unit of work that
changed the plan commits.

This module owns every plan e-mail and who reads it. Today that is staff's decision on a
request (approved, counter-proposed with the terms to accept or decline, rejected with
the reason); the reminders before a debit, a declined autopay and a default belong here
too, each as a ``queue_*`` function, a registered task and an ``emails/plan_*`` template.

Who reads it: whoever asked for the plan (``requested_by_user_id``), in their language;
when nobody did or that user is disabled, the account's active admins, each in theirs.
Every e-mail links to the customer's plan page (``plans.detail``).

As in :mod:`portal.disputes.notices`, the task reads what it needs in a read-only unit
and renders after it closes; a message that cannot be sent is logged, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import tasks
from portal.accounts.models import Membership, User
from portal.core import after_commit
from portal.core.request_db import database
from portal.i18n import reader_locale
from portal.ledger.models import Customer
from portal.notifications import mail
from portal.plans.models import Plan
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.plans.notices")

DECISION_TASK = "send_plan_decision"
ACCOUNT_ADMIN = "admin"  # the customer role told when the requester cannot be


def queue_decision(session: Session, plan_id: int) -> None:
    """E-mail the customer staff's decision on plan ``plan_id`` once ``session`` commits."""
    plan = session.get(Plan, plan_id)
    # The decision as it stands now: by the time the e-mail is rendered the customer may
    # already have answered a counter-proposal.
    after_commit.enqueue(session, DECISION_TASK, plan_id=plan_id, decision=plan.status)


@dataclass(frozen=True, slots=True)
class _Reader:
    email: str
    locale: str



def readers(session: Session, plan: Plan) -> list[_Reader]:
    """Who is told about ``plan``: its requester, else the account's active admins."""
    if plan.requested_by_user_id:
        user = session.get(User, plan.requested_by_user_id)
        if user is not None and user.disabled_at is None:
            return [_Reader(user.email, reader_locale(user.locale))]
    admins = session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.customer_id == plan.customer_id, Membership.role == ACCOUNT_ADMIN,
               User.disabled_at.is_(None)).order_by(User.id))
    return [_Reader(user.email, reader_locale(user.locale)) for user in admins]


def _plan_url(plan_id: int) -> str:
    base_url = current_app.config["PORTAL"].base_url.rstrip("/")
    # Built from the endpoint (no request here, so through the URL map), then made
    # absolute with the configured base URL as the dispute e-mails are.
    path = current_app.url_map.bind("").build("plans.detail", {"plan_id": plan_id})
    return base_url + path


def _send(template: str, readers: list[_Reader], **context) -> None:
    for reader in readers:
        try:
            mail.deliver(mail.render(template, reader.email, reader.locale, **context))
        except Exception:
            log.exception("an e-mail about plan %s was not sent", context.get("plan_id"))


@tasks.task(DECISION_TASK)
def _send_decision(plan_id: int, decision: str) -> None:
    with database().unit_of_work(read_only=True) as unit:
        session = unit.session
        plan = session.get(Plan, plan_id)
        if plan is None:
            return
        terms = plan.current
        context = {
            "plan_id": plan.id, "decision": decision,
            "customer": session.get(Customer, plan.customer_id).name,
            "vendor_name": get_vendor(session).name, "total_minor": plan.total_minor,
            "currency": plan.currency, "note": plan.decision_note, "count": terms.count,
            "frequency": terms.frequency, "first_due_on": terms.first_due_on,
            "down_minor": terms.down_minor}
        told = readers(session, plan)
    _send("plan_decision", told, url=_plan_url(plan_id), **context)
