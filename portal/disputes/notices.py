"""E-mail about disputes: each new message goes to the other side of the thread, and a
withdrawal to the vendor, once the unit of work that made it commits.

Who reads it:

- the vendor's side: the collector the dispute is assigned to; else the vendor's
  support address; else every active AR admin and collector;
- the customer's side: whoever opened the dispute (a user of the account, or the
  person who opened it through an invoice link), in their language if they have an
  account. A link's opener has no page of their own to go to: the e-mail says to
  open their invoice link again.

Everything is read in a read-only unit first and the e-mail rendered after, as
:mod:`portal.payments.bank_notices` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import tasks
from portal.accounts.access import STAFF_PERMISSIONS
from portal.accounts.models import User
from portal.core import after_commit
from portal.core.request_db import database
from portal.disputes.models import CUSTOMER, Dispute, DisputeMessage
from portal.i18n import reader_locale
from portal.notifications import mail
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.disputes.notices")

MESSAGE_TASK = "send_dispute_message"
WITHDRAWN_TASK = "send_dispute_withdrawn"
EXCERPT = 1500  # characters of the message quoted in the e-mail


def queue_message(session: Session, message_id: int) -> None:
    """E-mail the other side about message ``message_id`` once ``session`` commits."""
    after_commit.enqueue(session, MESSAGE_TASK, message_id=message_id)


def queue_status(session: Session, dispute_id: int) -> None:
    """E-mail the vendor's side that the customer withdrew the dispute, after commit."""
    after_commit.enqueue(session, WITHDRAWN_TASK, dispute_id=dispute_id)


@dataclass(frozen=True, slots=True)
class _Reader:
    email: str
    locale: str
    url: str | None  # the page to answer on (None: the invoice link's opener)


def _vendor_side(session: Session, dispute: Dispute, base_url: str) -> list[_Reader]:
    url = f"{base_url}/staff/disputes/{dispute.id}"
    if dispute.assigned_to_user_id:
        user = session.get(User, dispute.assigned_to_user_id)
        if user is not None and user.disabled_at is None:
            return [_Reader(user.email, reader_locale(user.locale), url)]
    support = get_vendor(session).support_email
    if support:
        return [_Reader(support, "en", url)]
    return [_Reader(user.email, reader_locale(user.locale), url) for user in resolvers(session)]


def resolvers(session: Session) -> list[User]:
    """The active staff who may answer and decide disputes (permission ``resolve``), by name:
    those the vendor's side is e-mailed when nobody else is, and those a dispute is assigned to."""
    roles = [role for role, allowed in STAFF_PERMISSIONS.items() if "resolve" in allowed]
    return list(session.scalars(select(User).where(
        User.staff_role.in_(roles), User.disabled_at.is_(None)).order_by(User.name)))


def _customer_side(session: Session, dispute: Dispute, base_url: str) -> list[_Reader]:
    user = session.scalars(select(User).where(
        User.email == dispute.opened_by_email.lower())).first()
    url = f"{base_url}/disputes/{dispute.id}" if dispute.opened_by_user_id else None
    return [_Reader(dispute.opened_by_email, reader_locale(user.locale if user else None), url)]



def _send(readers: list[_Reader], what: str, **context) -> None:
    for reader in readers:
        try:
            mail.deliver(mail.render("dispute_message", reader.email, reader.locale,
                                     url=reader.url, what=what, **context))
        except Exception:
            log.exception("an e-mail about dispute %s was not sent", context.get("dispute_id"))


def _context(session: Session, dispute: Dispute) -> dict:
    vendor = get_vendor(session)
    return {"dispute_id": dispute.id, "invoice_number": dispute.invoice.number,
            "customer": dispute.customer.name, "vendor_name": vendor.name,
            "status": dispute.status, "amount_minor": dispute.amount_minor,
            "currency": dispute.currency, "credit_minor": dispute.credit_minor}


@tasks.task(MESSAGE_TASK)
def _send_message(message_id: int) -> None:
    base_url = current_app.config["PORTAL"].base_url.rstrip("/")
    with database().unit_of_work(read_only=True) as unit:
        session = unit.session
        message = session.get(DisputeMessage, message_id)
        if message is None:
            return
        dispute = session.get(Dispute, message.dispute_id)
        readers = (_vendor_side if message.side == CUSTOMER else _customer_side)(
            session, dispute, base_url)
        context = _context(session, dispute)
        first = message.id == min(m.id for m in dispute.messages)
        author, body = message.author_name, message.body[:EXCERPT]
        attached = len(message.attachments)
    _send(readers, "opened" if first else "message", author=author, body=body,
          attached=attached, **context)


@tasks.task(WITHDRAWN_TASK)
def _send_withdrawn(dispute_id: int) -> None:
    base_url = current_app.config["PORTAL"].base_url.rstrip("/")
    with database().unit_of_work(read_only=True) as unit:
        dispute = unit.session.get(Dispute, dispute_id)
        if dispute is None:
            return
        readers = _vendor_side(unit.session, dispute, base_url)
        context = _context(unit.session, dispute)
    _send(readers, "withdrawn", author=None, body=None, attached=0, **context)
