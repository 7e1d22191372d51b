"""Reads the ledger into what documents show (:mod:`portal.documents.content`).

Callers reach invoices through :func:`portal.invoices.access.invoice_or_404`
first; these functions trust that the invoices and the customer id they get
are the signed-in customer's, and read nothing of anyone else's.

The rules a document states — days past due, aging buckets, the early-pay
offer — are the invoice center's (:mod:`portal.invoices.services`), so a PDF
never says something else than the invoice page.

What an invoice shows reconciles with the ledger: its current total plus the
signed amounts of its applications is its balance (the sum of its receivable
lines). Adjustments that changed the total are already in the total, so only
the part of a reduction that went to customer credit (the invoice had been
paid beyond its new total) appears as an application.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.documents.content import (
    ON_PLAN,
    AgingBucket,
    Application,
    BillTo,
    CurrencySection,
    DiscountOffer,
    InvoiceContent,
    LineRow,
    OpenItem,
    StatementContent,
)
from portal.invoices import services as rules
from portal.ledger import accounts
from portal.ledger.models import (
    CreditMemo,
    Customer,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
)
from portal.plans.queries import on_active_plan
from portal.vendor.models import Vendor

# Per entry kind: the application a receivable line of that kind is.
_KIND_OF_ENTRY = {
    "payment_reversed": "payment_returned",
    "credit_applied": "credit_applied",
    "credit_memo_issued": "credit_memo",
    "write_off": "write_off",
}


def invoice_url(base_url: str, number: str) -> str:
    """Return the portal address of invoice ``number`` (where it can be paid)."""
    return f"{base_url.rstrip('/')}/invoices/{quote(number, safe='')}"


def bill_to(customer: Customer) -> BillTo:
    """Return the customer as documents address it."""
    address = tuple(line.strip() for line in (customer.billing_address or "").splitlines()
                    if line.strip())
    if address and address[0].casefold() == customer.name.casefold():
        address = address[1:]  # the name is printed already, above the address
    return BillTo(name=customer.name, number=customer.number, address=address,
                  tax_id=customer.tax_id)


def invoice_contents(session: Session, invoices: Sequence[Invoice], *, vendor: Vendor,
                     today: dt.date, base_url: str) -> list[InvoiceContent]:
    """Return what each of ``invoices`` (one customer's) shows, in the order given.

    ``today`` is the vendor's local date: it decides "past due" and whether the
    early-pay discount is still open.
    """
    ids = [invoice.id for invoice in invoices]
    lines = _lines(session, ids)
    applications = _applications(session, ids, vendor.zone)
    customers = {c.id: bill_to(c) for c in session.scalars(
        select(Customer).where(Customer.id.in_({i.customer_id for i in invoices})))}
    contents = []
    for invoice in invoices:
        is_open = invoice.status == "open" and invoice.balance_minor > 0
        contents.append(InvoiceContent(
            number=invoice.number, bill_to=customers[invoice.customer_id],
            po_number=invoice.po_number, issue_date=invoice.issue_date,
            due_date=invoice.due_date, currency=invoice.currency, terms=invoice.terms,
            net_days=invoice.net_days, discount_percent=invoice.discount_percent,
            discount_days=invoice.discount_days, memo=invoice.memo,
            lines=tuple(lines[invoice.id]), subtotal_minor=invoice.subtotal_minor,
            tax_minor=invoice.tax_minor, total_minor=invoice.total_minor,
            applications=tuple(applications[invoice.id]), balance_minor=invoice.balance_minor,
            processing_minor=invoice.reserved_minor if is_open else 0,
            status=invoice.status,
            days_past_due=_days_past_due(invoice.due_date, today) if is_open else 0,
            offer=_offer(invoice, vendor, today), pay_url=invoice_url(base_url, invoice.number)))
    return contents


def _days_past_due(due_date: dt.date, today: dt.date) -> int:
    return max(rules.days_past_due(due_date, today), 0)


def _offer(invoice: Invoice, vendor: Vendor, today: dt.date) -> DiscountOffer | None:
    offer = rules.discount_offer(invoice, vendor, today)
    if offer is None:
        return None
    return DiscountOffer(pay_minor=offer.pay.minor, save_minor=offer.save.minor,
                         deadline=offer.deadline)


def _lines(session: Session, invoice_ids: list[int]) -> dict[int, list[LineRow]]:
    rows: dict[int, list[LineRow]] = defaultdict(list)
    for line in session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids))
                                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        rows[line.invoice_id].append(LineRow(
            description=line.description, sku=line.sku, quantity=line.quantity,
            unit_price_minor=line.unit_price_minor, amount_minor=line.amount_minor))
    return rows


def _applications(session: Session, invoice_ids: list[int], zone: ZoneInfo
                  ) -> dict[int, list[Application]]:
    """Return each invoice's applications, oldest first; dates in the vendor's ``zone``."""
    rows = session.execute(
        select(JournalLine.invoice_id, JournalLine.account, JournalLine.amount_minor,
               JournalEntry.id.label("entry_id"), JournalEntry.kind, JournalEntry.occurred_at,
               JournalEntry.payment_id, JournalEntry.credit_memo_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.invoice_id.in_(invoice_ids),
               JournalLine.account.in_((accounts.RECEIVABLE, accounts.CUSTOMER_CREDIT,
                                        accounts.DISCOUNTS_ALLOWED)),
               JournalEntry.kind != "invoice_issued")
        .order_by(JournalEntry.occurred_at, JournalEntry.id, JournalLine.id)).all()
    payments = {p.id: p for p in session.scalars(select(Payment).where(
        Payment.id.in_({r.payment_id for r in rows if r.payment_id})))}
    memos = dict(session.execute(select(CreditMemo.id, CreditMemo.number).where(
        CreditMemo.id.in_({r.credit_memo_id for r in rows if r.credit_memo_id}))).all())
    entries: dict[tuple[int, int], list] = defaultdict(list)  # (invoice, entry) -> lines
    for row in rows:
        entries[row.invoice_id, row.entry_id].append(row)
    found: dict[int, list[Application]] = defaultdict(list)
    for (invoice_id, _entry), lines in entries.items():
        sums: dict[str, int] = defaultdict(int)
        for line in lines:
            sums[line.account] += line.amount_minor
        first = lines[0]
        found[invoice_id].extend(_entry_applications(
            first, first.occurred_at.astimezone(zone).date(), sums, payments, memos))
    return found


def _entry_applications(entry, day: dt.date, sums: dict[str, int],
                        payments: dict[int, Payment], memos: dict[int, str]
                        ) -> list[Application]:
    """Return what one journal entry did to one invoice, given its lines' sums by account."""
    receivable = sums[accounts.RECEIVABLE]
    if entry.kind == "payment_settled":
        payment = payments.get(entry.payment_id)
        discount = sums[accounts.DISCOUNTS_ALLOWED]
        cash = -receivable - discount
        made = [Application(day, "payment", -cash, method=payment.method if payment else None,
                            reference=payment.reference if payment else None)] if cash else []
        return made + ([Application(day, "discount", -discount)] if discount else [])
    if entry.kind == "invoice_adjusted":
        # The receivable part is in the invoice's current total already; what a
        # reduction sent to customer credit is what the invoice no longer holds.
        credited = sums[accounts.CUSTOMER_CREDIT]
        return [Application(day, "reduction_credited", -credited)] if credited else []
    if not receivable:
        return []
    kind = _KIND_OF_ENTRY.get(entry.kind, "adjustment")
    reference = None
    if kind == "payment_returned" and entry.payment_id in payments:
        reference = payments[entry.payment_id].failure_code
    elif kind == "credit_memo":
        reference = memos.get(entry.credit_memo_id)
    return [Application(day, kind, receivable, reference=reference)]


def statement_content(session: Session, customer_id: int, *, vendor: Vendor,
                      today: dt.date, base_url: str) -> StatementContent:
    """Return the customer's statement of account as of ``today`` (vendor's local date)."""
    customer = session.get(Customer, customer_id)
    invoices = session.scalars(
        select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == "open",
                              Invoice.balance_minor > 0)
        .order_by(Invoice.due_date, Invoice.issue_date, Invoice.number)).all()
    # As on the invoice list: an invoice on an active plan is kept by the plan's schedule,
    # so it is neither aged nor past due.
    planned = on_active_plan(session, [invoice.id for invoice in invoices])
    items: dict[str, list[OpenItem]] = defaultdict(list)
    for invoice in invoices:
        on_plan = invoice.id in planned
        items[invoice.currency].append(OpenItem(
            number=invoice.number, po_number=invoice.po_number,
            issue_date=invoice.issue_date, due_date=invoice.due_date,
            total_minor=invoice.total_minor, balance_minor=invoice.balance_minor,
            processing_minor=invoice.reserved_minor,
            days_past_due=0 if on_plan else _days_past_due(invoice.due_date, today),
            bucket=ON_PLAN if on_plan else rules.aging_bucket(invoice.due_date, today),
            on_plan=on_plan))
    credits = {currency: -int(total) for currency, total in session.execute(
        select(JournalLine.currency, func.sum(JournalLine.amount_minor))
        .where(JournalLine.account == accounts.CUSTOMER_CREDIT,
               JournalLine.customer_id == customer_id)
        .group_by(JournalLine.currency)).all() if total}
    currencies = sorted(set(items) | set(credits),
                        key=lambda code: (code != customer.currency, code))
    sections = []
    for currency in currencies:
        open_items = items.get(currency, [])
        sums = dict.fromkeys(rules.AGING_BUCKETS, 0)
        for item in open_items:
            sums[item.bucket] = sums.get(item.bucket, 0) + item.balance_minor
        sections.append(CurrencySection(
            currency=currency, items=tuple(open_items),
            aging=tuple(AgingBucket(key, amount) for key, amount in sums.items()),
            open_minor=sum(item.balance_minor for item in open_items),
            credit_minor=credits.get(currency, 0)))
    return StatementContent(bill_to=bill_to(customer), statement_date=today,
                            sections=tuple(sections),
                            pay_url=f"{base_url.rstrip('/')}/invoices")
