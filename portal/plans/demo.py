"""The demo's installment plans: a request outside the vendor's policy waiting for staff
at /staff/plans, and an active plan, so both sides find something to look at. A hook of
:mod:`portal.demo.hooks`.

They go through the same services as people, on customers other than the large one the
acceptance tests use, and only when the demo has no plan yet (each ``portal demo`` runs
every hook again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.demo.hooks import DemoContext
from portal.ledger.models import Customer
from portal.plans import services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, WEEKLY
from portal.plans.services import PlanError, Terms
from portal.vendor.services import get_vendor

# (customer, requester, invoices, installments, frequency, first date in days, down %, why)
CASES = (
    ("C-10117", "payables@ridgeline-shared.example", 3, 10, MONTHLY, 60, 0,
     "Our main client pays us late this quarter; we can pay these over ten months."),
    ("C-10231", "ap@redwoodfoods.example", 2, 4, WEEKLY, 7, 10,
     "A delayed harvest shipment; we will be current again within a month."),
)


def demo_plans(session: Session, context: DemoContext) -> Iterable[str]:
    """Ask for the demo's two plans, the first time the demo runs."""
    if session.scalar(select(func.count()).select_from(Plan)):
        return []
    policy = services.policy_for(get_vendor(session))
    for number, email, how_many, count, frequency, days, down_percent, why in CASES:
        customer = session.scalars(select(Customer).where(Customer.number == number)).first()
        if customer is None:
            continue
        invoices = [inv for inv in services.eligible(session, customer.id)
                    if inv.currency == customer.currency][:how_many]
        if not invoices:
            continue
        total = sum(inv.available_minor for inv in invoices)
        user = session.scalars(select(User).where(User.email == email)).first()
        try:
            services.request_plan(
                session, customer_id=customer.id, invoice_ids=[inv.id for inv in invoices],
                terms=Terms(count, frequency, context.today + dt.timedelta(days=days),
                            down_minor=-(-total * down_percent // 100)),
                reason=why, user_id=user.id if user else None, policy=policy,
                today=context.today)
        except PlanError:
            continue  # the demo's data changed under it: no plan rather than no demo
    return []
