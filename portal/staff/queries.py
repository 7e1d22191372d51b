"""Reads for the staff pages: customers and invoices by number, name or PO; link audit."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.accounts.models import AuditEvent
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
    """Open AR per currency: (currency, open invoices, open balance).

    PostgreSQL sums a bigint as numeric (a Decimal in Python): made an int again,
    as money is minor units (portal.money refuses anything else)."""
    return [(currency, int(count), int(balance)) for currency, count, balance in session.execute(
        select(Invoice.currency, func.count(), func.coalesce(func.sum(Invoice.balance_minor), 0))
        .where(Invoice.balance_minor > 0).group_by(Invoice.currency)
        .order_by(Invoice.currency))]


def customer_by_number(session: Session, number: str) -> Customer | None:
    """The customer with this number, or None."""
    return session.scalar(select(Customer).where(Customer.number == number))


def link_events(session: Session, customer_id: int,
                limit: int = 200) -> dict[str, list[AuditEvent]]:
    """The customer's newest invoice-link events (one query), by invoice number.

    Link events are the audit rows with action ``link.*`` (portal.links.services
    records them with the invoice number as subject); newest first in each list.
    """
    events: dict[str, list[AuditEvent]] = {}
    for event in session.scalars(
            select(AuditEvent).where(AuditEvent.customer_id == customer_id,
                                     AuditEvent.action.startswith("link."))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)):
        events.setdefault(event.subject or "", []).append(event)
    return events
