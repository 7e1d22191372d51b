"""The customer's plan pages: ``/plans`` (the account's plans), ``/plans/<id>`` (one
plan: its schedule, how it stands, paying an installment, autopay, the answer to a
counter-proposal).

Everyone on the account reads them (permission ``view``); paying and asking need
``pay``. Another account's plan is a 404, like one that does not exist. The rules
are in :mod:`portal.plans.services`.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from portal.accounts import access
from portal.accounts.access import requires
from portal.core.request_db import uow
from portal.plans.models import Plan
from portal.vendor.services import get_vendor

bp = Blueprint("plans", __name__)


def plan_or_404(plan_id: int, *, lock: bool = False) -> Plan:
    """The account's plan ``plan_id``; 404 if absent or another account's."""
    query = select(Plan).where(Plan.id == plan_id, Plan.customer_id == access.customer_id())
    plan = uow().session.scalar(query.with_for_update() if lock else query)
    if plan is None:
        abort(404)
    return plan


@bp.get("/plans")
@requires("view")
def index():
    """The account's plans, newest first."""
    session = uow().session
    plans = session.scalars(select(Plan).where(Plan.customer_id == access.customer_id())
                            .order_by(Plan.created_at.desc(), Plan.id.desc())).all()
    return render_template("plans/index.html", plans=plans, vendor=get_vendor(session))


@bp.get("/plans/<int:plan_id>")
@requires("view")
def detail(plan_id: int):
    plan = plan_or_404(plan_id)
    return render_template("plans/detail.html", plan=plan, vendor=get_vendor(uow().session))
