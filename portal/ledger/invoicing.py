"""Postings that create or change what the customer owes: invoices, adjustments,
credit memos and write-offs.

Every function takes the caller's session and leaves committing to its unit of
work. Each posts exactly one journal entry per idempotency key; calling again
with the same key returns the first entry and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.ledger import accounts, store
from portal.ledger.entries import EntryDraft, LedgerError
from portal.ledger.models import (
    CreditMemo,
    Customer,
    Invoice,
    InvoiceLine,
    JournalLine,
    utcnow,
)
from portal.ledger.store import Posted
from portal.ledger.terms import PaymentTerms, TermsError
from portal.money import MoneyError, check_currency


@dataclass(frozen=True, slots=True)
class LineInput:
    """One invoice line as the ERP or a person enters it."""

    description: str
    amount_minor: int
    quantity: Decimal = Decimal(1)
    unit_price_minor: int | None = None
    tax_minor: int = 0
    sku: str | None = None


@dataclass(slots=True)
class InvoiceInput:
    """An invoice to issue, or the new state of one already issued."""

    number: str
    customer_id: int
    issue_date: dt.date
    currency: str
    lines: list[LineInput]
    terms: str = "net 30"
    due_date: dt.date | None = None
    po_number: str | None = None
    memo: str | None = None
    extra_tax_minor: int = 0  # tax not carried on any line
    occurred_at: dt.datetime | None = None
    source: str = "portal"
    parsed_terms: PaymentTerms = field(init=False)

    def __post_init__(self) -> None:
        try:
            self.currency = check_currency(self.currency)
            self.parsed_terms = PaymentTerms.parse(self.terms)
        except (MoneyError, TermsError) as exc:
            raise LedgerError(str(exc)) from None
        if not self.number or len(self.number) > 64:
            raise LedgerError("an invoice number must have 1 to 64 characters")
        if not self.lines:
            raise LedgerError(f"invoice {self.number} has no lines")
        for line in self.lines:
            for value in (line.amount_minor, line.tax_minor):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise LedgerError(f"invoice {self.number}: amounts must be minor units")
        if self.subtotal_minor < 0 or self.tax_minor < 0:
            raise LedgerError(f"invoice {self.number} cannot have a negative total")
        if self.due_date is None:
            self.due_date = self.parsed_terms.due_date(self.issue_date)
        if self.due_date < self.issue_date:
            raise LedgerError(f"invoice {self.number} is due before it is issued")

    @property
    def subtotal_minor(self) -> int:
        """Sum of the lines before tax."""
        return sum(line.amount_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        """Tax on the lines plus tax not carried on a line."""
        return sum(line.tax_minor for line in self.lines) + self.extra_tax_minor

    @property
    def total_minor(self) -> int:
        """What the invoice asks for."""
        return self.subtotal_minor + self.tax_minor


def _key(*parts: object) -> str:
    return ":".join(str(p) for p in parts)


def _closed_status(kind: str) -> str:
    return {"credit_memo_issued": "credited", "write_off": "written_off"}.get(kind, "paid")


def refresh_status(invoice: Invoice, closing_kind: str) -> None:
    """Set the invoice's cached status after a posting of ``closing_kind``."""
    if invoice.balance_minor > 0:
        invoice.status = "open"
    elif invoice.total_minor == 0:
        invoice.status = "void"
    elif invoice.status == "open" or closing_kind != "invoice_adjusted":
        invoice.status = _closed_status(closing_kind)


def _apply_fields(session: Session, invoice: Invoice, data: InvoiceInput) -> None:
    terms = data.parsed_terms
    invoice.issue_date = data.issue_date
    invoice.due_date = data.due_date
    invoice.subtotal_minor = data.subtotal_minor
    invoice.tax_minor = data.tax_minor
    invoice.total_minor = data.total_minor
    invoice.po_number = data.po_number
    invoice.terms = terms.code()
    invoice.net_days = terms.net_days
    invoice.discount_percent = terms.discount_percent
    invoice.discount_days = terms.discount_days
    invoice.memo = data.memo
    if invoice.lines:
        # Lines are replaced whole; delete the old ones first, or their
        # (invoice, position) would clash with the new ones at flush.
        invoice.lines.clear()
        session.flush()
    invoice.lines = [
        InvoiceLine(position=i, description=line.description, sku=line.sku,
                    quantity=line.quantity,
                    unit_price_minor=(line.unit_price_minor if line.unit_price_minor is not None
                                      else line.amount_minor),
                    amount_minor=line.amount_minor, tax_minor=line.tax_minor)
        for i, line in enumerate(data.lines, start=1)
    ]


def create_invoice(session: Session, data: InvoiceInput) -> Invoice:
    """Issue a new invoice: store it and post receivable against revenue and tax."""
    customer = session.get(Customer, data.customer_id)
    if customer is None:
        raise LedgerError(f"invoice {data.number}: no customer with id {data.customer_id}")
    if session.scalar(select(Invoice.id).where(Invoice.number == data.number)):
        raise LedgerError(f"invoice {data.number} already exists")
    invoice = Invoice(number=data.number, customer_id=customer.id, currency=data.currency,
                      balance_minor=0, reserved_minor=0, status="open", revision=1)
    _apply_fields(session, invoice, data)
    session.add(invoice)
    session.flush()
    if data.total_minor == 0:
        invoice.status = "void"
        return invoice
    draft = EntryDraft("invoice_issued", _key("invoice", data.number, "issued"),
                       data.occurred_at or utcnow(), customer_id=customer.id,
                       invoice_id=invoice.id, source=data.source)
    draft.add(accounts.RECEIVABLE, data.total_minor, data.currency,
              customer_id=customer.id, invoice_id=invoice.id)
    draft.add(accounts.REVENUE, -data.subtotal_minor, data.currency, customer_id=customer.id,
              invoice_id=invoice.id)
    draft.add(accounts.TAX_PAYABLE, -data.tax_minor, data.currency, customer_id=customer.id,
              invoice_id=invoice.id)
    store.post(session, draft)
    return invoice


def adjust_invoice(session: Session, invoice_id: int, data: InvoiceInput) -> Posted | None:
    """Change an issued invoice; the change of total is posted as an adjusting entry.

    A reduction beyond what is still open on the invoice (balance less
    reservations) goes to customer credit: the customer has paid more than the
    invoice now asks. Returns None when nothing that matters to the ledger changed.
    """
    invoice = store.lock_invoices(session, [invoice_id])[invoice_id]
    if data.customer_id != invoice.customer_id:
        raise LedgerError(f"invoice {invoice.number}: the customer cannot change after issue")
    if data.currency != invoice.currency:
        raise LedgerError(f"invoice {invoice.number}: the currency cannot change after issue")
    old_subtotal, old_tax = invoice.subtotal_minor, invoice.tax_minor
    delta_subtotal = data.subtotal_minor - old_subtotal
    delta_tax = data.tax_minor - old_tax
    delta = delta_subtotal + delta_tax
    _apply_fields(session, invoice, data)
    if delta_subtotal == 0 and delta_tax == 0:
        session.flush()
        return None
    invoice.revision += 1
    draft = EntryDraft("invoice_adjusted", _key("invoice", invoice.number, "rev",
                                                invoice.revision),
                       data.occurred_at or utcnow(), customer_id=invoice.customer_id,
                       invoice_id=invoice.id, source=data.source,
                       memo=f"total {old_subtotal + old_tax} -> {data.total_minor}")
    # A reduction takes the receivable down to zero at most; what the customer
    # already paid beyond the new total becomes customer credit. Reservations do
    # not shield the balance here: a payment still in flight that now asks for
    # more than is open sends its excess to credit when it settles.
    receivable_change = delta if delta > 0 else -min(-delta, invoice.balance_minor)
    cur, cust = invoice.currency, invoice.customer_id
    draft.add(accounts.RECEIVABLE, receivable_change, cur, customer_id=cust,
              invoice_id=invoice.id)
    draft.add(accounts.CUSTOMER_CREDIT, delta - receivable_change, cur, customer_id=cust,
              invoice_id=invoice.id)
    draft.add(accounts.REVENUE, -delta_subtotal, cur, customer_id=cust, invoice_id=invoice.id)
    draft.add(accounts.TAX_PAYABLE, -delta_tax, cur, customer_id=cust, invoice_id=invoice.id)
    posted = store.post(session, draft)
    refresh_status(invoice, "invoice_adjusted")
    return posted


def issue_credit_memo(session: Session, *, number: str, customer_id: int, amount_minor: int,
                      currency: str, reason: str, invoice_id: int | None = None,
                      issue_date: dt.date | None = None, occurred_at: dt.datetime | None = None,
                      idempotency_key: str | None = None, source: str = "portal") -> Posted:
    """Issue a credit memo: reduce the invoice's open balance, the rest to customer credit."""
    key = idempotency_key or _key("credit_memo", number)
    earlier = store.replayed(session, key, "credit_memo_issued")
    if earlier:
        return earlier
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise LedgerError("a credit memo must be a positive amount")
    try:
        currency = check_currency(currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from None
    store.lock_customer(session, customer_id)
    if session.scalar(select(CreditMemo.id).where(CreditMemo.number == number)):
        raise LedgerError(f"credit memo {number} already exists")
    to_invoice = 0
    invoice = None
    if invoice_id is not None:
        invoice = store.lock_invoices(session, [invoice_id])[invoice_id]
        if invoice.customer_id != customer_id:
            raise LedgerError(f"invoice {invoice.number} belongs to another customer")
        if invoice.currency != currency:
            raise LedgerError(f"invoice {invoice.number} is in {invoice.currency}, "
                              f"not {currency}")
        to_invoice = min(amount_minor, invoice.available_minor)
    now = occurred_at or utcnow()
    memo = CreditMemo(number=number, customer_id=customer_id, invoice_id=invoice_id,
                      issue_date=issue_date or now.date(), currency=currency,
                      amount_minor=amount_minor, reason=reason, source=source)
    session.add(memo)
    session.flush()
    draft = EntryDraft("credit_memo_issued", key, now, customer_id=customer_id,
                       invoice_id=invoice_id, credit_memo_id=memo.id, memo=reason[:500],
                       source=source)
    draft.add(accounts.SALES_RETURNS, amount_minor, currency, customer_id=customer_id,
              invoice_id=invoice_id)
    draft.add(accounts.RECEIVABLE, -to_invoice, currency, customer_id=customer_id,
              invoice_id=invoice_id)
    draft.add(accounts.CUSTOMER_CREDIT, -(amount_minor - to_invoice), currency,
              customer_id=customer_id)
    posted = store.post(session, draft)
    if invoice is not None and to_invoice:
        refresh_status(invoice, "credit_memo_issued")
    return posted


def write_off(session: Session, *, invoice_id: int, reason: str, amount_minor: int | None = None,
              idempotency_key: str | None = None, occurred_at: dt.datetime | None = None,
              source: str = "portal") -> Posted:
    """Write off what is open on an invoice (all of it unless ``amount_minor`` is given)."""
    if amount_minor is not None and not idempotency_key:
        raise LedgerError("a partial write-off needs its own idempotency key")
    invoice = store.lock_invoices(session, [invoice_id])[invoice_id]
    # Default key: "write off what is open now". It changes whenever the invoice's
    # receivable moves, so a retry of the same write-off replays, and a write-off
    # after the invoice was reopened is a new one.
    moves = session.scalar(select(func.count()).select_from(JournalLine).where(
        JournalLine.invoice_id == invoice.id, JournalLine.account == accounts.RECEIVABLE))
    key = idempotency_key or _key("invoice", invoice.number, "write_off", moves)
    earlier = store.replayed(session, key, "write_off")
    if earlier:
        return earlier
    if idempotency_key is None and invoice.available_minor == 0:
        # A retry of a full write-off: its own receivable line moved the count on
        # by one, so look for it under the key it was posted with.
        earlier = store.replayed(session, _key("invoice", invoice.number, "write_off",
                                               moves - 1), "write_off")
        if earlier:
            return earlier
    amount = invoice.available_minor if amount_minor is None else amount_minor
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise LedgerError(f"invoice {invoice.number}: nothing to write off")
    if amount > invoice.available_minor:
        raise LedgerError(f"invoice {invoice.number}: cannot write off more than the "
                          f"open balance ({invoice.available_minor})")
    draft = EntryDraft("write_off", key, occurred_at or utcnow(),
                       customer_id=invoice.customer_id, invoice_id=invoice.id,
                       memo=reason[:500], source=source)
    draft.add(accounts.BAD_DEBT, amount, invoice.currency, customer_id=invoice.customer_id,
              invoice_id=invoice.id)
    draft.add(accounts.RECEIVABLE, -amount, invoice.currency, customer_id=invoice.customer_id,
              invoice_id=invoice.id)
    posted = store.post(session, draft)
    refresh_status(invoice, "write_off")
    return posted
