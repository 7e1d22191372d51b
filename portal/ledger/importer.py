"""The ERP's CSV import: customers and invoices, upserted by number (docs/import.md).

This module reads and validates; the ledger writes (:mod:`portal.ledger.bulk`).
A file is imported whole or not at all:

- every row is checked and *all* errors are collected, each naming its lines;
  if there is any, :class:`ImportRejected` is raised before anything is written;
- otherwise the rows go to the ledger in one call, in the caller's unit of
  work, which commits once.

Amounts are decimal text in major units, read exactly by
:meth:`portal.money.Money.parse`: more decimals than the currency has is an
error, never a rounding. An invoice is one or more rows (one per line) with the
same ``invoice_number``; the header columns must agree across its rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from portal.db import is_postgres
from portal.ledger import bulk
from portal.ledger.entries import LedgerError
from portal.ledger.invoicing import InvoiceInput, LineInput
from portal.ledger.models import Customer, Invoice
from portal.ledger.terms import PaymentTerms, TermsError
from portal.money import Money, MoneyError, check_currency

CUSTOMER_COLUMNS = ("customer_number", "name", "currency")
CUSTOMER_OPTIONAL = ("credit_limit", "default_terms", "email", "phone", "billing_address",
                     "tax_id", "contact_name", "contact_email")
INVOICE_COLUMNS = ("invoice_number", "customer_number", "issue_date", "line_description")
INVOICE_OPTIONAL = ("due_date", "currency", "terms", "po_number", "memo", "sku", "quantity",
                    "unit_price", "line_amount", "line_tax")
# Columns that describe the invoice, not the line: equal on every row of an invoice.
INVOICE_HEADER = ("customer_number", "issue_date", "due_date", "currency", "terms",
                  "po_number", "memo")
SHOWN_LINES = 10

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Plain decimals only: "1234.50", "-3", "1,234.50". No exponents (a spreadsheet's
# "1.2E+05" has lost digits), at most 13 integer digits.
_AMOUNT = re.compile(r"^-?(?:\d{1,13}|\d{1,3}(?:,\d{3}){1,4})(?:\.\d+)?$")
_QUANTITY = re.compile(r"^-?\d{1,10}(?:\.\d{1,4})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IMPORT_LOCK = 7_202_611  # pg_advisory_xact_lock key: one import at a time

Source = str | Path | TextIO


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file, with the lines it is on (none for the whole file)."""

    lines: tuple[int, ...]
    message: str

    def __str__(self) -> str:
        if not self.lines:
            return self.message
        shown = ", ".join(str(n) for n in self.lines[:SHOWN_LINES])
        if len(self.lines) > SHOWN_LINES:
            shown += f", ... ({len(self.lines)} lines)"
        return f"line{'s' if len(self.lines) > 1 else ''} {shown}: {self.message}"


class ImportRejected(Exception):
    """The file has errors; nothing of it was imported."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.lines[:1])
        super().__init__(f"{len(self.errors)} error(s); nothing was imported")

    def report(self, limit: int = 50) -> list[str]:
        """Return the first ``limit`` errors as text, and a count of the rest."""
        shown = [str(error) for error in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(f"... and {len(self.errors) - limit} more errors")
        return shown


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    what: str
    rows: int
    records: int
    counts: bulk.SyncCounts

    def summary(self, seconds: float) -> str:
        """Return the one-line summary: counts and rows per second."""
        c = self.counts
        rate = self.rows / seconds if seconds > 0 else 0
        return (f"{self.records} {self.what} from {self.rows} rows: {c.created} created, "
                f"{c.updated} updated, {c.unchanged} unchanged in {seconds:.2f} s "
                f"({rate:,.0f} rows/s)")


# --- reading ---------------------------------------------------------------------------

@dataclass(slots=True)
class _Table:
    columns: frozenset[str]
    rows: list[tuple[int, dict[str, str]]]
    errors: list[RowError]


def _open(source: Source) -> AbstractContextManager[TextIO]:
    if isinstance(source, str | Path):  # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM
        return open(source, encoding="utf-8-sig", newline="")
    return nullcontext(source)


def _header(record: list[str] | None, required: tuple[str, ...],
            optional: tuple[str, ...]) -> list[str]:
    if not record:
        raise ImportRejected([RowError((1,), "the file is empty; expected a header line")])
    names = [name.strip().lower() for name in record]
    problems = [f"column {name!r} appears twice" for name in sorted(set(names))
                if names.count(name) > 1]
    problems += [f"unknown column {name!r}" for name in names
                 if name not in required and name not in optional]
    problems += [f"required column {name!r} is missing" for name in required
                 if name not in names]
    if problems:
        known = ", ".join(required + optional)
        raise ImportRejected([RowError((1,), f"{p} (columns: {known})") for p in problems])
    return names


def read_table(source: Source, required: tuple[str, ...], optional: tuple[str, ...]) -> _Table:
    """Read a CSV file: check its header, return its rows with their line numbers."""
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    with _open(source) as stream:
        reader = csv.reader(stream)
        try:
            names = _header(next(reader, None), required, optional)
            last = reader.line_num
            for record in reader:
                line, last = last + 1, reader.line_num
                if not any(field.strip() for field in record):
                    continue
                if len(record) != len(names):
                    errors.append(RowError((line,), f"has {len(record)} fields; "
                                                    f"the header has {len(names)}"))
                    continue
                rows.append((line, dict(zip(names, map(str.strip, record), strict=True))))
        except UnicodeDecodeError:
            raise ImportRejected([RowError((), "the file is not UTF-8 text "
                                               "(save it as CSV UTF-8)")]) from None
        except csv.Error as exc:
            raise ImportRejected([RowError((reader.line_num,), f"bad CSV: {exc}")]) from None
    return _Table(frozenset(names), rows, errors)


@functools.lru_cache(maxsize=8192)
def _minor(value: str, currency: str) -> int:
    # Amounts repeat (0.00 tax, list prices); Money.parse is exact either way.
    return Money.parse(value, currency).minor


@functools.lru_cache(maxsize=256)
def _terms_code(value: str) -> str:
    return PaymentTerms.parse(value).code()


class _Row:
    """One row's (or one invoice header's) values, and a place to record its errors."""

    __slots__ = ("errors", "lines", "prefix", "values")

    def __init__(self, lines: tuple[int, ...], values: dict[str, str],
                 errors: list[RowError], prefix: str = "") -> None:
        self.lines, self.values, self.errors, self.prefix = lines, values, errors, prefix

    def fail(self, message: str) -> None:
        self.errors.append(RowError(self.lines, self.prefix + message))

    def text(self, column: str, *, required: bool = False, max_len: int = 0) -> str | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.fail(f"{column} is required")
            return None
        if max_len and len(value) > max_len:
            self.fail(f"{column} is longer than {max_len} characters")
            return None
        return value

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            if _DATE.match(value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
        self.fail(f"{column} {value!r} is not a date (expected YYYY-MM-DD)")
        return None

    def currency(self, column: str, *, required: bool = False) -> str | None:
        value = self.text(column, required=required)
        try:
            return check_currency(value) if value else None
        except MoneyError:
            self.fail(f"{column} {value!r} is not an ISO 4217 currency code")
            return None

    def money(self, column: str, currency: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            if not _AMOUNT.match(value):
                raise MoneyError(f"{value!r} is not an amount (expected e.g. 1234.50)")
            return _minor(value, currency)
        except MoneyError as exc:
            self.fail(f"{column}: {exc}")
            return None

    def terms(self, column: str, default: str | None) -> str | None:
        value = self.text(column) or default
        try:
            return _terms_code(value) if value else None
        except TermsError as exc:
            self.fail(f"{column}: {exc}")
            return None


def _one_import_at_a_time(session: Session) -> None:
    # Two imports of overlapping files would otherwise race between validation
    # and insert. SQLite: the unit of work's BEGIN IMMEDIATE already serializes.
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})


def _lookup(session: Session, query, column, values: Iterable[str]) -> dict:
    found = {}
    for part in bulk.chunked(sorted(set(values))):
        found.update((row[0], row) for row in session.execute(query.where(column.in_(part))))
    return found


# --- customers -------------------------------------------------------------------------

def import_customers(session: Session, source: Source) -> ImportResult:
    """Validate a customers CSV and upsert every customer in it, or raise ImportRejected."""
    table = read_table(source, CUSTOMER_COLUMNS, CUSTOMER_OPTIONAL)
    errors = table.errors
    _one_import_at_a_time(session)
    lines_of: dict[str, list[int]] = defaultdict(list)
    for line, values in table.rows:
        if values["customer_number"]:
            lines_of[values["customer_number"]].append(line)
    errors += [RowError(tuple(lines), f"customer_number {number} appears {len(lines)} times")
               for number, lines in lines_of.items() if len(lines) > 1]
    stored = _lookup(session, select(Customer.number.label("key"), bulk.CUSTOMERS),
                     Customer.number, lines_of)
    active = bulk.customers_with_activity(session, [
        c.id for line, values in table.rows
        if (c := stored.get(values["customer_number"]))
        and values["currency"].upper() != c.currency])
    inputs = [data for line, values in table.rows if (data := _customer(
        _Row((line,), values, errors), table.columns, stored, active))]
    if errors:
        raise ImportRejected(errors)
    counts = bulk.upsert_customers(session, inputs)
    return ImportResult("customers", len(table.rows), len(inputs), counts)


def _customer(row: _Row, columns: frozenset[str], stored: dict[str, Row],
              active: set[int]) -> bulk.CustomerInput | None:
    before = len(row.errors)
    number = row.text("customer_number", required=True, max_len=64)
    name = row.text("name", required=True, max_len=200)
    currency = row.currency("currency", required=True)
    old = stored.get(number or "")
    if old is not None and currency and currency != old.currency and old.id in active:
        row.fail(f"currency cannot change from {old.currency} to {currency}: "
                 f"customer {number} already has invoices or payments")

    def given(column: str, attr: str, read) -> object:
        # A column left out of the file keeps what is stored; a blank cell clears it.
        if column in columns:
            return read(column)
        return getattr(old, attr) if old is not None else None

    limit = given("credit_limit", "credit_limit_minor",
                  lambda c: row.money(c, currency) if currency else None)
    if isinstance(limit, int) and limit < 0:
        row.fail("credit_limit cannot be negative")
    terms = given("default_terms", "default_terms", lambda c: row.terms(c, "net 30"))
    email = given("email", "email", lambda c: _email(row, c))
    phone = given("phone", "phone", lambda c: row.text(c, max_len=40))
    address = given("billing_address", "billing_address", row.text)
    tax_id = given("tax_id", "tax_id", lambda c: row.text(c, max_len=40))
    contact = None
    contact_name = row.text("contact_name", max_len=200)
    contact_email = _email(row, "contact_email")
    if contact_name and contact_email:
        contact = bulk.ContactInput(contact_name, contact_email)
    elif bool(row.values.get("contact_name")) != bool(row.values.get("contact_email")):
        row.fail("contact_name and contact_email go together: give both or neither")
    if len(row.errors) > before:
        return None
    return bulk.CustomerInput(number, name, currency, limit, terms or "net 30", email, phone,
                              address, tax_id, contact)


def _email(row: _Row, column: str) -> str | None:
    value = row.text(column, max_len=254)
    if value and not _EMAIL.match(value):
        row.fail(f"{column} {value!r} is not an e-mail address")
        return None
    return value


# --- invoices --------------------------------------------------------------------------

def import_invoices(session: Session, source: Source) -> ImportResult:
    """Validate an invoices CSV and issue, adjust or skip every invoice, or raise ImportRejected."""
    table = read_table(source, INVOICE_COLUMNS, INVOICE_OPTIONAL)
    if not {"line_amount", "unit_price"} & table.columns:
        raise ImportRejected([RowError((1,), "either line_amount or unit_price is required")])
    errors = table.errors
    _one_import_at_a_time(session)
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, values in table.rows:
        number = values["invoice_number"]
        if not number or len(number) > 64:
            errors.append(RowError((line,), "invoice_number must have 1 to 64 characters"))
        else:
            groups.setdefault(number, []).append((line, values))
    customers = _lookup(session, select(Customer.number, Customer.id, Customer.currency,
                                        Customer.default_terms), Customer.number,
                        (values["customer_number"] for _, values in table.rows))
    stored = _lookup(session, select(Invoice.number, Customer.number.label("customer_number"),
                                     Invoice.currency, Invoice.terms)
                     .join(Customer, Customer.id == Invoice.customer_id),
                     Invoice.number, groups)
    inputs = [data for number, rows in groups.items()
              if (data := _invoice(number, rows, customers, stored, errors))]
    if errors:
        raise ImportRejected(errors)
    counts = bulk.sync_invoices(session, inputs)
    return ImportResult("invoices", len(table.rows), len(inputs), counts)


def _invoice(number: str, rows: list[tuple[int, dict[str, str]]], customers: dict,
             stored: dict, errors: list[RowError]) -> InvoiceInput | None:
    before = len(errors)
    lines = tuple(line for line, _ in rows)
    head = _Row(lines, rows[0][1], errors, f"invoice {number}: ")
    for column in INVOICE_HEADER if len(rows) > 1 else ():
        if len({values.get(column, "") for _, values in rows}) > 1:
            seen = "; ".join(f"line {line}: {values.get(column, '')!r}"
                             for line, values in rows[:SHOWN_LINES])
            head.fail(f"{column} differs across the invoice's rows ({seen})")
    customer_number = head.text("customer_number", required=True)
    customer = customers.get(customer_number)
    if customer_number and customer is None:
        head.fail(f"unknown customer {customer_number!r} (import customers first)")
    issue_date = head.date("issue_date", required=True)
    due_date = head.date("due_date")
    currency = head.currency("currency")
    if customer and currency and currency != customer.currency:
        head.fail(f"currency {currency} is not customer {customer_number}'s "
                  f"currency ({customer.currency})")
    if customer and not head.values.get("currency"):
        currency = customer.currency
    old = stored.get(number)
    if old and customer_number and old.customer_number != customer_number:
        head.fail(f"was issued to customer {old.customer_number}; "
                  "the customer cannot change after issue")
    if old and currency and old.currency != currency:
        head.fail(f"was issued in {old.currency}; the currency cannot change after issue")
    # No terms in the file: keep the invoice's own, else the customer's default.
    default_terms = old.terms if old else None
    if default_terms is None and customer is not None:
        default_terms = customer.default_terms
    terms = head.terms("terms", default_terms)
    po_number = head.text("po_number", max_len=64)
    line_inputs = [line for line_no, values in rows
                   if (line := _line(_Row((line_no,), values, errors), currency))]
    if len(errors) > before or customer is None or issue_date is None or terms is None:
        return None
    try:
        return InvoiceInput(number=number, customer_id=customer.id, issue_date=issue_date,
                            currency=currency, lines=line_inputs, terms=terms,
                            due_date=due_date, po_number=po_number, memo=head.text("memo"),
                            source="import")
    except LedgerError as exc:
        errors.append(RowError(lines, str(exc)))
        return None


def _line(row: _Row, currency: str | None) -> LineInput | None:
    before = len(row.errors)
    description = row.text("line_description", required=True, max_len=500)
    sku = row.text("sku", max_len=64)
    quantity = Decimal(1)
    if row.values.get("quantity"):
        if _QUANTITY.match(row.values["quantity"]):
            quantity = Decimal(row.values["quantity"])
        else:
            row.fail(f"quantity {row.values['quantity']!r} is not a number "
                     "(at most 10 digits and 4 decimals)")
    if currency is None:  # the header's error says why; amounts cannot be read
        return None
    unit_price = row.money("unit_price", currency)
    amount = row.money("line_amount", currency)
    tax = row.money("line_tax", currency) or 0
    if not row.values.get("line_amount"):
        if not row.values.get("unit_price"):
            row.fail("line_amount is required (or unit_price, to compute it)")
        elif unit_price is not None:
            product = quantity * unit_price
            if product != product.to_integral_value():
                row.fail(f"quantity x unit_price is not a whole number of minor units of "
                         f"{currency}; give line_amount")
            amount = int(product)
    if len(row.errors) > before or amount is None:
        return None
    return LineInput(description, amount, quantity, unit_price, tax, sku)
