"""``/staff/links``: a customer's live invoice links, creating and revoking them, and
what was done through them (the ``link.*`` audit events), for AR staff.

A new link's URL is shown once, in the response to the POST that made it: only its
hash is stored, and it is never put in a redirect, a flash message or a cookie.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.access import principal, staff_required
from portal.accounts.views import origin
from portal.core.request_db import uow
from portal.ledger.models import Customer, Invoice
from portal.links import mailing, services
from portal.links.models import InvoiceLink
from portal.staff import queries
from portal.staff.forms import CreateLinkForm, RevokeLinkForm
from portal.vendor.services import get_vendor

# Nested in the staff blueprint (portal.staff.views): endpoints are "staff.links.*".
bp = Blueprint("links", __name__, url_prefix="/links")


def _page(customer_number: str, customer: Customer | None, form: CreateLinkForm,
          new_link: dict | None = None, status: int = 200):
    """Render the page for ``customer`` (None: only the customer picker)."""
    session = uow().session
    links = services.live_links(session, customer.id) if customer else []
    events = queries.link_events(session, customer.id) if customer else {}
    zone = get_vendor(session).zone
    response = make_response(render_template(
        "staff/links.html", who=principal(), number=customer_number, customer=customer,
        links=links, events=events, form=form, revoke_form=RevokeLinkForm(),
        new_link=new_link, zone=zone, last_day=services.last_day), status)
    if new_link:
        response.headers["Cache-Control"] = "no-store"  # the URL must not be kept anywhere
    return response


@bp.get("")
@staff_required("manage_links")
def index():
    number = request.args.get("customer", "").strip()[:50]
    customer = queries.customer_by_number(uow().session, number) if number else None
    if number and customer is None:
        flash(_("There is no customer with number %(number)s.", number=number), "error")
    return _page(number, customer, CreateLinkForm(customer=number))


@bp.post("/create")
@staff_required("manage_links")
def create():
    form = CreateLinkForm()
    number = (form.customer.data or "").strip()
    unit = uow()
    customer = queries.customer_by_number(unit.session, number) if number else None
    if customer is None:
        abort(404)
    if not form.validate():
        return _page(number, customer, form, status=400)
    invoice_number = form.invoice.data.strip()
    invoice = unit.session.scalar(select(Invoice).where(Invoice.number == invoice_number,
                                                        Invoice.customer_id == customer.id))
    if invoice is None:
        # Unknown and another customer's invoice get one answer: this customer has none.
        form.invoice.errors = [_("Customer %(customer)s has no invoice %(invoice)s.",
                                 customer=customer.number, invoice=invoice_number)]
        return _page(number, customer, form, status=400)
    try:
        link, token = services.create(unit.session, invoice, expires_days=form.days.data,
                                      email=form.email.data or None,
                                      created_by=principal().user.email, origin=origin())
    except services.LinkError as exc:  # the form checks the same limits; a safety net
        form.invoice.errors = [str(exc)]
        return _page(number, customer, form, status=400)
    address = services.url(current_app.config["PORTAL"].base_url, token)
    expires_on = services.last_day(link, get_vendor(unit.session).zone)
    mailing.send_after_commit(unit, link, address, expires_on)
    unit.commit()
    new_link = {"url": address, "invoice": invoice.number, "expires_on": expires_on,
                "sent_to": link.sent_to}
    # A blank form for the next link (formdata=None: not this request's fields).
    blank = CreateLinkForm(formdata=None, customer=number)
    return _page(number, customer, blank, new_link=new_link)


@bp.post("/<int:link_id>/revoke")
@staff_required("manage_links")
def revoke(link_id: int):
    unit = uow()
    link = unit.session.get(InvoiceLink, link_id)
    if link is None or not RevokeLinkForm().validate():
        abort(404 if link is None else 400)
    number = link.invoice.customer.number
    already = link.revoked_at is not None
    services.revoke(unit.session, link_id, by=principal().user.email, origin=origin())
    unit.commit()
    if already:
        flash(_("The link to invoice %(invoice)s was already revoked.",
                invoice=link.invoice.number), "info")
    else:
        flash(_("The link to invoice %(invoice)s is revoked: it no longer opens the invoice.",
                invoice=link.invoice.number), "success")
    return redirect(url_for("staff.links.index", customer=number))
