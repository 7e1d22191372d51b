"""Autopay against localstripe: each due installment charged once to the plan's saved
card, off-session, however often the command runs; a declined card tried once more on a
later day, then missed; the plan completed when every installment is paid."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, Invoice, JournalEntry
from portal.payments import cards
from portal.plans import autopay, services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, Policy
from portal.plans.services import Terms
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    world,
)

# Saving it succeeds; charging it is declined (Stripe's test card, kept by localstripe).
VISA, DECLINED = "4242424242424242", "4000000000000341"


@pytest.fixture
def config(config, stripe_config):
    return dataclasses.replace(
        config, stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base)


def active_plan(app, world, stripe_js, card: str) -> tuple[int, StripeGateway]:  # noqa: F811
    """Acme's $1,000.00 and $500.00 on a plan of $150.00 down and 3 monthly installments,
    autopay with ``card`` saved for the account."""
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        old = issue(s, acme, "AP-1", 1_000_00, due=TODAY - dt.timedelta(days=10))
        new = issue(s, acme, "AP-2", 500_00, due=TODAY + dt.timedelta(days=10))
        plan = services.request_plan(
            s, customer_id=acme.id, invoice_ids=[new.id, old.id],
            terms=Terms(3, MONTHLY, TODAY + dt.timedelta(days=15), down_minor=150_00),
            reason="Seasonal cash flow", user_id=None, policy=Policy(), today=TODAY)
        customer = cards.stripe_customer_id(s, gateway, acme)
        uow.commit()
        plan_id = plan.id
    setup = gateway.create_setup_intent(customer)
    stripe_js.confirm_card_setup(setup.client_secret, stripe_js.create_card(card))
    [saved] = gateway.list_saved_cards(customer)
    with world.session() as uow:
        uow.session.get(Plan, plan_id).autopay_method_id = saved.payment_method_id
        uow.commit()
    return plan_id, gateway


def state(world, plan_id: int):  # noqa: F811
    with world.database.session() as s:
        plan = s.get(Plan, plan_id)
        rows = [(i.number, i.status, i.attempts) for i in plan.installments]
        balances = dict(s.execute(select(Invoice.number, Invoice.balance_minor)
                                  .where(Invoice.number.in_(["AP-1", "AP-2"]))).all())
        settled = s.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "payment_settled"))
        assert run_checks(s).ok
        return plan.status, rows, balances, settled


def test_each_installment_is_charged_once_and_the_plan_completes(
        app, world, stripe_js):  # noqa: F811
    plan_id, gateway = active_plan(app, world, stripe_js, VISA)
    database = app.extensions["portal.db"]
    with database.session() as s:
        days = [i.due_on for i in s.get(Plan, plan_id).installments]
    assert days[0] == TODAY  # the down payment
    first = autopay.charge_due(database, gateway, TODAY)
    again = autopay.charge_due(database, gateway, TODAY)
    assert (first.charged, first.paid, again.charged) == (1, 1, 0)
    status, rows, balances, settled = state(world, plan_id)
    # The down payment went to the oldest invoice first.
    assert (rows[0], balances, settled) == ((0, "paid", 1), {"AP-1": 850_00, "AP-2": 500_00}, 1)
    # Nothing is due before the first installment's day.
    assert autopay.charge_due(database, gateway, days[1] - dt.timedelta(days=1)).charged == 0
    for day in days[1:]:
        assert autopay.charge_due(database, gateway, day).paid == 1
        assert autopay.charge_due(database, gateway, day).charged == 0
    status, rows, balances, settled = state(world, plan_id)
    assert status == "completed" and all(r[1] == "paid" for r in rows)
    assert balances == {"AP-1": 0, "AP-2": 0} and settled == 4


def test_a_declined_card_is_tried_once_more_on_a_later_day_then_missed(
        app, world, stripe_js):  # noqa: F811
    plan_id, gateway = active_plan(app, world, stripe_js, DECLINED)
    database = app.extensions["portal.db"]
    run = autopay.charge_due(database, gateway, TODAY)
    assert (run.charged, run.declined, run.missed) == (1, 1, 0)
    assert autopay.charge_due(database, gateway, TODAY).charged == 0  # not twice a day
    run = autopay.charge_due(database, gateway, TODAY + dt.timedelta(days=1))
    assert (run.charged, run.declined, run.missed) == (1, 1, 1)
    assert autopay.charge_due(database, gateway, TODAY + dt.timedelta(days=2)).charged == 0
    status, rows, balances, settled = state(world, plan_id)
    assert (status, rows[0]) == ("active", (0, "missed", 2))
    assert balances == {"AP-1": 1_000_00, "AP-2": 500_00} and settled == 0


def test_the_command_charges_what_is_due_once(app, world, stripe_js, runner):  # noqa: F811
    plan_id, _gateway = active_plan(app, world, stripe_js, VISA)
    day = TODAY.isoformat()
    first = runner.invoke(args=["plans", "charge-due", "--date", day])
    second = runner.invoke(args=["plans", "charge-due", "--date", day])
    assert first.exit_code == 0, first.output
    assert (f"plans charge-due {day}: 0 reminded, 1 charged, 1 paid, 0 declined, 0 missed, "
            "0 completed, 0 defaulted") in first.stdout
    assert f"plans charge-due {day}: 0 reminded, 0 charged, 0 paid" in second.stdout
    assert state(world, plan_id)[1][0] == (0, "paid", 1)
