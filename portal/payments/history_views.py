"""The payment history's pages: the list (``/payments``), its CSV, one payment, its receipt.

Every route asks :mod:`portal.accounts.access` for the signed-in user's current
account and reaches a payment only through
:func:`portal.payments.history.payment_or_404`, so another customer's payment
(or an unknown id) is a 404. Any role with ``view`` may see payments and
download receipts. Dates are days in the vendor's time zone, like the invoice
pages'.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format
from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask_babel import get_locale

from portal.accounts import access
from portal.accounts.access import requires
from portal.core.request_db import database, uow
from portal.documents import render
from portal.documents.content import Letterhead
from portal.ledger.models import Customer
from portal.payments import credit_plan, history, history_export, receipts
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("payments", __name__)

# Card networks as Stripe names them, and as people do.
CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
               "discover": "Discover", "diners": "Diners Club", "jcb": "JCB",
               "unionpay": "UnionPay", "cartes_bancaires": "Cartes Bancaires"}


@bp.app_template_filter("card_brand")
def card_brand(code: str | None) -> str:
    """Name a card network (``visa`` -> ``Visa``); unknown codes are shown as they are."""
    return CARD_BRANDS.get((code or "").lower(), (code or "").title())


@bp.app_template_filter("datetime_in")
def datetime_in(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    """Format a moment as a date and time in ``zone`` for the current locale."""
    if moment is None:
        return ""
    locale = str(get_locale() or "en")
    local = moment.astimezone(zone)
    # The locale's own way of joining a date and a time; the time to the minute.
    return get_datetime_format("medium", locale=locale).replace(
        "{1}", format_date(local.date(), "medium", locale=locale)).replace(
        "{0}", format_time(local, "short", tzinfo=zone, locale=locale))


@bp.get("/payments")
@requires("view")
def index():
    customer_id = access.customer_id()
    session = uow().session
    params, errors = history.parse_list(request.args)
    vendor = get_vendor(session)
    return render_template(
        "payments/index.html", params=params, errors=errors, zone=vendor.zone,
        customer=session.get(Customer, customer_id),
        page=history.payment_page(session, customer_id, params, vendor.zone))


@bp.get("/payments.csv")
@requires("view")
def export_csv():
    customer_id = access.customer_id()
    params, _errors = history.parse_list(request.args)
    vendor = get_vendor(uow().session)
    zone, today = vendor.zone, local_today(vendor)
    # End this request's transaction now: rows are read in short batches while the
    # download streams (see portal.payments.history_export).
    uow().session.rollback()
    lines = history_export.csv_lines(database(), customer_id, params.filter, zone)
    return Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="payments-{today.isoformat()}.csv"'})


@bp.get("/payments/<int:payment_id>")
@requires("view")
def detail(payment_id: int):
    session = uow().session
    payment = history.payment_or_404(session, access.customer_id(), payment_id)
    vendor = get_vendor(session)
    return render_template(
        "payments/detail.html", payment=payment, row=history.listed(session, payment),
        zone=vendor.zone,
        failure=history.failure_words(payment.failure_code, payment.failure_message),
        has_receipt=receipts.has_receipt(payment),
        credit_used=credit_plan.applied_with(session, payment.id),
        # A failed payment's invoices still open, for "Pay these invoices again".
        retry_numbers=[r.invoice.number for r in payment.reservations
                       if r.invoice.status == "open"] if payment.status in (
                           "failed", "canceled") else [])


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@requires("view")
def receipt_pdf(payment_id: int) -> Response:
    """Download the receipt (remittance advice) of a settled payment."""
    session = uow().session
    return receipt_response(session,
                            history.payment_or_404(session, access.customer_id(), payment_id))


def receipt_response(session, payment, *, before_layout=None) -> Response:
    """The receipt PDF of ``payment`` as a download (404 before it settled).

    The pages are laid out after the request's transaction ends (see
    portal.documents.views); ``before_layout()``, if given, runs in between (its own
    writes, e.g. an audit event).
    """
    if not receipts.has_receipt(payment):
        abort(404)
    vendor = get_vendor(session)
    content = receipts.receipt_content(session, payment, vendor,
                                       current_app.config["PORTAL"].base_url)
    letterhead, paper = Letterhead.of(vendor), render.paper_size(vendor)
    get_locale()  # read from the signed-in user: settle it while the session is open
    session.rollback()
    if before_layout is not None:
        before_layout()
    response = send_file(io.BytesIO(receipts.render_pdf(content, letterhead, paper=paper)),
                         mimetype="application/pdf", as_attachment=True,
                         download_name=receipts.filename(content), conditional=False,
                         etag=False)
    response.headers["Cache-Control"] = "no-store"
    return response
