"""``/staff/plans``: the installment plan requests the vendor's policy sent to AR staff
(by status and customer), and one plan's page, where staff read the request against the
policy and the customer's history, then approve it, counter-propose other terms or
reject it.

Reading needs the staff ``view`` permission; deciding needs ``resolve`` (collectors and
AR admins). The rules are in :mod:`portal.plans.services`; each decision is e-mailed to
the customer once it is committed (:mod:`portal.plans.notices`).
"""

from __future__ import annotations

import datetime as dt
from decimal import InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.access import principal, staff_required
from portal.accounts.models import User
from portal.core.request_db import uow
from portal.i18n import amount_input, parse_amount
from portal.ledger.models import Customer
from portal.money import Money, MoneyError
from portal.plans import notices, services
from portal.plans.models import (
    ACTIVE,
    COMPLETED,
    COUNTERED,
    DECLINED,
    DEFAULTED,
    REJECTED,
    REQUESTED,
    Plan,
)
from portal.plans.policy_words import percent_words, plan_reasons
from portal.plans.schedule import FREQUENCIES, Policy
from portal.plans.services import PlanError, Terms
from portal.vendor.services import get_vendor, local_today

# Nested in the staff blueprint (portal.staff.views): endpoints are "staff.plans.*".
bp = Blueprint("plans", __name__, url_prefix="/plans")

# The queue's tabs and the statuses each shows; the first is the default.
TABS: dict[str, tuple[str, ...]] = {
    "requested": (REQUESTED,), "countered": (COUNTERED,), "active": (ACTIVE,),
    "defaulted": (DEFAULTED,), "closed": (REJECTED, DECLINED, COMPLETED)}
WAITING_TABS = ("requested", "countered")  # queues someone must act on: oldest first
QUEUE_LIMIT = 200
# Far more than any plan needs; keeps a typo from scheduling thousands of installments.
MAX_COUNT = 120


def _policy() -> Policy:
    return services.policy_for(get_vendor(uow().session))


@bp.get("")
@staff_required()
def index():
    """The queue: requests waiting for a decision by default, oldest first."""
    session = uow().session
    tab = request.args.get("status", "")
    tab = tab if tab in TABS else "requested"
    customer_number = request.args.get("customer", "").strip()[:50]
    query = (select(Plan).join(Customer, Customer.id == Plan.customer_id)
             .where(Plan.status.in_(TABS[tab])))
    if customer_number:
        query = query.where(Customer.number == customer_number)
    if tab in WAITING_TABS:
        query = query.order_by(Plan.created_at, Plan.id)
    else:
        query = query.order_by(Plan.created_at.desc(), Plan.id.desc())
    plans = list(session.scalars(query.limit(QUEUE_LIMIT)))
    customers = {c.id: c for c in session.scalars(
        select(Customer).where(Customer.id.in_({p.customer_id for p in plans})))}
    policy = _policy()
    return render_template(
        "staff/plans.html", plans=plans, customers=customers, tab=tab, tabs=tuple(TABS),
        oldest_first=tab in WAITING_TABS, customer=customer_number, limit=QUEUE_LIMIT,
        reasons=lambda plan: plan_reasons(plan, policy))


def _plan_or_404(plan_id: int, *, lock: bool = False) -> Plan:
    query = select(Plan).where(Plan.id == plan_id)
    plan = uow().session.scalars(query.with_for_update() if lock else query).one_or_none()
    if plan is None:
        abort(404)
    return plan


def _page(plan: Plan, *, error: str | None = None, status: int = 200):
    session = uow().session
    vendor = get_vendor(session)
    policy = services.policy_for(vendor)
    today = local_today(vendor)
    customer = session.get(Customer, plan.customer_id)
    history = list(session.scalars(
        select(Plan).where(Plan.customer_id == plan.customer_id, Plan.id != plan.id)
        .order_by(Plan.created_at.desc(), Plan.id.desc())))
    requester = (session.get(User, plan.requested_by_user_id)
                 if plan.requested_by_user_id else None)
    who = principal()
    return render_template(
        "staff/plan.html", plan=plan, customer=customer, requester=requester,
        history=history, standing=services.record(session, plan.customer_id, today,
                                                  policy.default_lookback_days),
        policy=policy, min_down_percent=percent_words(policy),
        tomorrow=today + dt.timedelta(days=1),
        reasons=plan_reasons(plan, policy),
        frequencies=FREQUENCIES, can_decide=who.can("resolve") and plan.status == REQUESTED,
        error=error, form=request.form if error else {},
        acted=(request.endpoint or "").rsplit(".", 1)[-1] if error else None), status


@bp.get("/<int:plan_id>")
@staff_required()
def detail(plan_id: int):
    return _page(_plan_or_404(plan_id))


def _decide(plan_id: int, action, done: str):
    """Run ``action(session, plan, today)`` on the locked plan; commit, e-mail the customer,
    say ``done``. A :class:`PlanError` changes nothing and is shown on the page."""
    unit = uow()
    plan = _plan_or_404(plan_id, lock=True)
    try:
        action(unit.session, plan, local_today(get_vendor(unit.session)))
    except PlanError as refusal:
        unit.session.rollback()
        return _page(_plan_or_404(plan_id), error=str(refusal), status=422)
    notices.queue_decision(unit.session, plan.id)
    unit.commit()
    flash(done, "success")
    return redirect(url_for("staff.plans.detail", plan_id=plan_id), code=303)


def _by() -> str:
    return principal().user.email


def _note() -> str | None:
    return request.form.get("note", "").strip()[:2000] or None


@bp.post("/<int:plan_id>/approve")
@staff_required("resolve")
def approve(plan_id: int):
    return _decide(plan_id, lambda s, plan, today: services.approve(
        s, plan, by=_by(), today=today, note=_note()),
        _("The plan is approved and active; the customer is told."))


@bp.post("/<int:plan_id>/counter")
@staff_required("resolve")
def counter(plan_id: int):
    def action(session, plan, today):
        services.counter(session, plan, _typed_terms(plan), by=_by(), today=today,
                         note=_note())
    return _decide(plan_id, action, _("Your counter-proposal was sent to the customer, "
                                      "who may accept or decline it."))


@bp.post("/<int:plan_id>/reject")
@staff_required("resolve")
def reject(plan_id: int):
    return _decide(plan_id, lambda s, plan, today: services.reject(
        s, plan, by=_by(), note=request.form.get("note", "")[:2000]),
        _("The plan is rejected and the customer is told why."))


def _typed_terms(plan: Plan) -> Terms:
    """The counter-proposal's terms as typed on the page; PlanError saying what is wrong."""
    form = request.form
    count = form.get("count", "").strip()
    if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
        raise PlanError(_("Enter a number of installments from 1 to %(max)d.", max=MAX_COUNT))
    frequency = form.get("frequency", "")
    if frequency not in FREQUENCIES:
        raise PlanError(_("Choose weekly, every two weeks or monthly."))
    try:
        first = dt.date.fromisoformat(form.get("first_due_on", "").strip())
    except ValueError:
        raise PlanError(_("Enter the date of the first installment.")) from None
    down = 0
    typed = form.get("down", "").strip()
    if typed:
        try:
            amount = parse_amount(typed, str(get_locale() or "en"))
            down = Money.parse(format(amount, "f"), plan.currency).minor
        except (InvalidOperation, MoneyError):
            down = -1
        if down < 0:
            raise PlanError(_("Enter the down payment as an amount, such as %(example)s, "
                              "or leave it empty for none.",
                              example=amount_input(250_00, plan.currency)))
    return Terms(int(count), frequency, first, down)
