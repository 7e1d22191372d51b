"""``/staff/disputes``: the dispute queue (by status, reason, age and customer) and one
dispute's page, where AR staff assign it to a collector, reply, mark it under review,
and resolve it with a credit memo or reject it with their reason.

Reading needs the staff ``view`` permission; answering and deciding need
``resolve`` (collectors and AR admins). The rules are in
:mod:`portal.disputes.services`; messages are shown as text (Jinja escapes them).
"""

from __future__ import annotations

import datetime as dt
from decimal import InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.access import principal, staff_required
from portal.accounts.models import User
from portal.core.request_db import uow
from portal.disputes import notices, services
from portal.disputes.models import IN_FORCE, STATUSES, VENDOR, Dispute
from portal.disputes.services import Author, DisputeError, Invalid
from portal.disputes.views import download, locale, storage, thread_page, uploads
from portal.i18n import parse_amount
from portal.ledger.models import Customer, Invoice, utcnow
from portal.money import Money, MoneyError
from portal.vendor.services import get_vendor

# Nested in the staff blueprint (portal.staff.views): endpoints are "staff.disputes.*".
bp = Blueprint("disputes", __name__, url_prefix="/disputes")

AGES = (7, 14, 30)  # "older than N days" filters
QUEUE_LIMIT = 200


def _author() -> Author:
    who = principal()
    return Author(VENDOR, who.user.name, who.user.email, who.user.id)


def _collectors() -> list[User]:
    return notices.resolvers(uow().session)


@bp.get("")
@staff_required()
def index():
    """The queue: in force by default, oldest first, filtered as asked."""
    session = uow().session
    args = request.args
    status = args.get("status", "in_force")
    reason = args.get("reason", "")
    age = int(args["age"]) if args.get("age", "").isdigit() else None
    customer_number = args.get("customer", "").strip()[:50]
    query = (select(Dispute).join(Customer, Customer.id == Dispute.customer_id)
             .join(Invoice, Invoice.id == Dispute.invoice_id))
    if status == "in_force":
        query = query.where(Dispute.status.in_(IN_FORCE))
    elif status in STATUSES:
        query = query.where(Dispute.status == status)
    if reason:
        query = query.where(Dispute.reason == reason)
    if age:
        query = query.where(Dispute.created_at <= utcnow() - dt.timedelta(days=age))
    if customer_number:
        query = query.where(Customer.number == customer_number)
    rows = list(session.scalars(query.order_by(Dispute.created_at, Dispute.id)
                                .limit(QUEUE_LIMIT)))
    vendor = get_vendor(session)
    names = dict(session.execute(select(User.id, User.name).where(
        User.id.in_({d.assigned_to_user_id for d in rows if d.assigned_to_user_id}))).all())
    return render_template("staff/disputes.html", disputes=rows, vendor=vendor,
                           status=status, reason=reason, age=age, ages=AGES,
                           customer=customer_number, assigned=names, now=utcnow(),
                           statuses=STATUSES, limit=QUEUE_LIMIT)


def _dispute_or_404(dispute_id: int, *, lock: bool = False) -> Dispute:
    dispute = services.find(uow().session, dispute_id, lock=lock)
    if dispute is None:
        abort(404)
    return dispute


def _page(dispute: Dispute, *, errors: dict | None = None, status: int = 200):
    return thread_page(
        "staff/dispute.html", dispute, errors=errors, status=status, who=principal(),
        collectors=_collectors(), can_write=principal().can("resolve") and dispute.in_force,
        reply_action=url_for("staff.disputes.reply", dispute_id=dispute.id),
        withdraw_action=None,
        attachment_url=lambda a: url_for("staff.disputes.attachment", dispute_id=dispute.id,
                                         attachment_id=a.id))


@bp.get("/<int:dispute_id>")
@staff_required()
def detail(dispute_id: int):
    return _page(_dispute_or_404(dispute_id))


def _act(dispute_id: int, action, done: str):
    """Run ``action(session, dispute)`` on the locked dispute; commit, say ``done``."""
    unit = uow()
    dispute = _dispute_or_404(dispute_id, lock=True)
    try:
        action(unit.session, dispute)
    except Invalid as invalid:
        unit.session.rollback()
        return _page(_dispute_or_404(dispute_id), errors=invalid.errors, status=422)
    except DisputeError as refusal:
        unit.session.rollback()
        flash(str(refusal), "error")
        return redirect(url_for("staff.disputes.detail", dispute_id=dispute_id), code=303)
    unit.commit()
    flash(done, "success")
    return redirect(url_for("staff.disputes.detail", dispute_id=dispute_id), code=303)


@bp.post("/<int:dispute_id>/messages")
@staff_required("resolve")
def reply(dispute_id: int):
    return _act(dispute_id, lambda s, d: services.post_message(
        s, d, _author(), request.form.get("body", ""), uploads(), storage()),
        _("Your message was sent to the customer."))


@bp.post("/<int:dispute_id>/assign")
@staff_required("resolve")
def assign(dispute_id: int):
    wanted = request.form.get("user_id", "")
    ids = {user.id for user in _collectors()}
    user_id = int(wanted) if wanted.isdigit() and int(wanted) in ids else None
    if wanted and user_id is None:
        abort(400)
    return _act(dispute_id, lambda s, d: services.assign(s, d, user_id, _author()),
                _("The dispute is assigned."))


@bp.post("/<int:dispute_id>/review")
@staff_required("resolve")
def review(dispute_id: int):
    return _act(dispute_id, lambda s, d: services.start_review(s, d, _author()),
                _("The dispute is under review."))


@bp.post("/<int:dispute_id>/resolve")
@staff_required("resolve")
def resolve(dispute_id: int):
    def action(session, dispute):
        try:
            typed = parse_amount(request.form.get("credit", ""), locale())
            credit = Money.parse(format(typed, "f"), dispute.currency).minor
        except (InvalidOperation, MoneyError):
            credit = 0
        services.resolve_with_credit(session, dispute, credit_minor=credit,
                                     note=request.form.get("note", ""), by=_author(),
                                     storage=storage())
    return _act(dispute_id, action, _("The dispute is resolved: the credit memo is posted "
                                      "and the customer is told."))


@bp.post("/<int:dispute_id>/reject")
@staff_required("resolve")
def reject(dispute_id: int):
    return _act(dispute_id, lambda s, d: services.reject(
        s, d, note=request.form.get("note", ""), by=_author(), storage=storage()),
        _("The dispute is rejected and the customer is told why."))


@bp.get("/<int:dispute_id>/attachments/<int:attachment_id>")
@staff_required()
def attachment(dispute_id: int, attachment_id: int):
    dispute = _dispute_or_404(dispute_id)
    return download(services.attachment(uow().session, dispute, attachment_id))
