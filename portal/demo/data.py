"""Load the demo into a database: vendor profile, customers, and a year of AR history.

Everything goes through the ledger's API: customers and invoices through its
bulk path (:mod:`portal.ledger.bulk`, the same entries as one at a time,
in a few statements), then payments by check, wire, card and ACH, credit
memos, credit applied, write-offs, an ACH return and a payment still
processing through :mod:`portal.ledger`. Nothing here writes the journal,
balances or reservations itself; ``portal ledger check`` holds the result to
every ledger invariant.

Loading is all or nothing (one unit of work, which the caller commits) and
happens once: :func:`load` on a database that already has the demo changes
nothing, and it refuses a database that holds other customers or another
vendor's profile, so the demo is never mixed into real data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import ledger
from portal.demo.catalog import CUSTOMERS, LARGE_CUSTOMER, VENDOR_PROFILE, CustomerProfile
from portal.demo.plan import plan
from portal.demo.stories import ZONE, Event, PlannedInvoice
from portal.ledger import bulk
from portal.ledger.models import Customer, Invoice, JournalEntry, Payment
from portal.vendor.models import VENDOR_ID, Vendor
from portal.vendor.services import update_vendor

SOURCE = "demo"


class DemoRefused(Exception):
    """The database holds data that is not the demo's; the demo will not mix into it."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo database holds, counted from the tables."""

    customers: int
    invoices: int
    currencies: tuple[str, ...]
    invoice_states: dict[str, int]
    payment_statuses: dict[str, int]
    journal_entries: int
    showcase_invoice: str | None = None
    customer_numbers: tuple[str, ...] = field(default=())


def vendor_today(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in the demo vendor's time zone."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZONE).date()


def is_loaded(session: Session) -> bool:
    """Tell whether the demo's customers are already in the database."""
    numbers = [profile.number for profile in CUSTOMERS]
    found = session.scalar(select(func.count()).select_from(Customer)
                           .where(Customer.number.in_(numbers)))
    return found == len(numbers)


def load(session: Session, today: dt.date, *, now: dt.datetime | None = None) -> bool:
    """Load the demo as of ``today``; return False (changing nothing) if it is already there.

    Raises :class:`DemoRefused` if the database has customers that are not the
    demo's. The caller's unit of work commits.
    """
    if is_loaded(session):
        return False
    if session.scalar(select(func.count()).select_from(Customer)):
        raise DemoRefused("the database already holds customers that are not the demo's; "
                          "load the demo into an empty database")
    profile = session.get(Vendor, VENDOR_ID)
    if profile is not None and profile.name != VENDOR_PROFILE["name"]:
        raise DemoRefused(f"the database already has the vendor profile of {profile.name}; "
                          "load the demo into an empty database")
    update_vendor(session, **VENDOR_PROFILE)
    customers = _add_customers(session)
    history = plan(today, now or dt.datetime.now(dt.UTC))
    _Poster(session, customers, history.invoices).run(history.events)
    session.flush()
    return True


def _add_customers(session: Session) -> dict[str, Customer]:
    """Add the demo's customers and their contacts through the ledger's customer API."""
    def record(profile: CustomerProfile, contact: tuple[str, str]) -> bulk.CustomerInput:
        return bulk.CustomerInput(
            number=profile.number, name=profile.name, currency=profile.currency,
            credit_limit_minor=profile.credit_limit_minor, default_terms=profile.terms[0][0],
            email=profile.email, phone=profile.phone, billing_address=profile.billing_address,
            tax_id=profile.tax_id, contact=bulk.ContactInput(*contact))

    # The API takes one contact per customer record and adds any it has not
    # seen, so each further contact is one more pass of the same records.
    for i in range(max(len(profile.contacts) for profile in CUSTOMERS)):
        bulk.upsert_customers(session, [record(profile, profile.contacts[i])
                                        for profile in CUSTOMERS
                                        if i < len(profile.contacts)])
    numbers = [profile.number for profile in CUSTOMERS]
    return {c.number: c for c in session.scalars(select(Customer)
                                                  .where(Customer.number.in_(numbers)))}


def _gateway_ref(key: str) -> str:
    """A PaymentIntent-like id, stable for the plan's payment ``key``, marked as demo."""
    return "pi_demo_" + hashlib.sha256(key.encode()).hexdigest()[:20]


class _Poster:
    """Posts the plan's events, in order, through the ledger's API."""

    def __init__(self, session: Session, customers: dict[str, Customer],
                 invoices: dict[str, PlannedInvoice]) -> None:
        self.session = session
        self.customers = customers
        self.invoices = invoices
        self.invoice_ids: dict[str, int] = {}
        self.payment_ids: dict[str, int] = {}

    def run(self, events: list[Event]) -> None:
        """Post every event: all invoices first, in one batch, then the rest in order."""
        issued = [self._invoice_input(event) for event in events if event.kind == "issue"]
        ids = bulk.issue_invoices(self.session, issued)
        self.invoice_ids = {data.number: id_ for data, id_ in zip(issued, ids, strict=True)}
        handlers = {"pay": self.pay, "processing": self.processing, "fail": self.fail,
                    "reverse": self.reverse, "credit_memo": self.credit_memo,
                    "apply_credit": self.apply_credit, "write_off": self.write_off}
        for event in events:
            if event.kind != "issue":
                handlers[event.kind](event)

    def _invoice_input(self, event: Event) -> ledger.InvoiceInput:
        planned = self.invoices[event.invoice]
        customer = self.customers[event.customer]
        return ledger.InvoiceInput(
            number=planned.number, customer_id=customer.id, issue_date=planned.issue_date,
            currency=customer.currency, terms=planned.terms, po_number=planned.po_number,
            lines=[ledger.LineInput(line.description, line.amount_minor,
                                    quantity=Decimal(line.quantity),
                                    unit_price_minor=line.unit_price_minor,
                                    tax_minor=line.tax_minor, sku=line.sku)
                   for line in planned.lines],
            occurred_at=event.at, source=SOURCE)

    def _allocations(self, event: Event) -> list[ledger.AllocationInput]:
        return [ledger.AllocationInput(self.invoice_ids[a.invoice], a.cash_minor,
                                       discount_minor=a.discount_minor,
                                       short_pay_reason=a.short_pay_reason,
                                       short_pay_note=a.short_pay_note)
                for a in event.allocations]

    def _start(self, event: Event) -> Payment:
        customer = self.customers[event.customer]
        payer = customer.contacts[0]
        return ledger.start_payment(
            self.session, customer_id=customer.id, currency=customer.currency,
            method=event.method, amount_minor=event.amount_minor,
            allocations=self._allocations(event), created_by=payer.email,
            payer_name=payer.name, payer_email=payer.email)

    def pay(self, event: Event) -> None:
        """Post a payment: by check or wire outside the portal, or by ACH or card in it."""
        customer = self.customers[event.customer]
        if event.method in ("check", "wire"):
            posted = ledger.record_external_payment(
                self.session, customer_id=customer.id, amount_minor=event.amount_minor,
                currency=customer.currency,
                idempotency_key=f"demo:{customer.number}:{event.reference}",
                allocations=self._allocations(event), reference=event.reference,
                received_at=event.at, source=SOURCE)
            self.payment_ids[event.key] = posted.entry.payment_id
            return
        payment = self._start(event)
        ref = _gateway_ref(event.key)
        if event.method == "ach":
            ledger.mark_payment(self.session, payment.id, "processing", gateway_ref=ref)
        ledger.settle_payment(self.session, payment.id, settled_at=event.settle_at,
                              gateway_ref=ref, source=SOURCE)
        self.payment_ids[event.key] = payment.id

    def processing(self, event: Event) -> None:
        """Start an ACH payment that the bank has not settled yet."""
        payment = self._start(event)
        ledger.mark_payment(self.session, payment.id, "processing",
                            gateway_ref=_gateway_ref(f"processing:{event.at.isoformat()}"))

    def fail(self, event: Event) -> None:
        """Start a card payment that is declined."""
        payment = self._start(event)
        ledger.fail_payment(self.session, payment.id, code="card_declined",
                            message=event.reason, when=event.at)

    def reverse(self, event: Event) -> None:
        """Return a settled ACH payment."""
        ledger.reverse_payment(self.session, self.payment_ids[event.key], reason=event.reason,
                               code=event.reference, occurred_at=event.at, source=SOURCE)

    def credit_memo(self, event: Event) -> None:
        """Issue a credit memo, on an invoice or to the customer's account."""
        customer = self.customers[event.customer]
        ledger.issue_credit_memo(
            self.session, number=event.number, customer_id=customer.id,
            amount_minor=event.amount_minor, currency=customer.currency, reason=event.reason,
            invoice_id=self.invoice_ids[event.invoice] if event.invoice else None,
            issue_date=event.at.astimezone(ZONE).date(), occurred_at=event.at, source=SOURCE)

    def apply_credit(self, event: Event) -> None:
        """Apply the customer's unapplied credit to an invoice."""
        ledger.apply_credit(self.session, customer_id=self.customers[event.customer].id,
                            invoice_id=self.invoice_ids[event.invoice],
                            amount_minor=event.amount_minor,
                            idempotency_key=f"demo:apply_credit:{event.invoice}",
                            occurred_at=event.at, source=SOURCE)

    def write_off(self, event: Event) -> None:
        """Write off what is left on an invoice."""
        ledger.write_off(self.session, invoice_id=self.invoice_ids[event.invoice],
                         reason=event.reason, amount_minor=event.amount_minor,
                         idempotency_key=f"demo:write_off:{event.invoice}",
                         occurred_at=event.at, source=SOURCE)


AGING_BUCKETS = ((30, "overdue_1_30"), (60, "overdue_31_60"), (90, "overdue_61_90"))


def invoice_state(invoice: Invoice, today: dt.date) -> str:
    """Name an invoice's state as a person would: closed status, or its aging bucket."""
    if invoice.status != "open":
        return invoice.status  # paid, credited, written_off, void
    if invoice.due_date > today + dt.timedelta(days=7):
        return "current"
    if invoice.due_date >= today:
        return "due_within_7_days"
    late = (today - invoice.due_date).days
    return next((name for limit, name in AGING_BUCKETS if late <= limit), "overdue_over_90")


def invoice_states(session: Session, today: dt.date) -> dict[str, int]:
    """Count invoices by state as of ``today``, plus the open ones partially paid or reserved.

    The states partition the invoices; ``partially_paid`` (open, less than the
    total left) and ``reserved`` (in a payment still processing) count open
    invoices again.
    """
    counts: Counter[str] = Counter()
    for invoice in session.scalars(select(Invoice)):
        counts[invoice_state(invoice, today)] += 1
        if invoice.status == "open" and invoice.balance_minor < invoice.total_minor:
            counts["partially_paid"] += 1
        if invoice.reserved_minor:
            counts["reserved"] += 1
    return dict(sorted(counts.items()))


def showcase_invoice(session: Session, today: dt.date) -> str | None:
    """Return an open invoice of the large customer still inside its discount window."""
    return session.scalar(
        select(Invoice.number).join(Customer, Customer.id == Invoice.customer_id)
        .where(Customer.number == LARGE_CUSTOMER, Invoice.status == "open",
               Invoice.reserved_minor == 0, Invoice.balance_minor == Invoice.total_minor,
               Invoice.discount_days.is_not(None),
               Invoice.issue_date >= today - dt.timedelta(days=10))
        .order_by(Invoice.issue_date, Invoice.id).limit(1))


def describe(session: Session, today: dt.date) -> DemoSummary:
    """Count what the database holds, for the demo's report and its hooks."""
    currencies = tuple(session.scalars(select(Invoice.currency).distinct()
                                       .order_by(Invoice.currency)))
    statuses = dict(session.execute(select(Payment.status, func.count())
                                    .group_by(Payment.status).order_by(Payment.status)).all())
    numbers = tuple(session.scalars(select(Customer.number).order_by(Customer.number)))
    return DemoSummary(
        customers=len(numbers),
        invoices=session.scalar(select(func.count()).select_from(Invoice)) or 0,
        currencies=currencies,
        invoice_states=invoice_states(session, today),
        payment_statuses={k: int(v) for k, v in statuses.items()},
        journal_entries=session.scalar(select(func.count()).select_from(JournalEntry)) or 0,
        showcase_invoice=showcase_invoice(session, today),
        customer_numbers=numbers,
    )
