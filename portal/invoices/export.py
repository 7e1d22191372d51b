"""The invoice list as CSV, for the customer's AP system, written as it is read.

Rows are read in keyset batches, each in its own short transaction: on SQLite
every transaction holds the database's write lock (``portal.db``), so a slow
download must not keep one open. Amounts are plain decimals in the invoice's
currency (:meth:`portal.money.Money.plain`), never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from portal.core import csv_export
from portal.core.csv_export import safe_cell
from portal.db import Database
from portal.invoices import queries
from portal.invoices.forms import InvoiceFilter
from portal.money import Money

HEADER = ("number", "po_number", "issue_date", "due_date", "currency", "total", "balance",
          "status")
BATCH = 500


def csv_lines(database: Database, customer_id: int, f: InvoiceFilter, sort: str,
              today: dt.date, currencies: list[str]) -> Iterator[str]:
    """Yield the CSV export of the customer's invoices matching ``f``, header first."""
    return csv_export.stream(HEADER, _batches(database, customer_id, f, sort, today,
                                              currencies))


def _batches(database: Database, customer_id: int, f: InvoiceFilter, sort: str,
             today: dt.date, currencies: list[str]) -> Iterator[list[tuple[str, ...]]]:
    after = None
    while True:
        with database.session() as session:
            rows = queries.csv_batch(session, customer_id, f, sort, today, currencies,
                                     after, BATCH)
        yield [(safe_cell(row.number), safe_cell(row.po_number), row.issue_date.isoformat(),
                row.due_date.isoformat(), row.currency,
                Money(row.total_minor, row.currency).plain(),
                Money(row.balance_minor, row.currency).plain(), row.status) for row in rows]
        if len(rows) < BATCH:
            return
        after = queries.key_of(sort, rows[-1])
