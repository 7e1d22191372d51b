"""The plans' daily run on SQLite and PostgreSQL, as `portal plans charge-due` runs it: the
reminder before an autopay debit (once), a declined autopay told to the payer (retried,
then missed), the default after the grace period (customer and staff told, invoices back
to normal collection), and autopay from a bank account under the plan's authorization."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, Invoice, Payment
from portal.payments import cards
from portal.plans import autopay, services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, Policy
from portal.plans.services import Terms, on_plan
from portal.vendor.services import update_vendor
from tests.integration.checkout.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    config,
    issue,
    world,
)

VISA, DECLINED = "4242424242424242", "4000000000000341"
POLICY = Policy(reminder_days=3, grace_days=10)
FIRST = TODAY + dt.timedelta(days=20)
SUPPORT = "ar@vendor.example"
PAYER = "payer@acme.example"


@dataclasses.dataclass
class Book:
    plan_id: int
    gateway: StripeGateway
    database: object


@pytest.fixture
def plan(app, world, stripe_js):  # noqa: F811
    """Acme's S-1 $900.00 on 3 monthly installments of $300.00 from FIRST, requested by the
    payer; the vendor's AR address."""
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        invoice = issue(s, acme, "S-1", 900_00, due=TODAY - dt.timedelta(days=3))
        user_id = s.scalar(select(User.id).where(User.email == PAYER))
        created = services.request_plan(
            s, customer_id=acme.id, invoice_ids=[invoice.id], terms=Terms(3, MONTHLY, FIRST),
            reason="Cash flow", user_id=user_id, policy=Policy(min_down_percent=0),
            today=TODAY)
        update_vendor(s, support_email=SUPPORT)
        cards.stripe_customer_id(s, gateway, acme)
        uow.commit()
        return Book(created.id, gateway, world.database)


def with_card(app, book: Book, stripe_js, number: str) -> None:
    with book.database.session() as session:
        customer = cards.known_stripe_customer_id(
            session, session.get(Plan, book.plan_id).customer_id)
    setup = book.gateway.create_setup_intent(customer)
    stripe_js.confirm_card_setup(setup.client_secret, stripe_js.create_card(number))
    [saved] = book.gateway.list_saved_cards(customer)
    with book.database.unit_of_work() as uow:
        autopay.set_card(uow.session, uow.session.get(Plan, book.plan_id),
                         saved.payment_method_id)
        uow.commit()


def run(app, book: Book, day: dt.date) -> autopay.Run:
    with app.app_context():
        return autopay.daily(book.database, book.gateway, day, POLICY)


def status(book: Book) -> tuple[str, list[tuple[int, str, int]]]:
    with book.database.session() as session:
        plan = session.get(Plan, book.plan_id)
        assert run_checks(session).ok
        return plan.status, [(i.number, i.status, i.attempts) for i in plan.installments]


def test_the_reminder_goes_once_before_the_autopay_debit(app, plan, stripe_js, smtp_sink):
    with_card(app, plan, stripe_js, VISA)
    assert run(app, plan, FIRST - dt.timedelta(days=4)).reminded == 0  # not yet
    assert run(app, plan, FIRST - dt.timedelta(days=3)).reminded == 1
    assert run(app, plan, FIRST - dt.timedelta(days=2)).reminded == 0  # once
    [mail] = smtp_sink.to(PAYER)
    assert mail["Subject"] == f"Plan {plan.plan_id}: $300.00 will be charged on " \
        f"{FIRST.strftime('%B')} {FIRST.day}, {FIRST.year}"
    assert "charged to the card saved for the plan" in smtp_sink.text(mail)
    assert f"http://portal.test/plans/{plan.plan_id}" in smtp_sink.text(mail)


def test_a_declined_autopay_is_told_retried_once_then_missed(app, plan, stripe_js, smtp_sink):
    with_card(app, plan, stripe_js, DECLINED)
    first = run(app, plan, FIRST)
    second = run(app, plan, FIRST + dt.timedelta(days=1))
    assert (first.declined, first.missed, second.declined, second.missed) == (1, 0, 1, 1)
    assert status(plan)[1][0] == (1, "missed", 2)
    declined, missed = [m for m in smtp_sink.to(PAYER) if "did not go through" in m["Subject"]
                        or "unpaid" in m["Subject"]]
    assert "We will try again on" in smtp_sink.text(declined)
    assert "It will not be tried again." in smtp_sink.text(missed)
    with plan.database.session() as session:
        assert {p.status for p in session.scalars(select(Payment))} == {"failed"}


def test_past_the_grace_period_the_plan_defaults_and_both_sides_are_told(
        app, plan, smtp_sink):
    # Paid by hand, or not at all: the day after the grace period it defaults.
    assert run(app, plan, FIRST + dt.timedelta(days=10)).defaulted == 0
    assert run(app, plan, FIRST + dt.timedelta(days=11)).defaulted == 1
    assert run(app, plan, FIRST + dt.timedelta(days=12)).defaulted == 0  # once
    assert status(plan)[0] == "defaulted"
    with plan.database.session() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == "S-1")).one()
        assert on_plan(session, [invoice.id]) == set()  # back to normal collection
    [customer_mail] = smtp_sink.to(PAYER)
    [staff_mail] = smtp_sink.to(SUPPORT)
    assert "has ended because an installment stayed unpaid" in smtp_sink.text(customer_mail)
    assert staff_mail["Subject"] == f"Plan {plan.plan_id} of Acme Corp has defaulted"
    assert f"http://portal.test/staff/plans/{plan.plan_id}" in smtp_sink.text(staff_mail)


def test_the_plan_is_completed_when_its_invoices_are_paid_another_way(app, plan):
    from portal import ledger

    with plan.database.unit_of_work() as uow:
        s = uow.session
        invoice = s.scalars(select(Invoice).where(Invoice.number == "S-1")).one()
        ledger.issue_credit_memo(s, number="CM-S1", customer_id=invoice.customer_id,
                                 amount_minor=900_00, currency="USD", invoice_id=invoice.id,
                                 reason="goodwill", idempotency_key="cm-s1")
        uow.commit()
    result = run(app, plan, TODAY + dt.timedelta(days=1))
    assert (result.completed, result.charged) == (1, 0)
    assert status(plan) == ("completed", [(1, "paid", 0), (2, "paid", 0), (3, "paid", 0)])

