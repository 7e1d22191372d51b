"""Two daily runs at once (PostgreSQL): a cron job that overlaps the one before, or two
Celery workers given the task. Each installment is charged once, whichever run gets it.

The test holds the due installment's row lock until PostgreSQL reports both runs waiting
for it (``pg_blocking_pids``), so both have read the plan as due and reach the charge
together: only the row lock and the re-read under it (``portal.plans.autopay``) keep the
second from charging again. SQLite is left out: it never runs two writers at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from portal.ledger.models import Payment
from portal.plans import autopay
from portal.plans.models import PlanInstallment
from tests.integration.checkout.test_concurrency import stripe_payment_intents, wait_for_waiters
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    world,
)
from tests.integration.plans.test_autopay import VISA, active_plan, config, state  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: row locks are what this module is about."""
    return pg_database_url


def test_two_runs_at_once_charge_the_down_payment_once(app, world, stripe_js):  # noqa: F811
    plan_id, gateway = active_plan(app, world, stripe_js, VISA)
    database = app.extensions["portal.db"]
    with database.engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM portal_plan_installments"
                            " WHERE plan_id = :plan AND number = 0 FOR UPDATE"),
                       {"plan": plan_id})
        mine = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [pool.submit(autopay.charge_due, database, gateway, TODAY)
                    for _ in range(2)]
            try:
                wait_for_waiters(world, mine, 2)
            finally:
                holder.rollback()  # let them go, whatever happened
            first, second = sorted((run.result(timeout=60) for run in runs),
                                   key=lambda r: -r.charged)
    assert (first.charged, first.paid, second.charged, second.paid) == (1, 1, 0, 0)
    with database.session() as s:
        payments = s.scalars(select(Payment).where(Payment.created_by == "autopay")).all()
        assert [(p.amount_minor, p.status) for p in payments] == [(150_00, "succeeded")]
        down = s.get(PlanInstallment, (plan_id, 0))
        assert (down.status, down.attempts, down.payment_id) == ("paid", 1, payments[0].id)
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
    # At Stripe, one PaymentIntent: the down payment's.
    intents = stripe_payment_intents(app.config["PORTAL"])
    assert [(pi["amount"], pi["status"]) for pi in intents] == [(150_00, "succeeded")]
    status, rows, balances, settled = state(world, plan_id)  # the ledger checks pass there
    assert (status, rows[0], settled) == ("active", (0, "paid", 1), 1)
    assert balances == {"AP-1": 850_00, "AP-2": 500_00}
