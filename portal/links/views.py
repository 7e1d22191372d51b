"""The pages a link opens: ``/i/<token>`` (landing), ``/i/invoice`` and ``/i/invoice.pdf``.

Mail scanners open every link in a message, so a GET (or HEAD) of ``/i/<token>``
only shows a landing page: it consumes nothing, writes nothing, grants nothing
and sets no cookie. Its "View invoice" button POSTs back to the same address;
that POST starts the browser's grant (:mod:`portal.links.access`), records the
view, and redirects to ``/i/invoice`` — a path without the token, so the token
does not linger in the address bar, history or later requests' logs.

Every unknown, malformed, expired or revoked token gets the same page with the
same 404. Link pages send ``Referrer-Policy: no-referrer`` (the token must not
leak to other sites through the Referer header), ``Cache-Control: no-store``
and ``X-Robots-Tag: noindex``. Every route here is rate-limited per IP.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.accounts.audit import Origin
from portal.core.request_db import uow, write_uow
from portal.core.security import csrf, limiter
from portal.disputes import services as disputes
from portal.documents import queries as documents
from portal.documents import render
from portal.documents.content import Letterhead
from portal.invoices import history
from portal.invoices import services as invoices
from portal.links import access, mailing, services
from portal.links import fresh as fresh_links
from portal.links.models import InvoiceLink
from portal.plans.queries import plans_of
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("links", __name__)

# Per IP. The token routes share one budget (GET and POST), so guessing is hopeless;
# the granted pages share another (a payer reloading, downloading the PDF).
TOKEN_LIMIT = "30 per minute"
PAGE_LIMIT = "60 per minute"
token_limit = limiter.shared_limit(TOKEN_LIMIT, scope="links-token")
# "Send me a fresh link": per IP, and per (old) link whoever asks.
FRESH_LIMIT = "5 per hour"
FRESH_PER_LINK = "3 per hour"
fresh_limit = limiter.shared_limit(FRESH_LIMIT, scope="links-fresh")
page_limit = limiter.shared_limit(PAGE_LIMIT, scope="links-page")


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


def _not_valid(ended: bool = False, token: str | None = None):
    """The one answer for every link that does not work (and for an ended grant).

    With the ``token`` asked for, it offers "send me a fresh link" (:mod:`.fresh`),
    whether or not the token was ever one of ours: the page must not tell.
    """
    return render_template("links/invalid.html", ended=ended, token=token,
                           form_token=access.form_token(token) if token else None), 404


@bp.get("/i/<token>")
@token_limit
def landing(token: str):
    """Show what the link is for, and a button that opens it (a GET changes nothing)."""
    link = services.find(uow().session, token)
    if link is None:
        return _not_valid(token=token)
    invoice = link.invoice
    vendor = get_vendor(uow().session)
    return render_template("links/landing.html", invoice=invoice, token=token,
                           form_token=access.form_token(token),
                           state=invoices.invoice_state(invoice, local_today(vendor)))


@bp.post("/i/<token>")
@token_limit
def start(token: str):
    """Open the link: grant this browser its invoice for a while, record it, redirect."""
    unit = uow()
    link = services.find(unit.session, token)
    if link is None:
        return _not_valid(token=token)
    # A form posted from another site: browsers say so (Fetch Metadata).
    cross_site = request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none")
    if cross_site or not access.form_token_ok(token, request.form.get("csrf_token")):
        abort(400, description=_("The form has expired. Open the link again."))
    services.record_view(unit.session, link, origin=_origin())
    unit.commit()
    access.start_grant(link)
    return redirect(url_for("links.invoice"), code=303)


@bp.post("/i/<token>/fresh")
@token_limit
@fresh_limit
@limiter.limit(FRESH_PER_LINK, key_func=lambda: services.token_hash(
    request.view_args.get("token", "")))
def fresh(token: str):
    """Send a fresh link to the address typed, if it may have one; the same answer always."""
    if not access.form_token_ok(token, request.form.get("csrf_token")):
        return _not_valid(token=token)  # not our form: the dead-link page, with a fresh one
    email = request.form.get("email", "").strip()
    if "@" not in email or len(email) > 254:
        return render_template("links/invalid.html", ended=False, token=token,
                               form_token=access.form_token(token), typed=email,
                               email_error=_("Enter your e-mail address, such as "
                                             "name@example.com.")), 422
    unit = uow()
    made = fresh_links.request_fresh(unit.session, token, email, origin=_origin())
    if made is not None:
        link, new_token = made
        mailing.send_after_commit(
            unit, link, services.url(current_app.config["PORTAL"].base_url, new_token),
            services.last_day(link, get_vendor(unit.session).zone))
    unit.commit()
    return render_template("links/fresh_sent.html")


# Flask-WTF keeps its token in the session, which a GET must not create (see
# access.form_token): these forms carry a token of their own, checked above.
csrf.exempt(start)
csrf.exempt(fresh)


def granted() -> InvoiceLink | None:
    """The live link this browser's grant names, or None (the link pages' one way in)."""
    return access.granted_link(uow().session)


@bp.get("/i/invoice")
@page_limit
def invoice():
    """Show the granted invoice, without the signed-in pages' actions and navigation."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    session = uow().session
    invoice = link.invoice
    vendor = get_vendor(session)
    today = local_today(vendor)
    in_force = disputes.in_force(session, invoice.id)
    return render_template(
        "links/invoice.html", invoice=invoice, today=today,
        state=invoices.invoice_state(invoice, today, in_force.amount_minor if in_force else 0,
                                     plans_of(session, [invoice.id]).get(invoice.id)),
        can_dispute=invoice.status == "open" and invoice.balance_minor > 0 and not in_force,
        link_disputes=services.disputes_through_links(session, invoice.id),
        offer=invoices.discount_offer(invoice, vendor, today),
        terms=invoices.terms_in_words(invoice.net_days, invoice.discount_percent,
                                      invoice.discount_days, str(get_locale() or "en")),
        applied=history.applied_to(session, invoice, vendor.zone),
        in_progress=history.in_progress(session, invoice, vendor.zone),
        payable=invoice.status == "open" and invoice.available_minor > 0,
        link_payments=services.payments_through_links(session, invoice.id), zone=vendor.zone)


@bp.get("/i/invoice.pdf")
@page_limit
def invoice_pdf():
    """Download the granted invoice's PDF (the same document signed-in users get)."""
    session = uow().session
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    vendor = get_vendor(session)
    [content] = documents.invoice_contents(
        session, [link.invoice], vendor=vendor, today=local_today(vendor),
        base_url=current_app.config["PORTAL"].base_url)
    letterhead, paper = Letterhead.of(vendor), render.paper_size(vendor)
    link_id = link.id
    get_locale()  # settle the language while the session is open
    session.rollback()  # end the read before laying out pages (portal.documents.views)
    with write_uow() as writer:  # a GET's own unit of work cannot write
        services.record_use(writer.session, writer.session.get(InvoiceLink, link_id),
                            "link.pdf_downloaded", origin=_origin())
        writer.commit()
    data = render.render_invoice(content, letterhead, paper=paper)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"invoice-{content.number}.pdf", conditional=False, etag=False)
