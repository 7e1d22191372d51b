"""The demo's invoice link: ``portal demo`` prints one ``invoice link: URL`` line.

A hook of :mod:`portal.demo.hooks`. The token is stored only as a hash, so each
run makes a new link (to the same showcase invoice); earlier ones keep working
until they expire.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.demo.catalog import LARGE_CUSTOMER
from portal.demo.hooks import DemoContext
from portal.ledger.models import Customer, Invoice
from portal.links import services

CREATED_BY = "demo"


def demo_link(session: Session, context: DemoContext) -> Iterable[str]:
    """Make a live link to an open invoice of the large customer; return its line."""
    query = select(Invoice).join(Customer, Customer.id == Invoice.customer_id)
    if context.showcase_invoice:
        query = query.where(Invoice.number == context.showcase_invoice)
    else:
        query = query.where(Customer.number == LARGE_CUSTOMER, Invoice.status == "open",
                            Invoice.balance_minor > 0).order_by(Invoice.due_date, Invoice.id)
    invoice = session.scalars(query.limit(1)).first()
    if invoice is None:
        return []
    _link, token = services.create(session, invoice, expires_days=None, email=None,
                                   created_by=CREATED_BY)
    return [f"invoice link: {services.url(context.base_url, token)}"]
