"""What a document shows, as plain frozen data: no sessions, no lazy loading, no rules.

:mod:`portal.documents.queries` builds these from the ledger; the templates
only format them. Amounts are integer minor units with their currency; signs
follow the invoice's balance (an amount that lowers what is owed is negative).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal.vendor.models import Vendor


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The vendor as every document shows it: name, logo, remit-to and support contacts."""

    name: str
    legal_name: str
    logo_path: str | None  # relative to static/
    remit_to: tuple[str, ...]
    support_email: str | None
    support_phone: str | None
    website: str | None

    @classmethod
    def of(cls, vendor: Vendor) -> Letterhead:
        """Copy what documents show from the vendor profile."""
        lines = tuple(line.strip() for line in (vendor.remit_to or "").splitlines()
                      if line.strip())
        return cls(name=vendor.name, legal_name=vendor.legal_name or vendor.name,
                   logo_path=vendor.logo_path, remit_to=lines,
                   support_email=vendor.support_email, support_phone=vendor.support_phone,
                   website=vendor.website)


@dataclass(frozen=True, slots=True)
class BillTo:
    """The customer an invoice or statement is addressed to."""

    name: str
    number: str
    address: tuple[str, ...]
    tax_id: str | None = None


@dataclass(frozen=True, slots=True)
class LineRow:
    """One invoice line."""

    description: str
    sku: str | None
    quantity: Decimal
    unit_price_minor: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Application:
    """Something that moved the invoice's balance after it was issued.

    ``kind`` says what: ``payment``, ``discount`` (early-pay discount taken with
    a payment), ``payment_returned``, ``credit_applied``, ``credit_memo``,
    ``write_off``, ``reduction_credited`` (the invoice was reduced below what was
    already paid; the excess went to the customer's credit) or ``adjustment``.
    """

    date: dt.date  # in the vendor's time zone
    kind: str
    amount_minor: int  # signed: negative lowers the balance
    method: str | None = None  # card, ach, external (payments)
    reference: str | None = None  # check number, credit memo number, return code


@dataclass(frozen=True, slots=True)
class DiscountOffer:
    """Pay ``pay_minor`` by ``deadline`` (vendor's time zone) and save ``save_minor``."""

    pay_minor: int
    save_minor: int
    deadline: dt.date


@dataclass(frozen=True, slots=True)
class InvoiceContent:
    """Everything an invoice PDF shows."""

    number: str
    bill_to: BillTo
    po_number: str | None
    issue_date: dt.date
    due_date: dt.date
    currency: str
    terms: str
    net_days: int
    discount_percent: Decimal | None
    discount_days: int | None
    memo: str | None
    lines: tuple[LineRow, ...]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    applications: tuple[Application, ...]
    balance_minor: int
    processing_minor: int  # held by payments not settled yet
    status: str  # the ledger's: open, paid, credited, written_off, void
    days_past_due: int  # 0 unless open and past due
    offer: DiscountOffer | None
    pay_url: str


ON_PLAN = "on_plan"  # the statement's column for invoices on active installment plans


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One open invoice on a statement."""

    number: str
    po_number: str | None
    issue_date: dt.date
    due_date: dt.date
    total_minor: int
    balance_minor: int
    processing_minor: int
    days_past_due: int  # 0 on an active plan: its schedule replaces the due date
    bucket: str  # an aging bucket, or "on_plan"
    on_plan: bool = False


@dataclass(frozen=True, slots=True)
class AgingBucket:
    """What is open in one aging bucket (``current``, ``1_30``, ... ``over_90``), or on
    active installment plans (``on_plan``, only when something is)."""

    key: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CurrencySection:
    """A statement's open items, aging and credit in one currency."""

    currency: str
    items: tuple[OpenItem, ...]
    aging: tuple[AgingBucket, ...]
    open_minor: int  # sum of the items' balances
    credit_minor: int  # unapplied customer credit (negative: owed outside any invoice)

    @property
    def net_due_minor(self) -> int:
        """What is owed in this currency after unapplied credit."""
        return self.open_minor - self.credit_minor

    @property
    def credit_line_minor(self) -> int:
        """The credit as a line towards the amount due (negative when it lowers it)."""
        return -self.credit_minor

    @property
    def past_due_minor(self) -> int:
        """What is open past its due date and on no active plan."""
        return sum(bucket.amount_minor for bucket in self.aging
                   if bucket.key not in ("current", ON_PLAN))


@dataclass(frozen=True, slots=True)
class StatementContent:
    """Everything a statement of account shows."""

    bill_to: BillTo
    statement_date: dt.date  # today in the vendor's time zone
    sections: tuple[CurrencySection, ...]
    pay_url: str
