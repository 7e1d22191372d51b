"""The payment history as CSV, for the customer's AP system, written as it is read.

One row per payment: its number and reference, the day it was paid (vendor's
time zone), method, amount, currency, status, the invoices it paid and the
early-pay discount taken on them, and what went to account credit. Rows are
read in keyset batches, each in its own short transaction (on SQLite every
transaction holds the write lock, so a slow download must not keep one open).
Amounts are plain decimals in the payment's currency, never floats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from portal.db import Database
from portal.money import Money
from portal.payments import history
from portal.payments.history import PaymentFilter

HEADER = ("payment_id", "reference", "date", "method", "amount", "currency", "status",
          "invoices", "discount", "to_credit")
BATCH = 500
# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(row: history.Listed, zone: ZoneInfo) -> tuple[str, ...]:
    p, cur = row.payment, row.payment.currency
    return (str(p.id), _text(p.reference), row.day(zone).isoformat(), p.method,
            Money(p.amount_minor, cur).plain(), cur, p.status,
            _text(";".join(share.number for share in row.shares)),
            Money(row.discount_minor, cur).plain(), Money(row.credit_minor, cur).plain())


def csv_lines(database: Database, customer_id: int, f: PaymentFilter,
              zone: ZoneInfo) -> Iterator[str]:
    """Yield the CSV export of the customer's payments matching ``f``, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield flush()
    after = None
    while True:
        with database.session() as session:
            rows = history.csv_batch(session, customer_id, f, zone, after, BATCH)
            # Written before the session ends: ending it expires the rows it read.
            for row in rows:
                writer.writerow(_row(row, zone))
            count = len(rows)
            after = (rows[-1].paid_at, rows[-1].payment.id) if rows else None
        if count:
            yield flush()
        if count < BATCH:
            return
