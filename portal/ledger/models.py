"""The shared AR ledger's tables: a documented, stable contract (docs/ledger.md).

Other systems (the vendor's ERP, reporting) read these tables directly; they
write only through :mod:`portal.ledger.postings` or the ``portal`` CLI. Names
of tables and of the columns DESIGN.md lists must not change.

Cached columns (``ar_invoices.balance_minor``, ``ar_invoices.reserved_minor``,
``ar_invoices.status``) are written only by the ledger, in the same transaction
as the journal lines they summarise, and ``portal ledger check`` verifies them
against the journal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, ExactDecimal, UTCDateTime, folded

# BigInteger ids and amounts; SQLite needs plain INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")
Amount = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    """Return the current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Customer(Base):
    """A customer account of the vendor (the ERP's customer record)."""

    __tablename__ = "ar_customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit_minor: Mapped[int | None] = mapped_column(Amount)
    default_terms: Mapped[str] = mapped_column(String(40), default="net 30")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    billing_address: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    contacts: Mapped[list[CustomerContact]] = relationship(
        back_populates="customer", order_by="CustomerContact.id", cascade="all, delete-orphan")


class CustomerContact(Base):
    """A person at the customer who receives invoices, reminders and links."""

    __tablename__ = "ar_customer_contacts"
    __table_args__ = (UniqueConstraint("customer_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(40), default="billing")

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Invoice(Base):
    """An invoice: header, terms and the ledger-maintained balance."""

    __tablename__ = "ar_invoices"
    __table_args__ = (
        CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
        CheckConstraint("reserved_minor >= 0", name="reserved_not_negative"),
        # The invoice list's keyset pagination: (customer, due date, id).
        Index("ix_ar_invoices_customer_due", "customer_id", "due_date", "id"),
        Index("ix_ar_invoices_customer_status_due", "customer_id", "status", "due_date", "id"),
        # The invoice list's other sort keys (migration 0005): every page an index range.
        Index("ix_ar_invoices_customer_issued", "customer_id", "issue_date", "id"),
        Index("ix_ar_invoices_customer_status_issued", "customer_id", "status", "issue_date",
              "id"),
        Index("ix_ar_invoices_customer_amount", "customer_id", "currency", "total_minor", "id"),
        Index("ix_ar_invoices_customer_status_amount", "customer_id", "status", "currency",
              "total_minor", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(Amount)
    tax_minor: Mapped[int] = mapped_column(Amount, default=0)
    total_minor: Mapped[int] = mapped_column(Amount)
    po_number: Mapped[str | None] = mapped_column(String(64), index=True)
    # Payment terms: the text as agreed ("2/10 net 30") and its parsed parts.
    terms: Mapped[str] = mapped_column(String(40))
    net_days: Mapped[int] = mapped_column(Integer)
    discount_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal(5, 2))
    discount_days: Mapped[int | None] = mapped_column(Integer)
    memo: Mapped[str | None] = mapped_column(Text)
    # Maintained by the ledger only (see module docstring).
    balance_minor: Mapped[int] = mapped_column(Amount, default=0)
    reserved_minor: Mapped[int] = mapped_column(Amount, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan")

    @property
    def available_minor(self) -> int:
        """What another payment may still take: balance less reservations."""
        return max(self.balance_minor - self.reserved_minor, 0)



# Search by invoice or PO number prefix, case-blind (portal.db.folded, migration 0011).
Index("ix_ar_invoices_customer_number_folded", Invoice.customer_id, folded(Invoice.number))
Index("ix_ar_invoices_customer_po_folded", Invoice.customer_id, folded(Invoice.po_number))


class InvoiceLine(Base):
    """One line of an invoice."""

    __tablename__ = "ar_invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    sku: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(14, 4), default=Decimal(1))
    unit_price_minor: Mapped[int] = mapped_column(Amount)
    amount_minor: Mapped[int] = mapped_column(Amount)
    tax_minor: Mapped[int] = mapped_column(Amount, default=0)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditMemo(Base):
    """A credit memo: reduces an invoice's balance or adds to customer credit."""

    __tablename__ = "ar_credit_memos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("ar_invoices.id"), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Amount)
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(40), default="portal")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


PAYMENT_METHODS = ("card", "ach", "external")
UNSETTLED_STATUSES = ("pending", "requires_action", "processing")
PAYMENT_STATUSES = (*UNSETTLED_STATUSES, "succeeded", "failed", "canceled", "reversed")


class Payment(Base):
    """A payment by the customer, through the portal (card, ACH) or from outside it."""

    __tablename__ = "ar_payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(f"method IN {PAYMENT_METHODS!r}", name="method_known"),
        CheckConstraint(f"status IN {PAYMENT_STATUSES!r}", name="status_known"),
        Index("ix_ar_payments_customer_created", "customer_id", "created_at"),
        Index("ix_ar_payments_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"))
    amount_minor: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    gateway: Mapped[str] = mapped_column(String(20), default="external")
    gateway_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Check number, wire reference, or the portal's own reference for the payer.
    reference: Mapped[str | None] = mapped_column(String(120))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_email: Mapped[str | None] = mapped_column(String(254))
    created_by: Mapped[str | None] = mapped_column(String(254))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    reservations: Mapped[list[Reservation]] = relationship(
        back_populates="payment", order_by="Reservation.id")
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", order_by="Allocation.id")

    @property
    def is_settled(self) -> bool:
        """True once the payment has succeeded (even if reversed later)."""
        return self.settled_at is not None


class Reservation(Base):
    """What an unsettled payment will take from an invoice, held until it settles or fails."""

    __tablename__ = "ar_reservations"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0 AND discount_minor >= 0", name="amounts_positive"),
        CheckConstraint("amount_minor + discount_minor > 0", name="not_empty"),
        UniqueConstraint("payment_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("ar_payments.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Amount)
    discount_minor: Mapped[int] = mapped_column(Amount, default=0)
    short_pay_reason: Mapped[str | None] = mapped_column(String(64))
    short_pay_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    payment: Mapped[Payment] = relationship(back_populates="reservations")
    invoice: Mapped[Invoice] = relationship()

    @property
    def held_minor(self) -> int:
        """How much of the invoice's balance this reservation holds."""
        return self.amount_minor + self.discount_minor


class Allocation(Base):
    """What a settled payment applied to one invoice: cash, discount and any short-pay reason."""

    __tablename__ = "ar_payment_allocations"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0 AND discount_minor >= 0", name="amounts_positive"),
        UniqueConstraint("payment_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("ar_payments.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ar_journal_entries.id"))
    amount_minor: Mapped[int] = mapped_column(Amount)
    discount_minor: Mapped[int] = mapped_column(Amount, default=0)
    short_pay_reason: Mapped[str | None] = mapped_column(String(64))
    short_pay_note: Mapped[str | None] = mapped_column(String(500))

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship()


class JournalEntry(Base):
    """A balanced, append-only journal entry; its idempotency key is unique."""

    __tablename__ = "ar_journal_entries"
    __table_args__ = (Index("ix_ar_journal_entries_payment", "payment_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("ar_customers.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("ar_invoices.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("ar_payments.id"))
    credit_memo_id: Mapped[int | None] = mapped_column(ForeignKey("ar_credit_memos.id"))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ar_journal_entries.id"))
    memo: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(40), default="portal")

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id")


class JournalLine(Base):
    """One signed amount on one account: positive is a debit, negative a credit."""

    __tablename__ = "ar_journal_lines"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        Index("ix_ar_journal_lines_invoice", "invoice_id", "account"),
        Index("ix_ar_journal_lines_customer", "customer_id", "account", "currency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ar_journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("ar_customers.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("ar_invoices.id"))
    amount_minor: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


__all__ = [
    "PAYMENT_METHODS",
    "PAYMENT_STATUSES",
    "UNSETTLED_STATUSES",
    "Allocation",
    "CreditMemo",
    "Customer",
    "CustomerContact",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalLine",
    "Payment",
    "Reservation",
]
