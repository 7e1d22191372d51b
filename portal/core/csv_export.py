"""CSV downloads written as they are read: one writer for every export the portal offers.

An export hands :func:`stream` its header and its rows in batches (each batch read
in its own short transaction by the caller, so a slow download holds no lock); the
rows go out as CRLF-terminated CSV, a batch at a time. Text that came from people
(invoice, PO and reference numbers) goes through :func:`safe_cell` first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """Return ``value`` as a cell no spreadsheet will run as a formula ('' for None)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def stream(header: Sequence[str], batches: Iterable[Iterable[Sequence[str]]]) -> Iterator[str]:
    """Yield the CSV text of ``header``, then of each non-empty batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield flush()
    for batch in batches:
        writer.writerows(batch)
        text = flush()
        if text:
            yield text
