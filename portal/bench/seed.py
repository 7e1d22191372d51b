"""Seed data for ``portal bench pages``: a vendor, customers of very different sizes, users.

Why this shape: the invoice pages claim that their cost does not grow with the
customer's invoice count (keyset pagination, indexes led by ``customer_id``),
so the benchmark seeds a *big* customer (100,000 invoices by default) and a
*small* one (1,000) and measures the same pages for both, plus a few other
customers so that the big one is not the whole table.

Everything goes through the ledger, so ``portal ledger check`` holds afterwards:

- invoices are issued with :func:`portal.ledger.bulk.issue_invoices` (the ERP
  import's bulk path: one ``invoice_issued`` entry per invoice, written with
  ``COPY`` / ``executemany``), in batches of :data:`BATCH`;
- a share of each customer's invoices is paid with
  :func:`portal.ledger.start_payment` and :func:`portal.ledger.settle_payment`,
  many invoices per payment (one payment per invoice would cost minutes at
  100,000); a few more are left in payments still processing (reserved).

Invoice dates are drawn relative to "today" (the day the server's clock is
pinned to), with most invoices recent and a long tail of old ones, so the list
shows every state: overdue, due soon, current, processing and paid.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, text

from portal import ledger
from portal.accounts import services as accounts
from portal.db import Database, is_postgres
from portal.invoices.open_totals import compact
from portal.invoices.queries import encode_cursor
from portal.ledger.bulk import issue_invoices
from portal.ledger.models import Customer, Invoice
from portal.vendor.services import update_vendor

BATCH = 1000
CURRENCY = "USD"
SOURCE = "bench"
PASSWORD = "bench-pages-correct-horse-2026"
TERMS = ("net 30", "net 30", "net 45", "net 60", "2/10 net 30")
# Share of each customer's invoices paid in full, and left in a payment still processing.
PAID_SHARE = 0.02
PROCESSING_SHARE = 0.002
INVOICES_PER_PAYMENT = 50
# Invoice numbers per customer that the detail page rotates through.
DETAIL_SAMPLE = 50
# The deep page starts after this share of the big customer's open invoices (due date order).
DEEP_SHARE = 0.9
LIST_SORT = "due_asc"


@dataclass(frozen=True, slots=True)
class SeedOptions:
    """How much to seed."""

    big_invoices: int = 100_000
    small_invoices: int = 1_000
    other_customers: int = 3
    other_invoices: int = 5
    seed: int = 1


@dataclass(frozen=True, slots=True)
class SeededCustomer:
    """A customer the benchmark signs in to, and what its pages will ask for."""

    id: int
    number: str
    email: str
    invoices: int
    paid: int
    processing: int
    detail_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeepPage:
    """A cursor deep into the big customer's open list, and the first invoice after it."""

    cursor: str
    first_number: str
    position: int
    open_invoices: int


@dataclass(frozen=True, slots=True)
class Seeded:
    """What was seeded."""

    today: dt.date
    big: SeededCustomer
    small: SeededCustomer
    other_customers: int
    other_invoices: int
    deep: DeepPage


def _lines(rng: random.Random, total: int, tax: int) -> list[ledger.LineInput]:
    """Split ``total`` (tax included) into one to three lines."""
    count = rng.choice((1, 1, 1, 2, 3))
    subtotal = total - tax
    amounts = [subtotal // count] * count
    amounts[0] += subtotal - sum(amounts)
    taxes = [tax // count] * count
    taxes[0] += tax - sum(taxes)
    return [ledger.LineInput(f"Bench part {rng.randrange(1000, 9999)}", amount,
                             tax_minor=line_tax, sku=f"SKU-{rng.randrange(100, 999)}")
            for amount, line_tax in zip(amounts, taxes, strict=True)]


def invoice_inputs(customer_id: int, prefix: str, count: int, today: dt.date,
                   rng: random.Random) -> Iterator[ledger.InvoiceInput]:
    """Yield ``count`` invoices of varied dates, terms, PO numbers and amounts."""
    for n in range(1, count + 1):
        # Mostly recent (a mean age of four months), a tail of up to two years.
        age = min(int(rng.expovariate(1 / 120)), 730)
        total = rng.randrange(50_00, 25_000_00)
        tax = total // 11 if rng.random() < 0.3 else 0
        yield ledger.InvoiceInput(
            number=f"{prefix}-{n:07d}", customer_id=customer_id,
            issue_date=today - dt.timedelta(days=age), currency=CURRENCY,
            terms=rng.choice(TERMS),
            po_number=f"PO-{rng.randrange(10_000, 100_000)}" if rng.random() < 0.8 else None,
            lines=_lines(rng, total, tax), source=SOURCE)


def _add_customer(database: Database, number: str, name: str) -> int:
    with database.unit_of_work() as uow:
        customer = Customer(number=number, name=name, currency=CURRENCY,
                            default_terms="net 30")
        uow.session.add(customer)
        uow.session.flush()
        uow.commit()
        return customer.id


def _issue(database: Database, inputs: Iterator[ledger.InvoiceInput]) -> list[int]:
    """Issue the invoices in batches of :data:`BATCH`, one unit of work each."""
    ids: list[int] = []
    batch: list[ledger.InvoiceInput] = []
    for data in inputs:
        batch.append(data)
        if len(batch) == BATCH:
            ids.extend(_issue_batch(database, batch))
            batch = []
    if batch:
        ids.extend(_issue_batch(database, batch))
    return ids


def _issue_batch(database: Database, batch: list[ledger.InvoiceInput]) -> list[int]:
    with database.unit_of_work() as uow:
        ids = issue_invoices(uow.session, batch)
        uow.commit()
    return ids


def _pay(database: Database, customer_id: int, invoice_ids: list[int], *, settle: bool) -> None:
    """Pay the invoices in full, :data:`INVOICES_PER_PAYMENT` to a payment."""
    for start in range(0, len(invoice_ids), INVOICES_PER_PAYMENT):
        chosen = invoice_ids[start:start + INVOICES_PER_PAYMENT]
        with database.unit_of_work() as uow:
            totals = dict(uow.session.execute(
                select(Invoice.id, Invoice.balance_minor).where(Invoice.id.in_(chosen))).all())
            allocations = [ledger.AllocationInput(i, totals[i]) for i in chosen]
            payment = ledger.start_payment(
                uow.session, customer_id=customer_id, currency=CURRENCY, method="ach",
                amount_minor=sum(totals.values()), allocations=allocations,
                created_by="bench@example.com")
            if settle:
                ledger.settle_payment(uow.session, payment.id, source=SOURCE)
            uow.commit()


def _user(database: Database, email: str, name: str, customer_id: int) -> None:
    with database.unit_of_work() as uow:
        user = accounts.create_user(uow.session, email=email, name=name, password=PASSWORD)
        accounts.add_membership(uow.session, user, customer_id, "payer")
        uow.commit()


def _customer(database: Database, slug: str, count: int, today: dt.date,
              rng: random.Random) -> SeededCustomer:
    """Seed one customer the benchmark signs in to: invoices, payments and a payer."""
    number = f"BENCH-{slug.upper()}"
    customer_id = _add_customer(database, number, f"Bench {slug} customer")
    prefix = f"INV-{slug[0].upper()}"
    ids = _issue(database, invoice_inputs(customer_id, prefix, count, today, rng))
    chosen = rng.sample(ids, round(count * (PAID_SHARE + PROCESSING_SHARE)))
    paid = round(count * PAID_SHARE)
    _pay(database, customer_id, chosen[:paid], settle=True)
    _pay(database, customer_id, chosen[paid:], settle=False)
    email = f"payer@{slug}.bench.example"
    _user(database, email, f"Bench {slug} payer", customer_id)
    numbers = sorted(rng.sample(range(1, count + 1), min(DETAIL_SAMPLE, count)))
    return SeededCustomer(id=customer_id, number=number, email=email, invoices=count,
                          paid=paid, processing=len(chosen) - paid,
                          detail_numbers=tuple(f"{prefix}-{n:07d}" for n in numbers))


def deep_page(database: Database, customer_id: int) -> DeepPage:
    """Return a cursor :data:`DEEP_SHARE` of the way into the customer's open list."""
    with database.session() as session:
        open_rows = (select(Invoice.due_date, Invoice.id, Invoice.number)
                     .where(Invoice.customer_id == customer_id, Invoice.status == "open")
                     .order_by(Invoice.due_date, Invoice.id))
        total = session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.customer_id == customer_id, Invoice.status == "open")) or 0
        position = max(int(total * DEEP_SHARE) - 1, 0)
        rows = session.execute(open_rows.offset(position).limit(2)).all()
    if len(rows) < 2:
        raise ValueError("the big customer has too few open invoices for a deep page")
    key, after = rows
    return DeepPage(cursor=encode_cursor(LIST_SORT, [key.due_date, key.id]),
                    first_number=after.number, position=position + 1, open_invoices=total)


def seed(database: Database, options: SeedOptions, today: dt.date) -> Seeded:
    """Create the vendor, the big, small and other customers, their invoices and payers."""
    rng = random.Random(options.seed)
    with database.unit_of_work() as uow:
        update_vendor(uow.session, name="Bench Supply Co.", timezone="America/New_York",
                      support_email="ar@bench.example")
        uow.commit()
    big = _customer(database, "big", options.big_invoices, today, rng)
    small = _customer(database, "small", options.small_invoices, today, rng)
    for n in range(options.other_customers):
        customer_id = _add_customer(database, f"BENCH-OTHER-{n}", f"Bench other customer {n}")
        _issue(database, invoice_inputs(customer_id, f"INV-O{n}", options.other_invoices,
                                        today, rng))
    # What the invoices.compact_open_totals task does after a load this size (the
    # first list view would ask for it): fold the open-invoice totals' deltas.
    with database.unit_of_work() as uow:
        compact(uow.session)
        uow.commit()
    analyze(database)
    return Seeded(today=today, big=big, small=small, other_customers=options.other_customers,
                  other_invoices=options.other_invoices,
                  deep=deep_page(database, big.id))


def analyze(database: Database) -> None:
    """On PostgreSQL, gather the planner's statistics of what was just loaded.

    Autovacuum would do so within a minute or so of a load this size; doing it
    now keeps the run from depending on when it wakes up (before, the planner
    guesses one row per customer and picks worse plans). SQLite keeps no
    statistics unless told to, and the portal never tells it, so neither do we.
    """
    if not is_postgres(database.engine):
        return
    with database.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


__all__ = ["PASSWORD", "SeedOptions", "Seeded", "SeededCustomer", "analyze", "deep_page", "seed"]
