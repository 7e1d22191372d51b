"""The ledger benchmark: portal payments started and settled by concurrent workers.

What one *posting* is: one unit of work, on the worker's own connection, that
does what the payment pages and the settlement webhook do for a customer's
payment, back to back:

1. :func:`portal.ledger.start_payment` for one or two invoices of one customer
   (card or ACH) — most pay the whole balance, some only part of it with a
   short-pay reason, invoices on ``2/10 net 30`` take the early-pay discount
   when paid in full, and some payments are larger than the invoices (the rest
   becomes customer credit);
2. :func:`portal.ledger.settle_payment`;
3. commit.

Each worker pays mostly its own customers' invoices; a share of the postings
(:data:`SHARED_SHARE`) pay a few *shared* invoices that every worker pays, so
workers queue on those invoices' row locks (PostgreSQL) as two clerks would.
On SQLite every unit of work holds the database's write lock anyway.

Customers and invoices are seeded before the clock starts; the clock runs from
the moment all workers are ready (a barrier) to the last commit. Afterwards
:func:`portal.ledger.checks.run_checks` re-derives every ledger invariant.
"""

from __future__ import annotations

import contextlib
import math
import random
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import ledger
from portal.db import Database
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, utcnow
from portal.ledger.terms import PaymentTerms
from portal.money import Money

# Share of the postings that pay the shared invoices every worker contends for.
SHARED_SHARE = 0.10
# Shared customers and invoices per shared customer: few, so workers collide.
SHARED_CUSTOMERS = 2
SHARED_INVOICES_PER_CUSTOMER = 4
# A shared invoice is large enough that small payments never exhaust it.
SHARED_INVOICE_MINOR = 10**12
# Private invoices seeded per posting a worker will make: a posting consumes
# about one (it pays one or two, but some only in part), so 1.25 leaves room.
PRIVATE_INVOICES_PER_POSTING = 1.25
DISCOUNT_TERMS = "2/10 net 30"
SEED_BATCH = 1000
CURRENCY = "USD"
SOURCE = "bench"


@dataclass(frozen=True, slots=True)
class LedgerBenchOptions:
    """How to run the benchmark."""

    postings: int = 2000
    workers: int = 8
    invoices_per_customer: int = 20
    seed: int = 1


@dataclass(slots=True)
class OpenInvoice:
    """A seeded invoice as its worker tracks it (only that worker pays it)."""

    id: int
    balance_minor: int
    total_minor: int
    terms: PaymentTerms


@dataclass(slots=True)
class Book:
    """One worker's customers and their open invoices."""

    customers: dict[int, deque[OpenInvoice]] = field(default_factory=dict)

    def open_customers(self) -> list[int]:
        """Return the customers that still have an open invoice."""
        return [cid for cid, invoices in self.customers.items() if invoices]


@dataclass(frozen=True, slots=True)
class Plan:
    """One payment to start and settle."""

    customer_id: int
    method: str
    amount_minor: int
    allocations: tuple[ledger.AllocationInput, ...]


@dataclass(slots=True)
class WorkerStats:
    """What one worker measured."""

    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    deadlocks: int = 0
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class LedgerBenchResult:
    """The benchmark's figures."""

    postings: int
    workers: int
    seconds: float
    latencies: list[float]
    refused: int
    deadlocks: int
    check: str
    client_cpu_seconds: float
    dialect: str
    server_version: str
    seed_seconds: float

    @property
    def postings_per_s(self) -> float:
        """Postings committed per second of wall-clock time."""
        return self.postings / self.seconds if self.seconds else 0.0

    def latency_ms(self) -> dict[str, float]:
        """The 50th, 95th and 99th percentile latency of a posting, in milliseconds."""
        ordered = sorted(self.latencies)
        return {f"p{q}": round(percentile(ordered, q) * 1000, 2) for q in (50, 95, 99)}


def percentile(ordered: list[float], q: int) -> float:
    """Return the ``q``-th percentile of ``ordered`` by the nearest-rank method."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def server_version(database: Database) -> tuple[str, str]:
    """Return the database's dialect name and server version."""
    dialect = database.engine.dialect.name
    if dialect == "sqlite":
        return dialect, sqlite3.sqlite_version
    with database.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    return dialect, str(version).split()[0]


# --- seeding -----------------------------------------------------------------------------


def _invoice_input(number: str, customer_id: int, total_minor: int, terms: str,
                   tax_minor: int) -> ledger.InvoiceInput:
    return ledger.InvoiceInput(
        number=number, customer_id=customer_id, issue_date=utcnow().date(), currency=CURRENCY,
        terms=terms, source=SOURCE,
        lines=[ledger.LineInput("Bench widgets", total_minor - tax_minor, tax_minor=tax_minor)])


def _add_customers(database: Database, numbers: list[str]) -> list[int]:
    with database.unit_of_work() as uow:
        rows = [Customer(number=n, name=f"Bench customer {n}", currency=CURRENCY,
                         default_terms="net 30") for n in numbers]
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [row.id for row in rows]
        uow.commit()
    return ids


def _add_invoices(database: Database, inputs: list[ledger.InvoiceInput]) -> list[int]:
    """Issue the invoices in batches: in bulk where the ERP import's bulk path exists."""
    try:
        from portal.ledger.bulk import issue_invoices
    except ImportError:  # pragma: no cover - before the bulk path, one at a time
        def issue_invoices(session, batch):
            return [ledger.create_invoice(session, data).id for data in batch]
    ids: list[int] = []
    for start in range(0, len(inputs), SEED_BATCH):
        with database.unit_of_work() as uow:
            ids.extend(issue_invoices(uow.session, inputs[start:start + SEED_BATCH]))
            uow.commit()
    return ids


def seed(database: Database, options: LedgerBenchOptions,
         rng: random.Random) -> tuple[list[Book], list[tuple[int, list[int]]]]:
    """Create the customers and invoices; return each worker's book and the shared invoices."""
    run = secrets.token_hex(3)
    quota = math.ceil(options.postings / options.workers)
    private_per_worker = math.ceil(quota * (1 - SHARED_SHARE) * PRIVATE_INVOICES_PER_POSTING) + 2
    per_customer = max(1, options.invoices_per_customer)
    customers_per_worker = math.ceil(private_per_worker / per_customer)

    numbers = [f"BENCH-{run}-S{s}" for s in range(SHARED_CUSTOMERS)]
    numbers += [f"BENCH-{run}-W{w}-C{c}" for w in range(options.workers)
                for c in range(customers_per_worker)]
    customer_ids = _add_customers(database, numbers)
    shared_ids, private_ids = customer_ids[:SHARED_CUSTOMERS], customer_ids[SHARED_CUSTOMERS:]

    inputs: list[ledger.InvoiceInput] = []
    owners: list[tuple[int, int, int, PaymentTerms] | None] = []  # (worker, customer, total)
    for s, cid in enumerate(shared_ids):
        for i in range(SHARED_INVOICES_PER_CUSTOMER):
            inputs.append(_invoice_input(f"BENCH-{run}-S{s}-{i}", cid, SHARED_INVOICE_MINOR,
                                         "net 30", 0))
            owners.append(None)
    for w in range(options.workers):
        mine = private_ids[w * customers_per_worker:(w + 1) * customers_per_worker]
        for n in range(private_per_worker):
            cid = mine[n % len(mine)]
            total = rng.randrange(100_00, 20_000_00)
            terms = DISCOUNT_TERMS if rng.random() < 0.4 else "net 30"
            tax = total // 11 if rng.random() < 0.3 else 0
            inputs.append(_invoice_input(f"BENCH-{run}-W{w}-{n}", cid, total, terms, tax))
            owners.append((w, cid, total, PaymentTerms.parse(terms)))
    invoice_ids = _add_invoices(database, inputs)

    books = [Book() for _ in range(options.workers)]
    shared: dict[int, list[int]] = {cid: [] for cid in shared_ids}
    for invoice_id, data, owner in zip(invoice_ids, inputs, owners, strict=True):
        if owner is None:
            shared[data.customer_id].append(invoice_id)
            continue
        w, cid, total, terms = owner
        books[w].customers.setdefault(cid, deque()).append(
            OpenInvoice(invoice_id, total, total, terms))
    return books, list(shared.items())


# --- the postings ------------------------------------------------------------------------


def _pay_in_full(invoice: OpenInvoice) -> ledger.AllocationInput:
    discount = 0
    if invoice.terms.has_discount and invoice.balance_minor == invoice.total_minor:
        discount = invoice.terms.discount_on(Money(invoice.total_minor, CURRENCY)).minor
    return ledger.AllocationInput(invoice.id, invoice.balance_minor - discount,
                                  discount_minor=discount)


def plan_private(book: Book, rng: random.Random) -> Plan | None:
    """Plan a payment of one or two of a worker's own invoices; update the book."""
    candidates = book.open_customers()
    if not candidates:
        return None
    customer_id = rng.choice(candidates)
    invoices = book.customers[customer_id]
    count = 2 if len(invoices) >= 2 and rng.random() < 0.3 else 1
    allocations = []
    for _ in range(count):
        invoice = invoices.popleft()
        if invoice.balance_minor > 1_00 and rng.random() < 0.2:
            # A short payment: pay part, with a reason; the invoice stays open.
            part = rng.randrange(1_00, invoice.balance_minor)
            allocations.append(ledger.AllocationInput(invoice.id, part,
                                                      short_pay_reason="damaged_goods"))
            invoice.balance_minor -= part
            invoices.append(invoice)
        else:
            allocations.append(_pay_in_full(invoice))
    cash = sum(a.amount_minor for a in allocations)
    extra = rng.randrange(1_00, 500_00) if rng.random() < 0.1 else 0
    method = "card" if rng.random() < 0.6 else "ach"
    return Plan(customer_id, method, cash + extra, tuple(allocations))


def plan_shared(shared: list[tuple[int, list[int]]], rng: random.Random) -> Plan:
    """Plan a small payment of one or two of the shared invoices (the contended rows)."""
    customer_id, invoice_ids = rng.choice(shared)
    chosen = rng.sample(invoice_ids, 2 if rng.random() < 0.3 else 1)
    allocations = tuple(ledger.AllocationInput(i, rng.randrange(1_00, 5_000_00))
                        for i in chosen)
    cash = sum(a.amount_minor for a in allocations)
    extra = rng.randrange(1_00, 500_00) if rng.random() < 0.1 else 0
    return Plan(customer_id, "card" if rng.random() < 0.6 else "ach", cash + extra,
                allocations)


def post(database: Database, plan: Plan) -> None:
    """Start and settle one payment in one unit of work."""
    with database.unit_of_work() as uow:
        payment = ledger.start_payment(
            uow.session, customer_id=plan.customer_id, currency=CURRENCY, method=plan.method,
            amount_minor=plan.amount_minor, allocations=plan.allocations,
            created_by="bench@example.com")
        ledger.settle_payment(uow.session, payment.id, source=SOURCE)
        uow.commit()


def _is_deadlock(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _work(database: Database, book: Book, shared: list[tuple[int, list[int]]], quota: int,
          rng: random.Random, barrier: threading.Barrier, stats: WorkerStats) -> None:
    try:
        barrier.wait()
        for _ in range(quota):
            use_shared = rng.random() < SHARED_SHARE
            plan = None if use_shared else plan_private(book, rng)
            if plan is None:
                plan = plan_shared(shared, rng)
            started = time.perf_counter()
            while True:
                try:
                    post(database, plan)
                    break
                except ledger.LedgerError:
                    # Another clerk took what this payment asked for: ask again.
                    stats.refused += 1
                    plan = plan_shared(shared, rng)
                except DBAPIError as exc:
                    if not _is_deadlock(exc):
                        raise
                    stats.deadlocks += 1
            stats.latencies.append(time.perf_counter() - started)
    except BaseException as exc:  # reported by the caller, after every thread ends
        stats.error = exc
        barrier.abort()


def _open_connections(database: Database, count: int) -> None:
    """Open ``count`` pooled connections before the clock starts."""
    connections = [database.engine.connect() for _ in range(count)]
    for conn in connections:
        conn.close()


def run(url: str, options: LedgerBenchOptions) -> LedgerBenchResult:
    """Seed the database at ``url``, run the postings, check the ledger; return the figures."""
    if options.postings < 1 or options.workers < 1:
        raise ValueError("postings and workers must be at least 1")
    database = Database(url, pool_size=options.workers + 1, max_overflow=4)
    try:
        dialect, version = server_version(database)
        rng = random.Random(options.seed)
        seed_started = time.perf_counter()
        books, shared = seed(database, options, rng)
        seed_seconds = time.perf_counter() - seed_started
        _open_connections(database, options.workers)

        quotas = [options.postings // options.workers
                  + (1 if w < options.postings % options.workers else 0)
                  for w in range(options.workers)]
        stats = [WorkerStats() for _ in range(options.workers)]
        barrier = threading.Barrier(options.workers + 1)
        threads = [threading.Thread(
            target=_work, name=f"bench-worker-{w}",
            args=(database, books[w], shared, quotas[w], random.Random(options.seed * 1000 + w),
                  barrier, stats[w])) for w in range(options.workers)]
        for thread in threads:
            thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # a worker that failed early breaks it; its error is raised below
        started, cpu_started = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        client_cpu_seconds = time.process_time() - cpu_started
        for worker in stats:
            if worker.error is not None:
                raise worker.error
        with database.session() as session:
            result = run_checks(session)
        return LedgerBenchResult(
            postings=sum(len(s.latencies) for s in stats), workers=options.workers,
            seconds=seconds, latencies=[x for s in stats for x in s.latencies],
            refused=sum(s.refused for s in stats), deadlocks=sum(s.deadlocks for s in stats),
            check="ok" if result.ok else str(result.violation),
            client_cpu_seconds=client_cpu_seconds, dialect=dialect,
            server_version=version, seed_seconds=seed_seconds)
    finally:
        database.dispose()


def as_json(result: LedgerBenchResult) -> dict:
    """Return the figures as the JSON object ``portal bench ledger`` prints."""
    return {
        "benchmark": "ledger",
        "postings": result.postings,
        "workers": result.workers,
        "seconds": round(result.seconds, 3),
        "postings_per_s": round(result.postings_per_s, 1),
        "latency_ms": result.latency_ms(),
        # This process's CPU (all workers) per posting: the Python side's cost.
        "client_cpu_ms_per_posting": round(
            result.client_cpu_seconds * 1000 / max(result.postings, 1), 2),
        "refused": result.refused,
        "deadlocks": result.deadlocks,
        "seed_seconds": round(result.seed_seconds, 2),
        "database": {"dialect": result.dialect, "server_version": result.server_version},
        "check": result.check,
    }


__all__ = ["LedgerBenchOptions", "LedgerBenchResult", "as_json", "run", "seed"]
