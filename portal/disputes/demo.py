"""The demo's disputes: one open, one under review, one resolved with credit, so AR staff
find a queue at /staff/disputes. A hook of :mod:`portal.demo.hooks`.

They go through the same services as people (the credit memo through the ledger), on
customers other than the large one the acceptance tests use, and only when the demo
has no dispute yet (each ``portal demo`` runs every hook again).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.demo.hooks import DemoContext
from portal.disputes import files, services
from portal.disputes.models import CUSTOMER, VENDOR, Dispute
from portal.disputes.services import Author, Request
from portal.ledger.models import Customer, Invoice
from portal.vendor.services import get_vendor

COLLECTOR = "collections@northwind.example"

# (customer, opener, reason, what is wrong, what becomes of it)
CASES = (
    ("C-10117", "payables@ridgeline-shared.example", "pricing",
     "The unit price on this line is higher than on our purchase order.", "open"),
    ("C-10231", "ap@redwoodfoods.example", "not_received",
     "This line was never delivered; the packing slip does not list it.", "under_review"),
    ("C-20008", "comptes@mapleleafmining.example", "quantity",
     "None of the units on this line arrived. Please credit the line.", "resolved_credit"),
)


def demo_disputes(session: Session, context: DemoContext) -> Iterable[str]:
    """Open the demo's three disputes, the first time the demo runs."""
    if session.scalar(select(func.count()).select_from(Dispute)):
        return []
    vendor = get_vendor(session)
    storage = files.storage_for(current_app.config["PORTAL"])
    collector = session.scalars(select(User).where(User.email == COLLECTOR)).first()
    staff = Author(VENDOR, collector.name if collector else "Accounts receivable",
                   COLLECTOR, collector.id if collector else None)
    for number, email, reason, text, outcome in CASES:
        invoice = session.scalars(
            select(Invoice).join(Customer, Customer.id == Invoice.customer_id)
            .where(Customer.number == number, Invoice.status == "open",
                   Invoice.balance_minor == Invoice.total_minor, Invoice.reserved_minor == 0)
            .order_by(Invoice.due_date.desc(), Invoice.id).limit(1)).first()
        if invoice is None or not invoice.lines:
            continue
        user = session.scalars(select(User).where(User.email == email)).first()
        opener = Author(CUSTOMER, user.name if user else email, email, user.id if user else None)
        dispute = services.open_dispute(
            session, invoice_id=invoice.id, customer_id=invoice.customer_id,
            asked=Request(reason=reason, amount="", line_ids=[invoice.lines[0].id],
                          description=text),
            author=opener, vendor=vendor, storage=storage)
        if outcome == "under_review":
            services.start_review(session, dispute, staff)
            services.post_message(session, dispute, staff, "We are checking with the carrier "
                                  "and will come back to you within two business days.", [],
                                  storage)
        elif outcome == "resolved_credit":
            services.resolve_with_credit(
                session, dispute, credit_minor=dispute.amount_minor, by=staff, storage=storage,
                note="Confirmed with the warehouse: a credit memo for the missing units.")
    return []
