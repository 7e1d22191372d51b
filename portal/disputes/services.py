"""Disputes: open one, write in its thread, withdraw it; for staff, assign, review,
resolve with a credit memo or reject. The views and the link pages only call these.

Rules kept here:

- One dispute in force (open or under review) per invoice: opening locks the
  invoice row (the ledger's lock), so two people cannot open two at once.
- What is asked is checked before anything is written, and every problem is
  reported at once, by field (:class:`Invalid`): the reason must be one of the
  vendor's, the lines the invoice's own, the amount more than zero and at most
  the balance (by default the chosen lines' total, with tax, capped there), the
  description present, at most :data:`files.MAX_FILES` files per message and
  each accepted by :func:`portal.disputes.files.check`. Files are stored only
  once everything is valid.
- The disputed amount is on hold while the dispute is in force (:func:`held`).
- Resolving with credit posts one credit memo through the ledger, for the
  agreed amount (at most the disputed one), with an idempotency key naming the
  dispute: a retried or doubled resolution posts once.
- Every change appends a :class:`DisputeEvent` (the ERP's feed) and every
  message e-mails the other side once the unit of work commits
  (:mod:`portal.disputes.notices`).

Services never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from portal import ledger
from portal.disputes import files, notices, stored
from portal.disputes.models import (
    CUSTOMER,
    IN_FORCE,
    OPEN,
    REJECTED,
    RESOLVED_CREDIT,
    UNDER_REVIEW,
    VENDOR,
    WITHDRAWN,
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeLine,
    DisputeMessage,
)
from portal.i18n import money, parse_amount
from portal.ledger import store
from portal.ledger.models import Customer, Invoice, InvoiceLine, utcnow
from portal.ledger.store import Posted
from portal.money import Money, MoneyError
from portal.vendor.models import Vendor

MAX_TEXT = 5000  # characters of a description or message


class DisputeError(ValueError):
    """A change the dispute's state does not allow; the message is for people."""


class Invalid(DisputeError):
    """What was asked cannot be done as asked: the problems, by form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes: a side (customer or vendor), and the user if there is one."""

    side: str
    name: str
    email: str
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as it came from the browser: its name (for people only) and its bytes."""

    filename: str
    data: bytes


@dataclass(slots=True)
class Request:
    """A dispute as the form asks for it (amount as typed, in the person's language)."""

    reason: str
    amount: str
    line_ids: list[int] = field(default_factory=list)
    description: str = ""
    uploads: list[Upload] = field(default_factory=list)


# Reading ---------------------------------------------------------------------------------


def held(session: Session, invoice_ids: list[int]) -> dict[int, int]:
    """The amount on hold by a dispute in force, per invoice (absent: none)."""
    if not invoice_ids:
        return {}
    # int(): PostgreSQL sums a bigint to a numeric, which money formatting refuses.
    return {invoice_id: int(total) for invoice_id, total in session.execute(
        select(Dispute.invoice_id, func.sum(Dispute.amount_minor))
        .where(Dispute.invoice_id.in_(invoice_ids), Dispute.status.in_(IN_FORCE))
        .group_by(Dispute.invoice_id))}


def in_force_clause(invoice_id):
    """SQL: the invoice whose id is ``invoice_id`` (a column) has a dispute in force."""
    return exists(select(Dispute.id).where(Dispute.invoice_id == invoice_id,
                                           Dispute.status.in_(IN_FORCE)))


def in_force(session: Session, invoice_id: int) -> Dispute | None:
    """The invoice's dispute in force, if it has one."""
    return session.scalars(select(Dispute).where(
        Dispute.invoice_id == invoice_id, Dispute.status.in_(IN_FORCE))).first()


def of_invoice(session: Session, invoice_id: int) -> list[Dispute]:
    """Every dispute of an invoice, newest first."""
    return list(session.scalars(select(Dispute).where(Dispute.invoice_id == invoice_id)
                                .order_by(Dispute.created_at.desc(), Dispute.id.desc())))


def of_customer(session: Session, customer_id: int) -> list[Dispute]:
    """The customer's disputes, those in force first, then newest first."""
    return sorted(session.scalars(select(Dispute).where(Dispute.customer_id == customer_id)),
                  key=lambda d: (not d.in_force, -d.created_at.timestamp(), -d.id))


def find(session: Session, dispute_id: int, *, customer_id: int | None = None,
         invoice_id: int | None = None, lock: bool = False) -> Dispute | None:
    """Dispute ``dispute_id``, if it belongs to the customer (or invoice) named; else None."""
    query = select(Dispute).where(Dispute.id == dispute_id)
    if customer_id is not None:
        query = query.where(Dispute.customer_id == customer_id)
    if invoice_id is not None:
        query = query.where(Dispute.invoice_id == invoice_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def attachment(session: Session, dispute: Dispute, attachment_id: int) -> DisputeAttachment | None:
    """The dispute's attachment ``attachment_id``, or None (another dispute's is None too)."""
    return session.scalars(select(DisputeAttachment).where(
        DisputeAttachment.id == attachment_id,
        DisputeAttachment.dispute_id == dispute.id)).one_or_none()


def events(session: Session, dispute_id: int) -> list[DisputeEvent]:
    return list(session.scalars(select(DisputeEvent).where(DisputeEvent.dispute_id == dispute_id)
                                .order_by(DisputeEvent.occurred_at, DisputeEvent.id)))


def line_amount(line: InvoiceLine) -> int:
    """What a line asks for, its tax included."""
    return line.amount_minor + line.tax_minor


# The customer's side -----------------------------------------------------------------------


def open_dispute(session: Session, *, invoice_id: int, customer_id: int, asked: Request,
                 author: Author, vendor: Vendor, storage: files.Storage, locale: str = "en",
                 link_id: int | None = None, now: dt.datetime | None = None) -> Dispute:
    """Open a dispute on the customer's invoice; raise :class:`Invalid`, writing nothing."""
    invoice = store.lock_invoices(session, [invoice_id]).get(invoice_id)
    if invoice is None or invoice.customer_id != customer_id:
        raise DisputeError(_("There is no such invoice in this account."))
    if invoice.status != "open" or invoice.balance_minor <= 0:
        raise DisputeError(_("Invoice %(number)s has nothing left to pay, so there is "
                             "nothing to dispute.", number=invoice.number))
    if in_force(session, invoice.id) is not None:
        raise DisputeError(_("Invoice %(number)s already has a dispute in progress: write in "
                             "its thread instead.", number=invoice.number))
    errors: dict[str, str] = {}
    reasons = {reason["code"] for reason in vendor.dispute_reason_list()}
    if asked.reason not in reasons:
        errors["reason"] = _("Choose what is wrong.")
    own = {line.id: line for line in invoice.lines}
    chosen = [own[i] for i in dict.fromkeys(asked.line_ids) if i in own]
    if len(chosen) != len(set(asked.line_ids)):
        errors["lines"] = _("Choose lines of this invoice only.")
    amount = _amount(asked.amount, chosen, invoice, locale, errors)
    description = _text(asked.description, "description", errors)
    checked = _checked_uploads(asked.uploads, errors)
    if errors:
        raise Invalid(errors)
    now = now or utcnow()
    dispute = Dispute(customer_id=customer_id, invoice_id=invoice.id, status=OPEN,
                      reason=asked.reason, amount_minor=amount, currency=invoice.currency,
                      description=description, opened_by_user_id=author.user_id,
                      opened_by_name=author.name[:120], opened_by_email=author.email[:254],
                      link_id=link_id, created_at=now, updated_at=now)
    session.add(dispute)
    session.flush()
    for line in sorted(chosen, key=lambda row: row.position):
        session.add(DisputeLine(dispute_id=dispute.id, invoice_line_id=line.id,
                                position=line.position, amount_minor=line_amount(line)))
    _message(session, dispute, author, description, checked, storage, now, notify=True)
    _event(session, dispute, "opened", author, now)
    return dispute


def _amount(typed: str, chosen: list[InvoiceLine], invoice: Invoice, locale: str,
            errors: dict[str, str]) -> int:
    balance = invoice.balance_minor
    if not typed.strip():
        if not chosen:
            errors["amount"] = _("Enter the amount you dispute, or choose the lines.")
            return 0
        return min(sum(line_amount(line) for line in chosen), balance)
    try:
        amount = Money.parse(format(parse_amount(typed, locale), "f"), invoice.currency).minor
    except (InvalidOperation, MoneyError):
        errors["amount"] = _("Enter the amount you dispute, such as %(example)s.",
                             example=money(min(balance, 100_00), invoice.currency))
        return 0
    if amount <= 0:
        errors["amount"] = _("Enter an amount greater than zero.")
    elif amount > balance:
        errors["amount"] = _("You can dispute at most %(balance)s, what is still open on "
                             "the invoice.", balance=money(balance, invoice.currency))
    return amount


def _text(value: str, name: str, errors: dict[str, str]) -> str:
    text = (value or "").strip()
    if not text:
        errors[name] = _("Say in a few words what is wrong.") if name == "description" \
            else _("Write a message.")
    elif len(text) > MAX_TEXT:
        errors[name] = _("Write at most %(count)d characters.", count=MAX_TEXT)
    return text


def _checked_uploads(uploads: list[Upload], errors: dict[str, str]) -> list[tuple[Upload,
                                                                                   files.Checked]]:
    uploads = [u for u in uploads if u.filename or u.data]
    if len(uploads) > files.MAX_FILES:
        errors["files"] = _("Attach at most %(count)d files to one message.",
                            count=files.MAX_FILES)
        return []
    checked = []
    refused = []
    for upload in uploads:
        try:
            checked.append((upload, files.check(upload.data, upload.filename)))
        except files.FileRefused as refusal:
            refused.append(str(refusal))
    if refused:
        errors["files"] = " ".join(refused) + " " + _("Nothing was sent.")
    return checked


def _message(session: Session, dispute: Dispute, author: Author, body: str,
             checked: list[tuple[Upload, files.Checked]], storage: files.Storage,
             now: dt.datetime, *, notify: bool) -> DisputeMessage:
    message = DisputeMessage(dispute_id=dispute.id, side=author.side,
                             author_user_id=author.user_id, author_name=author.name[:120],
                             author_email=author.email[:254], body=body, created_at=now)
    session.add(message)
    session.flush()
    for upload, check in checked:
        key = storage.put(upload.data)
        stored.written(session, storage, key)  # deleted again if this rolls back
        session.add(DisputeAttachment(
            dispute_id=dispute.id, message_id=message.id, storage_key=key,
            filename=files.safe_download_name(upload.filename, check),
            content_type=check.content_type, size=check.size, sha256=check.sha256,
            created_at=now))
    session.flush()
    if notify:
        notices.queue_message(session, message.id)
    return message


def _event(session: Session, dispute: Dispute, kind: str, author: Author, now: dt.datetime,
           note: str | None = None) -> None:
    invoice = dispute.invoice
    session.add(DisputeEvent(
        dispute_id=dispute.id, kind=kind, occurred_at=now, side=author.side,
        actor_email=author.email, invoice_number=invoice.number,
        customer_number=session.get(Customer, dispute.customer_id).number,
        reason=dispute.reason, amount_minor=dispute.amount_minor, currency=dispute.currency,
        credit_minor=dispute.credit_minor, credit_memo_id=dispute.credit_memo_id, note=note))


def post_message(session: Session, dispute: Dispute, author: Author, body: str,
                 uploads: list[Upload], storage: files.Storage,
                 now: dt.datetime | None = None) -> DisputeMessage:
    """Add a message (and files) to the thread; the other side is e-mailed. Raises
    :class:`Invalid`; a closed dispute takes no more messages (:class:`DisputeError`)."""
    if not dispute.in_force:
        raise DisputeError(_("This dispute is closed. Open a new one if something is still "
                             "wrong."))
    errors: dict[str, str] = {}
    text = _text(body, "body", errors)
    checked = _checked_uploads(uploads, errors)
    if errors:
        raise Invalid(errors)
    now = now or utcnow()
    message = _message(session, dispute, author, text, checked, storage, now, notify=True)
    dispute.updated_at = now
    _event(session, dispute, "message", author, now)
    return message


def withdraw(session: Session, dispute: Dispute, author: Author,
             now: dt.datetime | None = None) -> None:
    """The customer takes the dispute back: the amount returns to normal collection."""
    _close(session, dispute, WITHDRAWN, author, now or utcnow(), note=None)


# The vendor's side -------------------------------------------------------------------------


def assign(session: Session, dispute: Dispute, user_id: int | None, by: Author,
           now: dt.datetime | None = None) -> None:
    """Give the dispute to a collector (None: to nobody)."""
    _require_in_force(dispute)
    now = now or utcnow()
    dispute.assigned_to_user_id, dispute.updated_at = user_id, now
    _event(session, dispute, "assigned", by, now, note=str(user_id) if user_id else None)


def start_review(session: Session, dispute: Dispute, by: Author,
                 now: dt.datetime | None = None) -> None:
    """Tell the customer the vendor is looking into it (open → under review)."""
    _require_in_force(dispute)
    if dispute.status == UNDER_REVIEW:
        return
    now = now or utcnow()
    dispute.status, dispute.updated_at = UNDER_REVIEW, now
    _event(session, dispute, UNDER_REVIEW, by, now)


def resolve_with_credit(session: Session, dispute: Dispute, *, credit_minor: int, note: str,
                        by: Author, storage: files.Storage,
                        now: dt.datetime | None = None) -> Posted:
    """Agree with the customer: post a credit memo of ``credit_minor`` (at most the
    disputed amount) on the invoice, close the dispute, tell the customer."""
    _require_in_force(dispute)
    errors: dict[str, str] = {}
    if credit_minor <= 0 or credit_minor > dispute.amount_minor:
        errors["credit"] = _("Enter a credit between %(low)s and %(high)s, the amount "
                             "disputed.", low=money(1, dispute.currency),
                             high=money(dispute.amount_minor, dispute.currency))
    text = _text(note, "note", errors)
    if errors:
        raise Invalid(errors)
    now = now or utcnow()
    posted = ledger.issue_credit_memo(
        session, number=f"CM-D{dispute.id}", customer_id=dispute.customer_id,
        amount_minor=credit_minor, currency=dispute.currency, invoice_id=dispute.invoice_id,
        reason=f"Dispute {dispute.id} ({dispute.reason}): {text}"[:500], occurred_at=now,
        idempotency_key=f"dispute:{dispute.id}:credit")
    dispute.credit_minor, dispute.credit_memo_id = credit_minor, posted.entry.credit_memo_id
    _close(session, dispute, RESOLVED_CREDIT, by, now, note=text, storage=storage)
    return posted


def reject(session: Session, dispute: Dispute, *, note: str, by: Author, storage: files.Storage,
           now: dt.datetime | None = None) -> None:
    """Disagree, with the reason: the amount returns to normal collection."""
    _require_in_force(dispute)
    errors: dict[str, str] = {}
    text = _text(note, "note", errors)
    if errors:
        raise Invalid(errors)
    _close(session, dispute, REJECTED, by, now or utcnow(), note=text, storage=storage)


def _require_in_force(dispute: Dispute) -> None:
    if not dispute.in_force:
        raise DisputeError(_("This dispute is closed already."))


def _close(session: Session, dispute: Dispute, status: str, by: Author, now: dt.datetime,
           note: str | None, storage: files.Storage | None = None) -> None:
    _require_in_force(dispute)
    dispute.status, dispute.closed_at, dispute.updated_at = status, now, now
    dispute.resolution_note = note
    if note and by.side == VENDOR and storage is not None:
        # The vendor's words go in the thread too, so both sides read the same thing.
        _message(session, dispute, by, note, [], storage, now, notify=True)
    elif by.side == CUSTOMER:
        notices.queue_status(session, dispute.id)
    _event(session, dispute, status, by, now, note=note)
