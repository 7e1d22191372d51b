"""Bulk writes for the ERP import: many customers or invoices in a few statements.

:func:`portal.ledger.invoicing.create_invoice` flushes one invoice and posts one
entry at a time: far too slow for a first load of tens of thousands of
invoices. :func:`issue_invoices` does the same work in bulk (PostgreSQL
``COPY``, SQLite ``executemany``) and keeps every rule of the one-at-a-time path:

- one ``invoice_issued`` entry per invoice under the key ``invoice:{number}:issued``:
  receivable debited with the total, revenue and tax payable credited; a
  zero-total invoice is stored ``void`` with no entry;
- every draft passes :func:`portal.ledger.entries.validate` before anything is
  written; a key already in the journal is refused, not silently replayed;
- ``ar_invoices.balance_minor`` is written from the draft's own receivable
  lines, in the same transaction, so it equals them by construction;
- ids are allocated up front (PostgreSQL: the table's sequence; SQLite: past
  ``max(id)``, under the write lock the unit of work holds from ``BEGIN IMMEDIATE``).

:func:`sync_invoices` leaves unchanged invoices alone, sends changed ones through
:func:`portal.ledger.invoicing.adjust_invoice` (an adjusting entry, never a
silent edit) and new ones through :func:`issue_invoices`. Customers are not
journal data: :func:`upsert_customers` updates them in place, but never the
currency of a customer with invoices or journal lines.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from portal.db import is_postgres
from portal.ledger import accounts
from portal.ledger.entries import EntryDraft, LedgerError, validate
from portal.ledger.invoicing import InvoiceInput, adjust_invoice
from portal.ledger.models import (
    Customer,
    CustomerContact,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    utcnow,
)
from portal.ledger.terms import PaymentTerms, TermsError
from portal.money import MoneyError, check_currency

CUSTOMERS: Table = Customer.__table__
CONTACTS: Table = CustomerContact.__table__
INVOICES: Table = Invoice.__table__
INVOICE_LINES: Table = InvoiceLine.__table__
ENTRIES: Table = JournalEntry.__table__
JOURNAL_LINES: Table = JournalLine.__table__

# Bound parameters per IN (...) query: well under SQLite's and PostgreSQL's limits.
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class ContactInput:
    """A person at the customer who receives invoices."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """A customer's full record as the ERP has it."""

    number: str
    name: str
    currency: str
    credit_limit_minor: int | None = None
    default_terms: str = "net 30"
    email: str | None = None
    phone: str | None = None
    billing_address: str | None = None
    tax_id: str | None = None
    contact: ContactInput | None = None


@dataclass(slots=True)
class SyncCounts:
    """What an upsert did: rows created, updated, and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def chunked(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """Yield ``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    if count == 0:
        return []
    if is_postgres(session):
        return list(session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :count)"),
            {"table": table.name, "count": count}))
    # SQLite: the unit of work began with BEGIN IMMEDIATE, so no other writer
    # can take these ids before we insert them.
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return list(range(start + 1, start + 1 + count))


def _refuse_duplicates(numbers: Iterable[str], what: str) -> None:
    repeated = [n for n, count in Counter(numbers).items() if count > 1]
    if repeated:
        raise LedgerError(f"{what} {repeated[0]} appears more than once in one batch")


# --- customers -------------------------------------------------------------------------

_CUSTOMER_FIELDS = ("name", "currency", "credit_limit_minor", "default_terms", "email",
                    "phone", "billing_address", "tax_id")


def _checked_customer(data: CustomerInput) -> dict:
    if not data.number or len(data.number) > 64:
        raise LedgerError("a customer number must have 1 to 64 characters")
    if not data.name or len(data.name) > 200:
        raise LedgerError(f"customer {data.number}: a name must have 1 to 200 characters")
    limit = data.credit_limit_minor
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise LedgerError(f"customer {data.number}: the credit limit must be minor units >= 0")
    try:
        currency = check_currency(data.currency)
        terms = PaymentTerms.parse(data.default_terms).code()
    except (MoneyError, TermsError) as exc:
        raise LedgerError(f"customer {data.number}: {exc}") from None
    values = {name: getattr(data, name) for name in _CUSTOMER_FIELDS}
    values.update(currency=currency, default_terms=terms)
    return values


def customers_with_activity(session: Session, customer_ids: Iterable[int]) -> set[int]:
    """Return those of ``customer_ids`` that have invoices or journal lines."""
    ids = sorted(set(customer_ids))
    found: set[int] = set()
    for part in chunked(ids):
        for table in (INVOICES, JOURNAL_LINES):
            found.update(session.scalars(select(table.c.customer_id).distinct()
                                         .where(table.c.customer_id.in_(part))))
    return found


def upsert_customers(session: Session, inputs: Sequence[CustomerInput]) -> SyncCounts:
    """Create or update customers by number; each input's contact is added or renamed."""
    _refuse_duplicates((c.number for c in inputs), "customer")
    wanted = {data.number: _checked_customer(data) for data in inputs}
    existing: dict[str, dict] = {}
    for part in chunked(list(wanted)):
        for row in session.execute(select(CUSTOMERS).where(CUSTOMERS.c.number.in_(part))):
            existing[row.number] = row._asdict()
    recurrency = [row["id"] for number, row in existing.items()
                  if row["currency"] != wanted[number]["currency"]]
    active = customers_with_activity(session, recurrency)
    if active:
        number = next(n for n, row in existing.items() if row["id"] in active)
        raise LedgerError(f"customer {number} has ledger activity in "
                          f"{existing[number]['currency']}; its currency cannot change")
    now = utcnow()
    new = [n for n in wanted if n not in existing]
    ids = dict(zip(new, _allocate_ids(session, CUSTOMERS, len(new)), strict=True))
    changed = [{"_id": row["id"], **wanted[n], "updated_at": now} for n, row in existing.items()
               if any(row[name] != wanted[n][name] for name in _CUSTOMER_FIELDS)]
    if new:
        session.execute(insert(CUSTOMERS), [
            {"id": ids[n], "number": n, **wanted[n], "created_at": now, "updated_at": now}
            for n in new])
    if changed:
        session.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == bindparam("_id"))
                        .values({name: bindparam(name) for name in (*_CUSTOMER_FIELDS,
                                                                    "updated_at")}),
                        changed)
    ids.update((n, row["id"]) for n, row in existing.items())
    recontacted = _upsert_contacts(session, {ids[d.number]: d.contact for d in inputs
                                             if d.contact is not None})
    touched = {row["_id"] for row in changed} | recontacted
    updated = sum(1 for row in existing.values() if row["id"] in touched)
    return SyncCounts(created=len(new), updated=updated, unchanged=len(existing) - updated)


def _upsert_contacts(session: Session, contacts: dict[int, ContactInput]) -> set[int]:
    """Add each customer's contact, or rename it; return the customers whose contact changed."""
    if any(not (0 < len(c.email) <= 254 and 0 < len(c.name) <= 200) for c in contacts.values()):
        raise LedgerError("a contact needs a name and an e-mail address")
    names: dict[tuple[int, str], tuple[int, str]] = {}
    for part in chunked(sorted(contacts)):
        query = select(CONTACTS.c.id, CONTACTS.c.customer_id, CONTACTS.c.email,
                       CONTACTS.c.name).where(CONTACTS.c.customer_id.in_(part))
        names.update(((r.customer_id, r.email), (r.id, r.name)) for r in session.execute(query))
    new, renamed = [], []
    for customer_id, contact in contacts.items():
        found = names.get((customer_id, contact.email))
        if found is None:
            new.append({"customer_id": customer_id, "name": contact.name,
                        "email": contact.email, "role": "billing"})
        elif found[1] != contact.name:
            renamed.append({"_id": found[0], "name": contact.name, "customer_id": customer_id})
    if new:
        session.execute(insert(CONTACTS), new)
    if renamed:
        session.execute(update(CONTACTS).where(CONTACTS.c.id == bindparam("_id"))
                        .values(name=bindparam("name")),
                        [{"_id": r["_id"], "name": r["name"]} for r in renamed])
    return {r["customer_id"] for r in new} | {r["customer_id"] for r in renamed}


# --- invoices --------------------------------------------------------------------------

def _issue_draft(data: InvoiceInput, invoice_id: int, subtotal: int, tax: int,
                 occurred_at: dt.datetime) -> EntryDraft:
    # The same entry create_invoice posts, line for line.
    draft = EntryDraft("invoice_issued", f"invoice:{data.number}:issued",
                       data.occurred_at or occurred_at, customer_id=data.customer_id,
                       invoice_id=invoice_id, source=data.source)
    cur, cust = data.currency, data.customer_id
    draft.add(accounts.RECEIVABLE, subtotal + tax, cur, customer_id=cust, invoice_id=invoice_id)
    draft.add(accounts.REVENUE, -subtotal, cur, customer_id=cust, invoice_id=invoice_id)
    draft.add(accounts.TAX_PAYABLE, -tax, cur, customer_id=cust, invoice_id=invoice_id)
    return draft


def _existing(session: Session, column, values: Sequence) -> set:
    found: set = set()
    for part in chunked(values):
        found.update(session.scalars(select(column).where(column.in_(part))))
    return found


def _check_new(session: Session, inputs: Sequence[InvoiceInput]) -> None:
    numbers = [data.number for data in inputs]
    _refuse_duplicates(numbers, "invoice")
    taken = _existing(session, INVOICES.c.number, numbers)
    if taken:
        raise LedgerError(f"invoice {min(taken)} already exists")
    keys = _existing(session, ENTRIES.c.idempotency_key,
                     [f"invoice:{n}:issued" for n in numbers])
    if keys:
        raise LedgerError(f"idempotency key {min(keys)!r} is already in the journal")
    customer_ids = sorted({data.customer_id for data in inputs})
    missing = set(customer_ids) - _existing(session, CUSTOMERS.c.id, customer_ids)
    if missing:
        raise LedgerError(f"no customer with id {min(missing)}")


_INVOICE_COLUMNS = ("id", "number", "customer_id", "issue_date", "due_date", "currency",
                    "subtotal_minor", "tax_minor", "total_minor", "po_number", "terms",
                    "net_days", "discount_percent", "discount_days", "memo", "balance_minor",
                    "reserved_minor", "status", "revision", "created_at", "updated_at")
_LINE_COLUMNS = ("invoice_id", "position", "description", "sku", "quantity",
                 "unit_price_minor", "amount_minor", "tax_minor")
_ENTRY_COLUMNS = ("id", "idempotency_key", "kind", "occurred_at", "customer_id", "invoice_id",
                  "payment_id", "credit_memo_id", "reverses_entry_id", "memo", "source")
_JOURNAL_COLUMNS = ("entry_id", "account", "customer_id", "invoice_id", "amount_minor",
                    "currency")


def issue_invoices(session: Session, inputs: Sequence[InvoiceInput]) -> list[int]:
    """Issue many new invoices at once, exactly as create_invoice would; return their ids."""
    if not inputs:
        return []
    _check_new(session, inputs)
    now = utcnow()
    invoice_ids = _allocate_ids(session, INVOICES, len(inputs))
    invoices, lines, drafts = [], [], []
    for data, invoice_id in zip(inputs, invoice_ids, strict=True):
        subtotal, tax = data.subtotal_minor, data.tax_minor
        balance = 0
        if subtotal + tax != 0:
            draft = _issue_draft(data, invoice_id, subtotal, tax, now)
            validate(draft)
            drafts.append(draft)
            balance = sum(line.amount_minor for line in draft.lines
                          if line.account == accounts.RECEIVABLE)
        terms = data.parsed_terms
        invoices.append((
            invoice_id, data.number, data.customer_id, data.issue_date, data.due_date,
            data.currency, subtotal, tax, subtotal + tax, data.po_number, terms.code(),
            terms.net_days, terms.discount_percent, terms.discount_days, data.memo, balance, 0,
            "open" if subtotal + tax != 0 else "void", 1, now, now))
        lines.extend(
            (invoice_id, position, line.description, line.sku, line.quantity,
             line.amount_minor if line.unit_price_minor is None else line.unit_price_minor,
             line.amount_minor, line.tax_minor)
            for position, line in enumerate(data.lines, start=1))
    entry_ids = _allocate_ids(session, ENTRIES, len(drafts))
    with _large_cache(session):
        insert_rows(session, INVOICES, _INVOICE_COLUMNS, invoices)
        insert_rows(session, INVOICE_LINES, _LINE_COLUMNS, lines)
        insert_rows(session, ENTRIES, _ENTRY_COLUMNS, [
            (entry_id, d.idempotency_key, d.kind, d.occurred_at, d.customer_id, d.invoice_id,
             d.payment_id, d.credit_memo_id, d.reverses_entry_id, d.memo, d.source)
            for d, entry_id in zip(drafts, entry_ids, strict=True)])
        insert_rows(session, JOURNAL_LINES, _JOURNAL_COLUMNS, [
            (entry_id, x.account, x.customer_id, x.invoice_id, x.amount_minor, x.currency)
            for d, entry_id in zip(drafts, entry_ids, strict=True) for x in d.lines])
    return invoice_ids


def insert_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` in as few round trips as can be.

    PostgreSQL: ``COPY FROM STDIN`` through psycopg, on the session's own
    connection and transaction; row triggers (the journal guards) fire as for
    INSERT. SQLite: the driver's ``executemany``, each value converted by its
    column type's SQLAlchemy bind processor, as a Core insert would.
    """
    if not rows:
        return
    connection = session.connection()
    names = ", ".join(columns)
    if is_postgres(session):
        raw = connection.connection.driver_connection
        try:
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except connection.dialect.loaded_dbapi.Error as exc:
            # Raised by the driver itself, so SQLAlchemy has not wrapped it.
            raise LedgerError(f"the database refused the rows for {table.name}: "
                              f"{str(exc).splitlines()[0]}") from exc
        return
    dialect = connection.dialect
    convert = [(i, _remembering(processor)) for i, name in enumerate(columns)
               if (processor := table.c[name].type.dialect_impl(dialect)
                   .bind_processor(dialect))]
    if convert:
        rows = [_converted(row, convert) for row in rows]
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def _remembering(processor):
    # Dates, the batch's timestamp and quantities repeat: convert each value once
    # (keyed with its time zone: equal instants in two zones are written apart).
    seen: dict = {}

    def convert(value):
        key = (value, getattr(value, "tzinfo", None))
        if key not in seen:
            seen[key] = processor(value)
        return seen[key]
    return convert


def _converted(row: tuple, convert: list) -> tuple:
    values = list(row)
    for i, processor in convert:
        values[i] = processor(values[i])
    return tuple(values)


@contextmanager
def _large_cache(session: Session) -> Iterator[None]:
    """On SQLite, hold a big batch's pages in memory instead of spilling them to the WAL."""
    if is_postgres(session):
        yield
        return
    old = session.scalar(text("PRAGMA cache_size"))
    session.execute(text("PRAGMA cache_size = -262144"))  # up to 256 MiB, for this batch
    yield
    # Not restored if the batch failed: the unit of work rolls back, and a larger
    # cache on that pooled connection does no harm.
    session.execute(text(f"PRAGMA cache_size = {int(old)}"))


# --- sync: new, changed, unchanged -----------------------------------------------------

_STATE_COLUMNS = ("customer_id", "currency", "issue_date", "due_date", "subtotal_minor",
                  "tax_minor", "total_minor", "po_number", "terms", "net_days",
                  "discount_percent", "discount_days", "memo")


def _input_state(data: InvoiceInput) -> tuple:
    terms = data.parsed_terms
    header = (data.customer_id, data.currency, data.issue_date, data.due_date,
              data.subtotal_minor, data.tax_minor, data.total_minor, data.po_number,
              terms.code(), terms.net_days, terms.discount_percent, terms.discount_days,
              data.memo)
    lines = tuple((line.description, line.sku, line.quantity,
                   line.unit_price_minor if line.unit_price_minor is not None
                   else line.amount_minor, line.amount_minor, line.tax_minor)
                  for line in data.lines)
    return header, lines


def _stored_states(session: Session, numbers: Sequence[str]) -> dict[str, tuple[int, tuple]]:
    """Return number -> (id, state) for the stored invoices among ``numbers``."""
    headers: dict[int, tuple[str, tuple]] = {}
    columns = [INVOICES.c[name] for name in _STATE_COLUMNS]
    for part in chunked(numbers):
        for row in session.execute(select(INVOICES.c.id, INVOICES.c.number, *columns)
                                   .where(INVOICES.c.number.in_(part))):
            headers[row[0]] = (row[1], tuple(row[2:]))
    lines: dict[int, list[tuple]] = {invoice_id: [] for invoice_id in headers}
    line_columns = [INVOICE_LINES.c[name] for name in (
        "description", "sku", "quantity", "unit_price_minor", "amount_minor", "tax_minor")]
    for part in chunked(sorted(headers)):
        query = (select(INVOICE_LINES.c.invoice_id, *line_columns)
                 .where(INVOICE_LINES.c.invoice_id.in_(part))
                 .order_by(INVOICE_LINES.c.invoice_id, INVOICE_LINES.c.position))
        for row in session.execute(query):
            lines[row[0]].append(tuple(row[1:]))
    return {number: (invoice_id, (header, tuple(lines[invoice_id])))
            for invoice_id, (number, header) in headers.items()}


def sync_invoices(session: Session, inputs: Sequence[InvoiceInput]) -> SyncCounts:
    """Issue new invoices in bulk, adjust changed ones, and leave unchanged ones alone.

    A change to an issued invoice goes through :func:`adjust_invoice`, which posts
    an ``invoice_adjusted`` entry when the total moves; an unchanged invoice
    writes nothing, so syncing the same data twice is a no-op.
    """
    _refuse_duplicates((data.number for data in inputs), "invoice")
    stored = _stored_states(session, [data.number for data in inputs])
    new = [data for data in inputs if data.number not in stored]
    issue_invoices(session, new)
    counts = SyncCounts(created=len(new))
    for data in inputs:
        if data.number not in stored:
            continue
        invoice_id, state = stored[data.number]
        if state == _input_state(data):
            counts.unchanged += 1
        else:
            adjust_invoice(session, invoice_id, data)
            counts.updated += 1
    return counts
