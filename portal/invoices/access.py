"""The one way to reach an invoice: "this invoice, if this customer may see it, else 404"."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.ledger.models import Invoice


def invoice_of(session: Session, customer_id: int, number: str) -> Invoice | None:
    """Return the customer's invoice with ``number``, or None (also for another's)."""
    return session.scalar(select(Invoice).where(Invoice.number == number,
                                                Invoice.customer_id == customer_id))


def invoice_or_404(session: Session, customer_id: int, number: str) -> Invoice:
    """Return the customer's invoice with ``number``; 404 if absent or another's."""
    invoice = invoice_of(session, customer_id, number)
    if invoice is None:
        abort(404)
    return invoice
