"""Disputing through a link: ``/i/dispute`` and the thread of a dispute opened through a
link to the granted invoice (``/i/disputes/<id>``), with replies, withdrawal and files.

The same services and form as signed-in users (:mod:`portal.disputes`); the person
gives a name and e-mail (the vendor's answers go there), remembered in this
browser's session for the replies. A link reaches only the disputes opened through
links to its own invoice; any other is a 404. Opening, writing and withdrawing are
recorded as ``link.*`` audit events with IP and browser, like views and payments.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import abort, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.core.request_db import uow
from portal.disputes import services
from portal.disputes.models import CUSTOMER, Dispute
from portal.disputes.services import Author, DisputeError, Invalid
from portal.disputes.views import asked, download, form_page, locale, storage, thread_page
from portal.disputes.views import uploads as sent_files
from portal.links import services as links
from portal.links.models import InvoiceLink
from portal.links.views import _not_valid, _origin, bp, granted, page_limit
from portal.vendor.services import get_vendor

CONTACT_KEY = "invoice_link_contact"  # the name and e-mail typed, for the next form


def _contact(errors: dict[str, str]) -> Author | None:
    """Who writes, from the form's name and e-mail fields; problems go in ``errors``."""
    name = request.form.get("contact_name", "").strip()
    email = request.form.get("contact_email", "").strip()
    if not name or len(name) > 120:
        errors["contact_name"] = _("Enter your name.")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["contact_email"] = _("Enter your e-mail address, such as name@example.com.")
    if errors.get("contact_name") or errors.get("contact_email"):
        return None
    session[CONTACT_KEY] = {"name": name, "email": email}
    return Author(CUSTOMER, name, email)


def _typed_contact() -> dict:
    remembered = session.get(CONTACT_KEY)
    return remembered if isinstance(remembered, dict) else {}


def _form(link: InvoiceLink, **kwargs):
    return form_page("links/dispute_new.html", link.invoice, contact=_typed_contact(),
                     with_contact=True, with_language_switch=True, **kwargs)


@bp.route("/i/dispute", methods=["GET", "POST"])
@page_limit
def dispute_new():
    """Open a dispute on the granted invoice."""
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    unit = uow()
    existing = services.in_force(unit.session, link.invoice_id)
    if existing is not None and _reachable(link, existing.id) is not None:
        return redirect(url_for("links.dispute", dispute_id=existing.id), code=303)
    if request.method == "GET":
        return _form(link)
    errors: dict[str, str] = {}
    author = _contact(errors)
    try:
        if author is None:
            raise Invalid(errors)
        dispute = services.open_dispute(
            unit.session, invoice_id=link.invoice_id, customer_id=link.invoice.customer_id,
            asked=asked(), author=author, vendor=get_vendor(unit.session), storage=storage(),
            locale=locale(), link_id=link.id)
    except Invalid as invalid:
        unit.session.rollback()
        return _form(link, errors={**errors, **invalid.errors}, status=422)
    except DisputeError as refusal:
        unit.session.rollback()
        return _form(link, error=str(refusal), status=422)
    links.record_use(unit.session, link, "link.dispute_opened", origin=_origin(),
                     dispute_id=dispute.id)
    unit.commit()
    return redirect(url_for("links.dispute", dispute_id=dispute.id, opened=1), code=303)


def _reachable(link: InvoiceLink, dispute_id: int, *, lock: bool = False) -> Dispute | None:
    """The dispute, if it was opened through a link to the granted invoice."""
    query = (select(Dispute).join(InvoiceLink, InvoiceLink.id == Dispute.link_id)
             .where(Dispute.id == dispute_id, InvoiceLink.invoice_id == link.invoice_id))
    return uow().session.scalars(query.with_for_update() if lock else query).one_or_none()


def _reachable_or_404(link: InvoiceLink, dispute_id: int, *, lock: bool = False) -> Dispute:
    found = _reachable(link, dispute_id, lock=lock)
    if found is None:
        abort(404)
    return found


def _thread(link: InvoiceLink, dispute: Dispute, **kwargs):
    return thread_page(
        "links/dispute.html", dispute, invoice=link.invoice, can_write=dispute.in_force,
        with_contact=True, contact=_typed_contact(), with_language_switch=True,
        reply_action=url_for("links.dispute_reply", dispute_id=dispute.id),
        withdraw_action=url_for("links.dispute_withdraw", dispute_id=dispute.id),
        attachment_url=lambda a: url_for("links.dispute_attachment", dispute_id=dispute.id,
                                         attachment_id=a.id), **kwargs)


@bp.get("/i/disputes/<int:dispute_id>")
@page_limit
def dispute(dispute_id: int):
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    found = _reachable_or_404(link, dispute_id)
    return _thread(link, found, opened=request.args.get("opened") == "1")


@bp.post("/i/disputes/<int:dispute_id>/messages")
@page_limit
def dispute_reply(dispute_id: int):
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    unit = uow()
    found = _reachable_or_404(link, dispute_id, lock=True)
    errors: dict[str, str] = {}
    author = _contact(errors)
    try:
        if author is None:
            raise Invalid(errors)
        services.post_message(unit.session, found, author, request.form.get("body", ""),
                              sent_files(), storage())
    except Invalid as invalid:
        unit.session.rollback()
        return _thread(link, _reachable(link, dispute_id), errors={**errors, **invalid.errors},
                       status=422)
    except DisputeError as refusal:
        unit.session.rollback()
        return _thread(link, _reachable(link, dispute_id), notice=str(refusal), status=422)
    links.record_use(unit.session, link, "link.dispute_message", origin=_origin(),
                     dispute_id=dispute_id)
    unit.commit()
    return redirect(url_for("links.dispute", dispute_id=dispute_id), code=303)


@bp.post("/i/disputes/<int:dispute_id>/withdraw")
@page_limit
def dispute_withdraw(dispute_id: int):
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    unit = uow()
    found = _reachable_or_404(link, dispute_id, lock=True)
    contact = _typed_contact()
    author = Author(CUSTOMER, contact.get("name") or found.opened_by_name,
                    contact.get("email") or found.opened_by_email)
    try:
        services.withdraw(unit.session, found, author)
    except DisputeError as refusal:
        unit.session.rollback()
        return _thread(link, _reachable(link, dispute_id), notice=str(refusal), status=422)
    links.record_use(unit.session, link, "link.dispute_withdrawn", origin=_origin(),
                     dispute_id=dispute_id)
    unit.commit()
    return redirect(url_for("links.dispute", dispute_id=dispute_id), code=303)


@bp.get("/i/disputes/<int:dispute_id>/attachments/<int:attachment_id>")
@page_limit
def dispute_attachment(dispute_id: int, attachment_id: int):
    link = granted()
    if link is None:
        return _not_valid(ended=True)
    found = _reachable_or_404(link, dispute_id)
    return download(services.attachment(uow().session, found, attachment_id))
