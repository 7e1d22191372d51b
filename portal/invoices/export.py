"""The invoice list as CSV, for the customer's AP system, written as it is read.

Rows are read in keyset batches, each in its own short transaction: on SQLite
every transaction holds the database's write lock (``portal.db``), so a slow
download must not keep one open. Amounts are plain decimals in the invoice's
currency (:meth:`portal.money.Money.plain`), never floats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from portal.db import Database
from portal.invoices import queries
from portal.invoices.forms import InvoiceFilter
from portal.money import Money

HEADER = ("number", "po_number", "issue_date", "due_date", "currency", "total", "balance",
          "status")
BATCH = 500
# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(database: Database, customer_id: int, f: InvoiceFilter, sort: str,
              today: dt.date, currencies: list[str]) -> Iterator[str]:
    """Yield the CSV export of the customer's invoices matching ``f``, header first."""
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
            rows = queries.csv_batch(session, customer_id, f, sort, today, currencies,
                                     after, BATCH)
        for row in rows:
            writer.writerow((_text(row.number), _text(row.po_number),
                             row.issue_date.isoformat(), row.due_date.isoformat(),
                             row.currency, Money(row.total_minor, row.currency).plain(),
                             Money(row.balance_minor, row.currency).plain(), row.status))
        if rows:
            yield flush()
        if len(rows) < BATCH:
            return
        after = queries.key_of(sort, rows[-1])
