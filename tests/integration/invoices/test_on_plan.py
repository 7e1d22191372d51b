"""Invoices on a plan, on SQLite and PostgreSQL: on an active plan an invoice is not chased
("On plan", linked, instead of "Overdue" or "Due soon"; still payable); on a requested one
it says "Plan requested" beside its status; the list reads the plans of a page at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event

from portal.ledger.models import Customer
from portal.plans import services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, WEEKLY, Policy
from portal.plans.services import Terms
from tests.integration.invoices.conftest import TODAY, days, issue, numbers
from tests.integration.invoices.test_invoice_detail import text


@pytest.fixture
def plans(world):
    """Acme: P-1 (45 days late) and P-2 (due in 3 days) on an active plan, R-1 (5 days
    late) on a plan waiting for staff, O-1 (10 days late) on none. Returns the plans' ids."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        found = {number: issue(s, acme, number, total, due=due).id for number, total, due in (
            ("P-1", 1_000_00, days(-45)), ("P-2", 500_00, days(3)),
            ("R-1", 200_00, days(-5)), ("O-1", 300_00, days(-10)))}
        # Inside the default policy (10% down, six installments at most): active at once.
        active = services.request_plan(
            s, customer_id=acme.id, invoice_ids=[found["P-1"], found["P-2"]],
            terms=Terms(3, MONTHLY, TODAY + dt.timedelta(days=30), down_minor=150_00),
            reason="A slow quarter", user_id=None, policy=Policy(), today=TODAY)
        # Eight weekly installments, nothing down: outside it, waiting for staff.
        requested = services.request_plan(
            s, customer_id=acme.id, invoice_ids=[found["R-1"]],
            terms=Terms(8, WEEKLY, TODAY + dt.timedelta(days=7)),
            reason="A slow quarter", user_id=None, policy=Policy(), today=TODAY)
        assert (active.status, requested.status) == ("active", "requested")
        uow.commit()
        return {"active": active.id, "requested": requested.id}


def row(page: str, number: str) -> str:
    """The list's row of invoice ``number``."""
    return re.search(rf'<tr data-number="{number}".*?</tr>', page, re.S).group(0)


def test_the_list_says_on_plan_instead_of_overdue_or_due_soon(plans, signed_in):
    page = signed_in().client.get("/invoices?status=all").get_data(as_text=True)
    assert set(numbers(page)) >= {"P-1", "P-2", "R-1", "O-1"}
    on_plan = f'href="/plans/{plans["active"]}" data-plan="{plans["active"]}">On plan</a>'
    for number in ("P-1", "P-2"):
        listed = row(page, number)
        assert on_plan in listed
        assert "Overdue" not in listed and "overdue" not in listed and "Due soon" not in listed
        assert "row-overdue" not in listed
        assert 'name="invoice"' in listed  # still payable
    waiting = row(page, "R-1")
    assert f'href="/plans/{plans["requested"]}" data-plan="{plans["requested"]}">Plan requested' \
        in waiting
    assert "Overdue" in waiting and "5 days overdue" in waiting and "On plan" not in waiting
    other = row(page, "O-1")
    assert "Overdue" in other and "10 days overdue" in other
    assert "plan" not in other.lower()


def test_the_detail_pages_say_the_same_and_offer_no_second_plan(plans, app, signed_in):
    if "plans.new" not in app.view_functions:  # a stand-in until the plans feature has it
        app.add_url_rule("/plans/new", endpoint="plans.new", view_func=lambda: "")
    b = signed_in()
    page = b.client.get("/invoices/P-1").get_data(as_text=True)
    assert f'href="/plans/{plans["active"]}" data-plan="{plans["active"]}">On plan</a>' in page
    words = text(page)
    assert "overdue" not in words.lower() and "Due soon" not in words
    assert f"See plan {plans['active']}" in words
    assert "Pay $1,000.00" in words
    assert "Request a payment plan" not in page

    waiting = b.client.get("/invoices/R-1").get_data(as_text=True)
    assert f'data-plan="{plans["requested"]}">Plan requested</a>' in waiting
    assert "Overdue" in text(waiting) and "Request a payment plan" not in waiting

    other = b.client.get("/invoices/O-1").get_data(as_text=True)
    assert "Overdue" in text(other) and "Plan requested" not in other
    assert 'href="/plans/new?invoice=O-1">Request a payment plan</a>' in other


def test_a_plan_that_no_longer_holds_leaves_the_invoice_chased(plans, world, signed_in):
    with world.session() as uow:
        plan = uow.session.get(Plan, plans["requested"])
        services.reject(uow.session, plan, by="ar@vendor.example", note="Not this time.")
        uow.commit()
    page = signed_in().client.get("/invoices?status=all").get_data(as_text=True)
    assert "plan" not in row(page, "R-1").lower() and "Overdue" in row(page, "R-1")


@pytest.fixture
def statements(app):
    """Every SQL statement the app runs during the test."""
    seen: list[str] = []
    engine = app.extensions["portal.db"].engine
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def test_the_list_reads_the_plans_of_a_page_in_one_query(plans, signed_in, statements):
    b = signed_in()
    statements.clear()
    page = b.client.get("/invoices?status=all").get_data(as_text=True)
    assert len(numbers(page)) >= 4
    assert sum("portal_plan_invoices" in sql for sql in statements) == 1
