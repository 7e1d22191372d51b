"""The invoice center's pages: the list (``/invoices``), its CSV and one invoice.

Every route asks :mod:`portal.accounts.access` who is signed in and reads only
that customer's invoices (another customer's number is a 404). "Today" is the
vendor's date (:func:`portal.vendor.services.local_today`): overdue, due soon,
aging and discount deadlines are counted in the vendor's time zone.

The checkout (``/pay``) comes later: the pages post the selected invoice
numbers there — or, for "every invoice matching this filter", the filter's
token (:meth:`portal.invoices.forms.InvoiceFilter.token`) and the numbers left
out — and the server will compute every amount itself.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote

from babel.numbers import format_decimal
from flask import Blueprint, Response, after_this_request, render_template, request, url_for
from flask_babel import get_locale
from werkzeug.routing import BuildError

from portal import tasks
from portal.accounts import access
from portal.accounts.access import principal, requires
from portal.core.request_db import close_request_uow, database, uow
from portal.disputes import services as disputes
from portal.documents.views import MAX_MERGED
from portal.invoices import export, forms, history, open_totals, queries, services
from portal.invoices.access import invoice_or_404
from portal.ledger.models import Customer
from portal.plans.queries import plans_of
from portal.vendor.models import Vendor
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("invoices", __name__)

# Routes of features still to come; their links appear once they exist.
DISPUTE_ENDPOINT = "disputes.new"
PLAN_ENDPOINT = "plans.new"
PAY_PATH = "/pay"


def _vendor_and_today() -> tuple[Vendor, dt.date]:
    vendor = get_vendor(uow().session)
    return vendor, local_today(vendor)


def _locale() -> str:
    return str(get_locale() or "en")


def _optional_url(endpoint: str, **values: object) -> str | None:
    """Return the URL of ``endpoint``, or None while no such route exists."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.app_template_filter("quantity")
def quantity(value: Decimal) -> str:
    """Format a line quantity for the current locale, with no trailing zeros."""
    return format_decimal(value.normalize(), locale=_locale(), decimal_quantization=False)


@bp.get("/invoices")
@requires("view")
def index():
    customer_id = access.customer_id()
    session = uow().session
    params, errors = forms.parse_list(request.args, _locale())
    vendor, today = _vendor_and_today()
    currencies = queries.customer_currencies(session, customer_id)
    who = principal()
    # One pass over the open invoices gives the summary and, for the tabs, what matches.
    summary = queries.summary(session, customer_id, today, currencies)
    if summary.pending_deltas > open_totals.COMPACT_AFTER:
        _compact_after_response(customer_id)
    return render_template(
        "invoices/index.html", params=params, errors=errors, today=today, statuses=forms.STATUSES,
        customer=session.get(Customer, customer_id), currencies=currencies,
        page=queries.invoice_page(session, customer_id, params, today, vendor, currencies),
        summary=summary,
        matching=_matching(summary, params.filter, customer_id, today, currencies),
        can_pay=who.can("pay"), pay_url=request.script_root + PAY_PATH,
        can_plan=who.can("plan"),
        max_merged=MAX_MERGED,
        storage_key=f"portal.invoices.{who.user.id}.{customer_id}")


def _compact_after_response(customer_id: int) -> None:
    """Fold the customer's open-invoice deltas once this page is sent (it read them all)."""
    @after_this_request
    def _compact(response: Response) -> Response:
        close_request_uow()  # on SQLite the fold needs the write lock: end this read first
        tasks.enqueue("invoices.compact_open_totals", customer_id=customer_id)
        return response


def _matching(summary: queries.Summary, f: forms.InvoiceFilter, customer_id: int,
              today: dt.date, currencies: list[str]) -> queries.Matching:
    """What matches ``f``: from the summary's groups when it can tell, else counted."""
    found = summary.matching(f)
    if found is None:
        found = queries.matching(uow().session, customer_id, f, today, currencies)
    return found


@bp.get("/invoices.csv")
@requires("view")
def export_csv():
    customer_id = access.customer_id()
    params, _errors = forms.parse_list(request.args, _locale())
    _vendor, today = _vendor_and_today()
    currencies = queries.customer_currencies(uow().session, customer_id)
    # End this request's transaction now: the rows are read in short batches
    # while the download streams (see portal.invoices.export).
    uow().session.rollback()
    lines = export.csv_lines(database(), customer_id, params.filter, params.sort, today,
                             currencies)
    return Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="invoices-{today.isoformat()}.csv"'})


@bp.get("/invoices/<number>")
@requires("view")
def detail(number: str):
    customer_id = access.customer_id()
    session = uow().session
    invoice = invoice_or_404(session, customer_id, number)
    vendor, today = _vendor_and_today()
    who = principal()
    dispute = disputes.in_force(session, invoice.id)
    state = services.invoice_state(invoice, today, dispute.amount_minor if dispute else 0,
                                   plans_of(session, [invoice.id]).get(invoice.id))
    return render_template(
        "invoices/detail.html", invoice=invoice, state=state, today=today, dispute=dispute,
        offer=services.discount_offer(invoice, vendor, today),
        terms=services.terms_in_words(invoice.net_days, invoice.discount_percent,
                                      invoice.discount_days, _locale()),
        applied=history.applied_to(session, invoice, vendor.zone),
        in_progress=history.in_progress(session, invoice, vendor.zone),
        can_pay=who.can("pay") and invoice.available_minor > 0,
        pay_url=request.script_root + PAY_PATH,
        dispute_url=(_optional_url(DISPUTE_ENDPOINT, number=invoice.number)
                     if who.can("dispute") and state.is_open and dispute is None else None),
        plan_url=(_optional_url(PLAN_ENDPOINT, invoice=invoice.number)
                  if who.can("plan") and state.is_open and state.plan is None else None),
        # The PDF is served by portal.documents; linked by its path, not its endpoint.
        pdf_url=f"{request.script_root}/invoices/{quote(invoice.number, safe='')}.pdf")
