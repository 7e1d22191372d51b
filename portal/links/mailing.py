"""E-mailing a new invoice link: one function shared by ``portal link create`` and the
staff page, so both send the same message, and only after the link is committed."""

from __future__ import annotations

import datetime as dt

from portal.db import UnitOfWork
from portal.links.models import InvoiceLink
from portal.notifications import mail


def send_after_commit(unit: UnitOfWork, link: InvoiceLink, address: str,
                      expires_on: dt.date) -> None:
    """E-mail ``address`` (the link's URL) to ``link.sent_to`` once ``unit`` commits.

    The context is read now, while the session is open; the message is queued by
    the after-commit callback, so a rolled-back link is never sent.
    """
    if not link.sent_to:
        return
    invoice = link.invoice
    context = {"invoice_number": invoice.number, "amount_minor": invoice.balance_minor,
               "currency": invoice.currency, "due_date": invoice.due_date,
               "link": address, "expires_on": expires_on}
    to = link.sent_to
    unit.after_commit(lambda: mail.send("invoice_link", to, **context))
