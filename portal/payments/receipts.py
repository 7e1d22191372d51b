"""Receipts (remittance advice) of settled payments: what they say, the PDF, the e-mail.

A receipt exists once a payment has succeeded, and stays for a payment reversed
later (it then also says so): :data:`portal.payments.history.RECEIPT_STATUSES`.
Its content is plain frozen data (:class:`ReceiptContent`), read from the
ledger in one short read; the PDF (``templates/documents/receipt.html``, on the
documents' letterhead) and the e-mail (``templates/emails/receipt.*``) only
format it, in the current language — so the download and the e-mail always
say the same thing.

Sending is asynchronous and happens only after the settlement is committed:
:func:`send_receipt` (what the settlement service calls, inside its
transaction) queues the ``send_receipt`` task for when the session commits,
and forgets it if the transaction rolls back. The task — in-process, or in a
Celery worker — reads the payment again, renders the e-mail in the payer's
language with the PDF attached, and delivers it (:func:`deliver_receipt`).
Only the payment's id crosses to the worker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import tasks
from portal.accounts.models import User
from portal.core import after_commit
from portal.core.request_db import database
from portal.documents import render
from portal.documents.content import BillTo, Letterhead
from portal.documents.queries import bill_to
from portal.i18n import reader_locale
from portal.ledger.models import Customer, Payment
from portal.notifications import mail
from portal.payments import credit_plan, history
from portal.vendor.models import Vendor
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.payments.receipts")

# session.info key: payments whose receipt goes out when the session's transaction commits.


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One invoice the payment paid: cash applied, discount taken, short-pay reason."""

    number: str
    issue_date: dt.date
    amount_minor: int
    discount_minor: int
    reason: str | None  # the vendor's label of the short-pay reason
    note: str | None


@dataclass(frozen=True, slots=True)
class ReceiptContent:
    """Everything a receipt shows, in the PDF and in the e-mail."""

    payment_id: int
    reference: str | None
    status: str  # succeeded or reversed
    method: str
    card_brand: str | None
    card_last4: str | None
    payer: str | None
    payer_email: str | None
    bill_to: BillTo
    paid_on: dt.date  # in the vendor's time zone
    settled_on: dt.date | None
    currency: str
    amount_minor: int
    lines: tuple[ReceiptLine, ...]
    credit_minor: int  # cash that went to account credit
    reversed_on: dt.date | None
    reversal_reason: str | None
    url: str  # the payment's page in the portal
    # Account credit the checkout applied with this payment: (invoice number, amount).
    credit_used: tuple[tuple[str, int], ...] = ()

    @property
    def credit_used_minor(self) -> int:
        return sum(amount for _number, amount in self.credit_used)

    @property
    def discount_minor(self) -> int:
        """Early-pay discounts taken on the invoices."""
        return sum(line.discount_minor for line in self.lines)

    @property
    def applied_minor(self) -> int:
        """Cash applied to invoices."""
        return sum(line.amount_minor for line in self.lines)

    @property
    def settled_minor(self) -> int:
        """What the invoices' balances went down by: cash applied plus discounts."""
        return self.applied_minor + self.discount_minor

    @property
    def has_reasons(self) -> bool:
        """Tell whether any invoice was short-paid with a reason (the PDF adds a column)."""
        return any(line.reason or line.note for line in self.lines)


def has_receipt(payment: Payment) -> bool:
    """Tell whether the payment has a receipt (it succeeded, even if reversed later)."""
    return payment.status in history.RECEIPT_STATUSES


def _day(moment: dt.datetime | None, vendor: Vendor) -> dt.date | None:
    return moment.astimezone(vendor.zone).date() if moment else None


def receipt_content(session: Session, payment: Payment, vendor: Vendor,
                    base_url: str) -> ReceiptContent:
    """Return what the receipt of ``payment`` (the caller's customer's) shows."""
    row = history.listed(session, payment)
    customer = session.get(Customer, payment.customer_id)
    return ReceiptContent(
        payment_id=payment.id, reference=payment.reference, status=payment.status,
        method=payment.method, card_brand=row.card_brand, card_last4=row.card_last4,
        payer=row.who,
        payer_email=payment.payer_email, bill_to=bill_to(customer),
        paid_on=row.day(vendor.zone), settled_on=_day(payment.settled_at, vendor),
        currency=payment.currency, amount_minor=payment.amount_minor,
        lines=tuple(ReceiptLine(s.number, s.issue_date, s.amount_minor, s.discount_minor,
                                history.reason_label(vendor, s.reason), s.note)
                    for s in row.shares),
        credit_minor=row.credit_minor, reversed_on=_day(payment.reversed_at, vendor),
        reversal_reason=(payment.failure_message or payment.failure_code)
        if payment.status == "reversed" else None,
        url=f"{base_url.rstrip('/')}/payments/{payment.id}",
        credit_used=credit_plan.applied_with(session, payment.id))


def render_pdf(content: ReceiptContent, letterhead: Letterhead, *, paper: str) -> bytes:
    """Return the receipt as a PDF, in the current language."""
    return render.render_document("documents/receipt.html", letterhead, paper=paper,
                                  receipt=content)


def filename(content: ReceiptContent) -> str:
    """The receipt's file name."""
    return f"receipt-{content.payment_id}-{content.paid_on.isoformat()}.pdf"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets the receipt e-mail, and in which language."""

    email: str
    locale: str


def recipient(session: Session, payment: Payment) -> Recipient | None:
    """Return the payer's address (``payer_email``, else the portal user who paid) and
    language (that user's, else English); None when nobody can be written to."""
    email = payment.payer_email or (payment.created_by if payment.created_by and
                                    "@" in payment.created_by else None)
    if not email:
        return None
    locale = session.scalar(select(User.locale).where(User.email == email.lower()))
    return Recipient(email=email, locale=reader_locale(locale))


def deliver_receipt(session: Session, payment_id: int) -> mail.Email | None:
    """Render the receipt e-mail (PDF attached) in the payer's language and send it now.

    Returns the message sent, or None when the payment has no receipt (not
    settled) or no address to send it to. Ends ``session``'s transaction
    before laying out the PDF, which takes longer than a write lock should.
    """
    payment = session.get(Payment, payment_id)
    if payment is None or not has_receipt(payment):
        log.info("no receipt sent for payment %s: it has none", payment_id)
        return None
    to = recipient(session, payment)
    if to is None:
        log.info("no receipt sent for payment %s: no address", payment_id)
        return None
    vendor = get_vendor(session)
    content = receipt_content(session, payment, vendor, current_app.config["PORTAL"].base_url)
    letterhead, paper = Letterhead.of(vendor), render.paper_size(vendor)
    session.rollback()
    message = mail.render("receipt", to.email, to.locale, receipt=content)
    with force_locale(to.locale):
        document = render_pdf(content, letterhead, paper=paper)
    message = dataclasses.replace(message, attachments=(
        mail.Attachment(filename(content), "application/pdf", document),))
    mail.deliver(message)
    return message


def send_receipt(session: Session, payment_id: int) -> None:
    """E-mail the payment's receipt to the payer once ``session``'s transaction commits.

    Call it in the transaction that settles the payment: the receipt is queued when
    that transaction commits, and forgotten if it rolls back.
    """
    after_commit.enqueue(session, "send_receipt", payment_id=payment_id)


@tasks.task("send_receipt")
def _send_receipt_task(payment_id: int) -> None:
    with database().session() as session:
        deliver_receipt(session, payment_id)
