"""The dispute tables: a customer's claim about one invoice, its thread and its files.

Invariants:

- A dispute names one invoice and its customer, a reason code from the vendor's
  list, and the amount disputed (minor units, the invoice's currency, more than
  zero and at most the invoice's balance when opened); optionally the invoice
  lines it is about (``portal_dispute_lines``).
- At most one dispute per invoice is in force (``open`` or ``under_review``);
  its amount is on hold: the checkout defaults to the rest, and the invoice
  shows "disputed". Resolving with credit posts a credit memo through the
  ledger (``credit_memo_id``); rejecting or withdrawing releases the hold.
- Messages and attachments are never edited or deleted. An attachment's bytes
  live in the attachment store (:mod:`portal.disputes.files`) under the
  generated ``storage_key``; the user's file name is kept only to name the
  download.
- ``portal_dispute_events`` is append-only: one row per thing that happened,
  with the figures the ERP needs (reason code, amounts, resolution, credit memo).
  It is the documented feed other systems read (docs/ledger.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime
from portal.ledger.models import Amount, BigId, Customer, Invoice, InvoiceLine, utcnow

OPEN, UNDER_REVIEW = "open", "under_review"
RESOLVED_CREDIT, REJECTED, WITHDRAWN = "resolved_credit", "rejected", "withdrawn"
STATUSES = (OPEN, UNDER_REVIEW, RESOLVED_CREDIT, REJECTED, WITHDRAWN)
IN_FORCE = (OPEN, UNDER_REVIEW)  # the amount is on hold
CUSTOMER, VENDOR = "customer", "vendor"  # the two sides of a thread


class Dispute(Base):
    """A customer's claim that (part of) an invoice is wrong, and how it ended."""

    __tablename__ = "portal_disputes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default=OPEN, index=True)
    reason: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    # Who opened it: a user of the account, or someone with an invoice link (no user).
    opened_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    opened_by_name: Mapped[str] = mapped_column(String(120))
    opened_by_email: Mapped[str] = mapped_column(String(254))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("portal_invoice_links.id"))
    assigned_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The vendor's words when resolving or rejecting; the credit given, if any.
    resolution_note: Mapped[str | None] = mapped_column(Text)
    credit_minor: Mapped[int | None] = mapped_column(Amount)
    credit_memo_id: Mapped[int | None] = mapped_column(ForeignKey("ar_credit_memos.id"))

    invoice: Mapped[Invoice] = relationship()
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[DisputeLine]] = relationship(order_by="DisputeLine.position")
    messages: Mapped[list[DisputeMessage]] = relationship(
        order_by="(DisputeMessage.created_at, DisputeMessage.id)")

    @property
    def in_force(self) -> bool:
        return self.status in IN_FORCE


class DisputeLine(Base):
    """An invoice line the dispute is about, with its amount when the dispute was opened."""

    __tablename__ = "portal_dispute_lines"

    dispute_id: Mapped[int] = mapped_column(ForeignKey("portal_disputes.id"), primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("ar_invoice_lines.id"),
                                                 primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(Amount)  # the line with its tax

    invoice_line: Mapped[InvoiceLine] = relationship()


class DisputeMessage(Base):
    """One message of a dispute's thread, from the customer's side or the vendor's."""

    __tablename__ = "portal_dispute_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("portal_disputes.id"), index=True)
    side: Mapped[str] = mapped_column(String(16))  # customer or vendor
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    author_name: Mapped[str] = mapped_column(String(120))
    author_email: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attachments: Mapped[list[DisputeAttachment]] = relationship(
        order_by="DisputeAttachment.id")


class DisputeAttachment(Base):
    """A file attached to a message: checked by content, stored under a generated key."""

    __tablename__ = "portal_dispute_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("portal_disputes.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("portal_dispute_messages.id"))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(120))  # for the download's name only
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DisputeEvent(Base):
    """Something that happened to a dispute, with the figures the ERP reads (append-only)."""

    __tablename__ = "portal_dispute_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("portal_disputes.id"), index=True)
    # opened, message, assigned, under_review, resolved_credit, rejected, withdrawn
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    side: Mapped[str] = mapped_column(String(16))
    actor_email: Mapped[str | None] = mapped_column(String(254))
    invoice_number: Mapped[str] = mapped_column(String(64))
    customer_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(Amount)  # disputed amount at that moment
    currency: Mapped[str] = mapped_column(String(3))
    credit_minor: Mapped[int | None] = mapped_column(Amount)
    credit_memo_id: Mapped[int | None] = mapped_column(ForeignKey("ar_credit_memos.id"))
    note: Mapped[str | None] = mapped_column(Text)
