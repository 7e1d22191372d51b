"""Autopay from a bank account (ACH), on SQLite and PostgreSQL, with the real parts of the
ACH checkout tests: a Plaid-linked account, the plan's recurring authorization accepted
on the plan page, the debit processing for days (never charged twice meanwhile), then
settled by Stripe's signed webhook, which marks the installment paid; a return after
success makes it owed again, and autopay does not present it a second time."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, Payment
from portal.payments.bank_models import AchAuthorization
from portal.plans import autopay, services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, Policy
from portal.plans.services import Terms
from tests.integration.checkout.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    csrf,
    issue,
    signed_in,
    text,
    world,
)
from tests.integration.checkout.test_pay_by_bank import CHECKING, link, post
from tests.stripe_fixtures import webhook_receiver

FIRST = TODAY + dt.timedelta(days=20)


@pytest.fixture
def config(config, stripe_config, smtp_sink, plaid_config, localplaid):
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    return dataclasses.replace(
        config, smtp_url=smtp_sink.url, base_url="http://portal.test",
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base,
        plaid_client_id=plaid_config.plaid_client_id, plaid_secret=plaid_config.plaid_secret,
        plaid_api_base=plaid_config.plaid_api_base)


@pytest.fixture
def deliveries(localstripe, stripe_config):
    with webhook_receiver(localstripe, stripe_config, "plan-ach-tests",
                          ["payment_intent.succeeded", "charge.dispute.created"]) as caught:
        yield caught


@pytest.fixture
def plan_id(world):  # noqa: F811
    """Acme's B-1 $900.00 on 3 monthly installments of $300.00 from FIRST."""
    with world.session() as uow:
        s = uow.session
        invoice = issue(s, s.get(Customer, world.acme_id), "B-1", 900_00)
        plan = services.request_plan(
            s, customer_id=world.acme_id, invoice_ids=[invoice.id],
            terms=Terms(3, MONTHLY, FIRST), reason="Cash flow", user_id=None,
            policy=Policy(min_down_percent=0), today=TODAY)
        uow.commit()
        return plan.id


def test_installments_debited_from_a_bank_account_under_the_plans_authorization(
        app, world, plan_id, signed_in, localstripe, deliveries):  # noqa: F811
    bank_id = link(app, world, signed_in, CHECKING)
    payer = signed_in()
    page = payer.client.get(f"/plans/{plan_id}").get_data(as_text=True)
    words = text(page)
    assert "authorize Northwind to debit the" in words or "to debit the" in words
    assert "$300.00" in words and "ending in 6789" in words
    # Without accepting the authorization: refused, nothing set.
    response = payer.client.post(f"/plans/{plan_id}/autopay", data={
        "method": f"bank:{bank_id}", "csrf_token": csrf(page)}, follow_redirects=True)
    assert "accept the debit authorization" in text(response.get_data(as_text=True))
    response = payer.client.post(f"/plans/{plan_id}/autopay", data={
        "method": f"bank:{bank_id}", f"authorize-{bank_id}": "1", "csrf_token": csrf(page)},
        headers={"User-Agent": "plan-test-browser"}, follow_redirects=True)
    assert "Autopay is on: each installment will be debited from the account ending in 6789" \
        in text(response.get_data(as_text=True))

    database = app.extensions["portal.db"]
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    with app.app_context():
        first = autopay.daily(database, gateway, FIRST, Policy())
        again = autopay.daily(database, gateway, FIRST + dt.timedelta(days=1), Policy())
    assert (first.charged, again.charged) == (1, 0)  # processing: not charged twice
    with world.database.session() as session:
        [payment] = session.scalars(select(Payment)).all()
        assert (payment.method, payment.status, payment.amount_minor) == (
            "ach", "processing", 300_00)
        given, copied = session.scalars(select(AchAuthorization).order_by(
            AchAuthorization.id)).all()
        assert (given.kind, given.plan_id, given.payment_id) == ("plan", plan_id, None)
        assert (copied.kind, copied.plan_id, copied.payment_id) == ("plan", plan_id,
                                                                    payment.id)
        assert copied.text == given.text and given.user_agent == "plan-test-browser"
        reference = payment.gateway_ref

    localstripe.settle_ach(reference)
    post(payer.client, deliveries, "payment_intent.succeeded", reference)
    with world.database.session() as session:
        plan = session.get(Plan, plan_id)
        assert [(i.number, i.status) for i in plan.installments] == [
            (1, "paid"), (2, "due"), (3, "due")]
        assert run_checks(session).ok

    # The payer's bank takes the debit back ("not authorized", R10) after it succeeded.
    dispute = localstripe.return_ach(reference, reason="debit_not_authorized")
    post(payer.client, deliveries, "charge.dispute.created", dispute["id"])
    with world.database.session() as session:
        plan = session.get(Plan, plan_id)
        assert [(i.number, i.status, i.paid_minor) for i in plan.installments] == [
            (1, "due", 0), (2, "due", 0), (3, "due", 0)]
        [returned] = session.scalars(select(Payment)).all()
        assert (returned.status, returned.failure_code) == ("reversed", "R10")
        assert run_checks(session).ok
    page = text(payer.client.get(f"/plans/{plan_id}").get_data(as_text=True))
    assert "Pay $300.00 now" in page  # installment 1 is owed again
    # Autopay does not take it again; past the grace period the plan defaults.
    with app.app_context():
        later = autopay.daily(database, gateway, FIRST + dt.timedelta(days=3), Policy())
        assert later.charged == 0
        autopay.daily(database, gateway, FIRST + dt.timedelta(days=11), Policy())
    with world.database.session() as session:
        assert session.get(Plan, plan_id).status == "defaulted"
        assert len(session.scalars(select(Payment)).all()) == 1
        assert run_checks(session).ok
