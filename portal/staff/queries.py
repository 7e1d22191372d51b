"""Reads for the staff home: find customers and invoices by number, name or PO."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.ledger.models import Customer, Invoice


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_customers(session: Session, term: str, limit: int = 20) -> list[Customer]:
    """Customers whose number or name contains ``term``."""
    pattern = _like(term)
    return list(session.scalars(
        select(Customer).where(or_(func.lower(Customer.number).like(pattern, escape="\\"),
                                   func.lower(Customer.name).like(pattern, escape="\\")))
        .order_by(Customer.name).limit(limit)))


def search_invoices(session: Session, term: str, limit: int = 20) -> list[Invoice]:
    """Invoices whose number or PO number starts with ``term`` (indexed prefix search)."""
    prefix = term.strip()
    if not prefix:
        return []
    upper = prefix + "\uffff"
    return list(session.scalars(
        select(Invoice).where(or_(Invoice.number.between(prefix, upper),
                                  Invoice.po_number.between(prefix, upper)))
        .order_by(Invoice.number).limit(limit)))


def totals(session: Session) -> list[tuple[str, int, int]]:
    """Open AR per currency: (currency, open invoices, open balance)."""
    return [tuple(row) for row in session.execute(
        select(Invoice.currency, func.count(), func.coalesce(func.sum(Invoice.balance_minor), 0))
        .where(Invoice.balance_minor > 0).group_by(Invoice.currency)
        .order_by(Invoice.currency))]
