"""The customer's dispute pages: ``/disputes`` (the account's disputes), opening one
from an invoice (``/invoices/<number>/dispute``), its thread (``/disputes/<id>``)
with replies, withdrawal and attachment downloads.

Payers and admins open and answer disputes (permission ``dispute``); viewers read
them. Another account's dispute or attachment is a 404, like one that does not
exist. The rules are in :mod:`portal.disputes.services`; the helpers here that
read the form and serve a file are shared with the invoice link's pages and the
staff pages.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.accounts import access
from portal.accounts.access import principal, requires
from portal.core.request_db import uow
from portal.disputes import files, services
from portal.disputes.models import CUSTOMER, Dispute, DisputeAttachment
from portal.disputes.services import Author, DisputeError, Invalid, Request, Upload
from portal.i18n import money
from portal.invoices.access import invoice_or_404
from portal.vendor.services import get_vendor

bp = Blueprint("disputes", __name__)


# Shared with the link's and the staff's dispute pages ----------------------------------


def storage() -> files.Storage:
    return files.storage_for(current_app.config["PORTAL"])


def uploads() -> list[Upload]:
    """The files sent with the form (each read to one byte past the limit, at most)."""
    sent = []
    for item in request.files.getlist("files"):
        if not item or not item.filename:
            continue
        sent.append(Upload(item.filename, item.stream.read(files.MAX_BYTES + 1)))
    return sent


def asked() -> Request:
    """The dispute the form asks for."""
    form = request.form
    line_ids = [int(v) for v in form.getlist("line") if v.isdigit()]
    return Request(reason=form.get("reason", ""), amount=form.get("amount", ""),
                   line_ids=line_ids, description=form.get("description", ""),
                   uploads=uploads())


def locale() -> str:
    return str(get_locale() or "en")


def download(attachment: DisputeAttachment | None) -> Response:
    """Serve an attachment: always a download, with its checked type and ``nosniff``."""
    if attachment is None:
        abort(404)
    try:
        data = storage().read(attachment.storage_key)
    except (FileNotFoundError, ValueError):
        abort(404)
    response = Response(data, mimetype=attachment.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{attachment.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def form_page(template: str, invoice, *, errors: dict | None = None,
              error: str | None = None, status: int = 200, **context):
    """The "open a dispute" form for ``invoice``, with what was typed and what is wrong."""
    vendor = get_vendor(uow().session)
    chosen = {int(v) for v in request.form.getlist("line") if v.isdigit()}
    return render_template(template, invoice=invoice, reasons=vendor.dispute_reason_list(),
                           line_amount=services.line_amount, chosen=chosen,
                           form=request.form, errors=errors or {}, error=error,
                           max_files=files.MAX_FILES, **context), status


# The customer's pages ------------------------------------------------------------------


def _author() -> Author:
    who = principal()
    return Author(CUSTOMER, who.user.name, who.user.email, who.user.id)


def _dispute_or_404(dispute_id: int, *, lock: bool = False) -> Dispute:
    dispute = services.find(uow().session, dispute_id, customer_id=access.customer_id(),
                            lock=lock)
    if dispute is None:
        abort(404)
    return dispute


@bp.get("/disputes")
@requires("view")
def index():
    """The account's disputes, those in progress first."""
    session = uow().session
    return render_template("disputes/index.html",
                           disputes=services.of_customer(session, access.customer_id()),
                           vendor=get_vendor(session))


@bp.route("/invoices/<number>/dispute", methods=["GET", "POST"])
@requires("dispute")
def new(number: str):
    """Open a dispute on one invoice: lines, reason, amount, what is wrong, files."""
    unit = uow()
    invoice = invoice_or_404(unit.session, access.customer_id(), number)
    existing = services.in_force(unit.session, invoice.id)
    if existing is not None:
        flash(_("Invoice %(number)s already has a dispute in progress: write in its thread.",
                number=invoice.number), "info")
        return redirect(url_for("disputes.detail", dispute_id=existing.id), code=303)
    if request.method == "GET":
        return form_page("disputes/new.html", invoice)
    try:
        dispute = services.open_dispute(
            unit.session, invoice_id=invoice.id, customer_id=access.customer_id(),
            asked=asked(), author=_author(), vendor=get_vendor(unit.session),
            storage=storage(), locale=locale())
    except Invalid as invalid:
        unit.session.rollback()
        return form_page("disputes/new.html", invoice, errors=invalid.errors, status=422)
    except DisputeError as refusal:
        unit.session.rollback()
        return form_page("disputes/new.html", invoice, error=str(refusal), status=422)
    unit.commit()
    flash(_("Your dispute is open. %(amount)s of the invoice is on hold until it is "
            "resolved; we have told %(vendor)s.", amount=_money(dispute),
            vendor=get_vendor(unit.session).name), "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute.id), code=303)


def _money(dispute: Dispute) -> str:
    return money(dispute.amount_minor, dispute.currency)


def thread_page(template: str, dispute: Dispute, *, errors: dict | None = None,
                status: int = 200, **context):
    """A dispute's page: what is disputed, the thread, the reply form."""
    vendor = get_vendor(uow().session)
    return render_template(template, dispute=dispute, vendor=vendor,
                           reason_label=vendor.dispute_reason_label(dispute.reason),
                           events=services.events(uow().session, dispute.id),
                           form=request.form, errors=errors or {}, max_files=files.MAX_FILES,
                           **context), status


def _links(dispute: Dispute) -> dict:
    """Where the customer's thread page sends its forms and downloads."""
    return {
        "reply_action": url_for("disputes.reply", dispute_id=dispute.id),
        "withdraw_action": url_for("disputes.withdraw", dispute_id=dispute.id),
        "attachment_url": lambda a: url_for("disputes.attachment", dispute_id=dispute.id,
                                            attachment_id=a.id)}


@bp.get("/disputes/<int:dispute_id>")
@requires("view")
def detail(dispute_id: int):
    dispute = _dispute_or_404(dispute_id)
    return thread_page("disputes/detail.html", dispute, **_links(dispute),
                       can_write=principal().can("dispute") and dispute.in_force)


@bp.post("/disputes/<int:dispute_id>/messages")
@requires("dispute")
def reply(dispute_id: int):
    unit = uow()
    dispute = _dispute_or_404(dispute_id, lock=True)
    try:
        services.post_message(unit.session, dispute, _author(), request.form.get("body", ""),
                              uploads(), storage())
    except Invalid as invalid:
        unit.session.rollback()
        dispute = _dispute_or_404(dispute_id)
        return thread_page("disputes/detail.html", dispute, errors=invalid.errors,
                           can_write=True, status=422, **_links(dispute))
    except DisputeError as refusal:
        unit.session.rollback()
        flash(str(refusal), "error")
        return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)
    unit.commit()
    flash(_("Your message was sent."), "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)


@bp.post("/disputes/<int:dispute_id>/withdraw")
@requires("dispute")
def withdraw(dispute_id: int):
    unit = uow()
    dispute = _dispute_or_404(dispute_id, lock=True)
    try:
        services.withdraw(unit.session, dispute, _author())
    except DisputeError as refusal:
        unit.session.rollback()
        flash(str(refusal), "error")
        return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)
    unit.commit()
    flash(_("The dispute is withdrawn: the invoice is due in full again."), "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)


@bp.get("/disputes/<int:dispute_id>/attachments/<int:attachment_id>")
@requires("view")
def attachment(dispute_id: int, attachment_id: int):
    dispute = _dispute_or_404(dispute_id)
    return download(services.attachment(uow().session, dispute, attachment_id))
