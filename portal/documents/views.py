"""PDF downloads for the signed-in customer: one invoice, several merged, the statement.

Every invoice is reached through :func:`portal.invoices.access.invoice_or_404`,
so another customer's invoice (or an unknown number) is a 404 — for a merged
download, a 404 for the whole request, never a document with some invoices
left out. Any role with ``view`` may download.

Each view reads what the document shows, ends the request's database
transaction, and only then lays out the pages: on SQLite every transaction
holds the write lock (``BEGIN IMMEDIATE``), and laying out a hundred invoices
takes seconds that payments should not wait for.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.accounts.access import customer_id, requires
from portal.core.request_db import uow
from portal.documents import queries, render
from portal.documents.content import Letterhead
from portal.invoices import selection
from portal.invoices.access import invoice_or_404
from portal.vendor.models import Vendor
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("documents", __name__)

# Most invoices one merged download may hold.
MAX_MERGED = 100


@bp.get("/invoices/<number>.pdf")
@requires("view")
def invoice_pdf(number: str) -> Response:
    """Download one of the customer's invoices as a PDF."""
    session = uow().session
    invoice = invoice_or_404(session, customer_id(), number)
    vendor = get_vendor(session)
    [content] = queries.invoice_contents(session, [invoice], vendor=vendor,
                                         today=local_today(vendor), base_url=_base_url())
    letterhead, paper = _end_reading(session, vendor)
    return _pdf(render.render_invoice(content, letterhead, paper=paper),
                f"invoice-{content.number}.pdf")


@bp.get("/invoices/documents.pdf")
@requires("view")
def invoices_pdf() -> Response:
    """Download several of the customer's invoices as one PDF.

    Which ones: ``?numbers=A,B,C`` or ``?invoice=A&invoice=B`` (the list's
    selection), or ``?selection=all&matching=<filter token>&exclude=C`` ("every
    invoice matching the filter", as the list's selection bar sends it).
    """
    session = uow().session
    account = customer_id()
    vendor = get_vendor(session)
    today = local_today(vendor)
    selected = selection.selected_numbers(session, account, request.args, today,
                                          limit=MAX_MERGED + 1)
    listed = [] if selection.selects_all(request.args) else request.args.getlist("numbers")
    numbers = _numbers(listed + selected)
    invoices = [invoice_or_404(session, account, number) for number in numbers]
    contents = queries.invoice_contents(session, invoices, vendor=vendor, today=today,
                                        base_url=_base_url())
    letterhead, paper = _end_reading(session, vendor)
    return _pdf(render.render_invoices(contents, letterhead, paper=paper),
                f"invoices-{contents[0].bill_to.number}-{today.isoformat()}.pdf")


@bp.get("/statement.pdf")
@requires("view")
def statement_pdf() -> Response:
    """Download the customer's statement of account as of today (vendor's time zone)."""
    session = uow().session
    vendor = get_vendor(session)
    content = queries.statement_content(session, customer_id(), vendor=vendor,
                                        today=local_today(vendor), base_url=_base_url())
    letterhead, paper = _end_reading(session, vendor)
    return _pdf(render.render_statement(content, letterhead, paper=paper),
                f"statement-{content.bill_to.number}-{content.statement_date.isoformat()}.pdf")


def _numbers(values: list[str]) -> list[str]:
    """Return the distinct numbers of ``?numbers=A,B,C`` in order; 400 if none or too many."""
    numbers = list(dict.fromkeys(number.strip() for value in values
                                 for number in value.split(",") if number.strip()))
    if not numbers:
        abort(400, description=_("Choose at least one invoice."))
    if len(numbers) > MAX_MERGED:
        abort(400, description=_("Choose at most %(count)d invoices at a time.",
                                 count=MAX_MERGED))
    return numbers


def _base_url() -> str:
    return current_app.config["PORTAL"].base_url


def _end_reading(session: Session, vendor: Vendor) -> tuple[Letterhead, str]:
    """Return the letterhead and paper size, then end the read transaction (see above)."""
    branding = Letterhead.of(vendor), render.paper_size(vendor)
    get_locale()  # read from the signed-in user: settle it while the session is open
    session.rollback()
    return branding


def _pdf(data: bytes, filename: str) -> Response:
    """Return ``data`` as a PDF download named ``filename``, never stored by caches."""
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=filename, conditional=False, etag=False)
    response.headers["Cache-Control"] = "no-store"
    return response
