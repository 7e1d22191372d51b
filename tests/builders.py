"""Small builders of ledger data for tests: customers and invoices with few words."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from portal import ledger
from portal.ledger.models import Customer, Invoice

_numbers = itertools.count(1)


def customer(session: Session, number: str | None = None, currency: str = "USD",
             name: str = "Acme Corp") -> Customer:
    """Add a customer and flush it."""
    row = Customer(number=number or f"C{next(_numbers):05d}", name=name, currency=currency,
                   default_terms="net 30")
    session.add(row)
    session.flush()
    return row


def invoice(session: Session, cust: Customer, total_minor: int, *, number: str | None = None,
            terms: str = "net 30", issue_date: dt.date = dt.date(2026, 11, 1),
            currency: str | None = None, tax_minor: int = 0) -> Invoice:
    """Issue an invoice of ``total_minor`` (one line, optional tax) for ``cust``."""
    data = ledger.InvoiceInput(
        number=number or f"INV-{next(_numbers):06d}", customer_id=cust.id,
        issue_date=issue_date, currency=currency or cust.currency, terms=terms,
        lines=[ledger.LineInput("Widgets", total_minor - tax_minor, tax_minor=tax_minor)])
    return ledger.create_invoice(session, data)
