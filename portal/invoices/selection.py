"""What the invoice list's selection bar sends, read back into invoice numbers.

The bar posts (or, for a download, puts in the query string) either the numbers
chosen — ``invoice=A&invoice=B`` — or "every invoice matching this filter":
``selection=all``, the filter's token (:meth:`InvoiceFilter.token`) and the numbers
left out (``exclude``). The checkout and the merged-PDF download both read it here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from portal.invoices import queries
from portal.invoices.forms import InvoiceFilter


def selects_all(fields: MultiDict) -> bool:
    """Tell whether the selection is "every invoice matching a filter"."""
    return fields.get("selection") == "all"


def selected_numbers(session: Session, customer_id: int, fields: MultiDict, today: dt.date, *,
                     limit: int) -> list[str]:
    """Return the selected numbers, in order, each once; from a filter, at most ``limit``."""
    if selects_all(fields):
        return queries.matching_numbers(
            session, customer_id, InvoiceFilter.from_token(fields.get("matching", "")), today,
            queries.customer_currencies(session, customer_id),
            exclude=fields.getlist("exclude"), limit=limit)
    return list(dict.fromkeys(n.strip() for n in fields.getlist("invoice") if n.strip()))
