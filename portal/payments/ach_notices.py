"""Telling the payer, in plain words, that a bank debit failed or was returned, and what to do.

An ACH debit is "processing" for days; when the bank then refuses it (a failure:
nothing was taken) or takes it back after it succeeded (a return: the payment is
reversed and the invoices are open again), the payer who started it may have
moved on. Settlement queues :func:`notify` in the transaction that records the
outcome (:mod:`portal.core.after_commit`: sent only once it commits); the e-mail
goes to the payer (as the receipt does), in their language, with the bank's
reason in words (:data:`portal.payments.history.FAILURE_WORDS`, by NACHA return
code) and the way to pay again. The vendor hears of returns from the webhook
handler (the ``chargeback`` e-mail).

Stripe's ACH failure and dispute codes become NACHA return codes
(:data:`RETURN_CODES`): the payment's ``failure_code`` keeps the return code,
which is what the ERP and the bank use.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale

from portal import tasks
from portal.core import after_commit
from portal.core.request_db import database
from portal.ledger.models import Payment
from portal.notifications import mail
from portal.payments import history
from portal.payments.receipts import recipient
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.payments.ach_notices")

FAILED = "failed"
RETURNED = "returned"

# https://docs.stripe.com/payments/ach-direct-debit#failed-payments and NACHA's return codes.
RETURN_CODES = {
    "insufficient_funds": "R01",
    "account_closed": "R02",
    "no_account": "R03",
    "invalid_account_number": "R04",
    "incorrect_account_details": "R03",
    "debit_not_authorized": "R10",
    "bank_account_restricted": "R16",
    "bank_cannot_process": "R17",
}


def return_code(stripe_code: str | None) -> str | None:
    """The NACHA return code for Stripe's code, or Stripe's code itself if none is known."""
    return RETURN_CODES.get(stripe_code or "", stripe_code)


def notify(session, payment_id: int, kind: str) -> None:
    """Queue the payer's e-mail about ``kind`` (failed, returned), sent once this commits."""
    after_commit.enqueue(session, "send_ach_notice", payment_id=payment_id, kind=kind)


@tasks.task("send_ach_notice")
def _send(payment_id: int, kind: str) -> None:
    with database().session() as session:
        payment = session.get(Payment, payment_id)
        to = recipient(session, payment) if payment is not None else None
        if to is None:
            log.info("no ACH notice sent for payment %s: no address", payment_id)
            return
        vendor = get_vendor(session)
        base_url = current_app.config["PORTAL"].base_url.rstrip("/")
        with force_locale(to.locale):
            reason = history.failure_words(payment.failure_code, payment.failure_message)
        context = dict(
            kind=kind, payment_id=payment.id, vendor=vendor.name,
            amount_minor=payment.amount_minor, currency=payment.currency, reason=reason or "",
            invoices=[a.invoice.number for a in (payment.allocations or payment.reservations)],
            payment_url=f"{base_url}/payments/{payment.id}", invoices_url=f"{base_url}/invoices",
            support=vendor.support_email or vendor.support_phone or "")
    # Rendered once this session is closed: on SQLite its lock would hold up the
    # templates' own reads (the vendor, through the request's unit of work).
    mail.deliver(mail.render("ach_notice", to.email, to.locale, **context))
