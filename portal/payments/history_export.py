"""The payment history as CSV, for the customer's AP system, written as it is read.

One row per payment: its number and reference, the day it was paid (vendor's
time zone), method, amount, currency, status, the invoices it paid and the
early-pay discount taken on them, and what went to account credit. Rows are
read in keyset batches, each in its own short transaction (on SQLite every
transaction holds the write lock, so a slow download must not keep one open).
Amounts are plain decimals in the payment's currency, never floats.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from portal.core import csv_export
from portal.core.csv_export import safe_cell
from portal.db import Database
from portal.money import Money
from portal.payments import history
from portal.payments.history import PaymentFilter

HEADER = ("payment_id", "reference", "date", "method", "amount", "currency", "status",
          "invoices", "discount", "to_credit")
BATCH = 500


def _row(row: history.Listed, zone: ZoneInfo) -> tuple[str, ...]:
    p, cur = row.payment, row.payment.currency
    return (str(p.id), safe_cell(p.reference), row.day(zone).isoformat(), p.method,
            Money(p.amount_minor, cur).plain(), cur, p.status,
            safe_cell(";".join(share.number for share in row.shares)),
            Money(row.discount_minor, cur).plain(), Money(row.credit_minor, cur).plain())


def csv_lines(database: Database, customer_id: int, f: PaymentFilter,
              zone: ZoneInfo) -> Iterator[str]:
    """Yield the CSV export of the customer's payments matching ``f``, header first."""
    return csv_export.stream(HEADER, _batches(database, customer_id, f, zone))


def _batches(database: Database, customer_id: int, f: PaymentFilter,
             zone: ZoneInfo) -> Iterator[list[tuple[str, ...]]]:
    after = None
    while True:
        with database.session() as session:
            rows = history.csv_batch(session, customer_id, f, zone, after, BATCH)
            # Formatted before the session ends: ending it expires the rows it read.
            batch = [_row(row, zone) for row in rows]
            after = (rows[-1].paid_at, rows[-1].payment.id) if rows else None
        yield batch
        if len(batch) < BATCH:
            return
