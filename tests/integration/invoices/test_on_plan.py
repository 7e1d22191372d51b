"""Invoices on a plan, on SQLite and PostgreSQL: on an active plan an invoice is not chased
("On plan", linked, instead of "Overdue" or "Due soon"; still payable), and the list's tabs,
aging buckets and summary figures leave it out of what is late or due soon and count it
under "On a payment plan"; on a requested one it says "Plan requested" beside its status
and is chased as before; the list reads the plans of a page at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event

from portal.documents.queries import statement_content
from portal.invoices import forms, queries
from portal.ledger.models import Customer
from portal.plans import services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, WEEKLY, Policy
from portal.plans.services import Terms
from portal.vendor.services import get_vendor
from tests import pdf
from tests.integration.invoices.conftest import TODAY, aging, days, figure, issue, numbers
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


def test_the_detail_pages_say_the_same_and_offer_no_second_plan(plans, signed_in):
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


def listed(browser, query: str) -> list[str]:
    response = browser.client.get(f"/invoices?{query}")
    assert response.status_code == 200
    return sorted(numbers(response.get_data(as_text=True)))


def test_the_tabs_and_buckets_leave_out_invoices_on_an_active_plan(plans, signed_in):
    b = signed_in()
    assert listed(b, "status=open") == ["O-1", "P-1", "P-2", "R-1"]
    assert listed(b, "status=overdue") == ["O-1", "R-1"]  # P-1 is 45 days late, on plan
    assert listed(b, "status=due_soon") == []  # P-2 is due in 3 days, on plan
    assert listed(b, "status=open&aging=31_60") == []  # P-1 again
    assert listed(b, "status=open&aging=1_30") == ["O-1", "R-1"]
    assert listed(b, "status=open&aging=current") == []
    # The status filter finds them; a requested plan's invoice is not on one yet.
    assert listed(b, "status=on_plan") == ["P-1", "P-2"]
    page = b.client.get("/invoices?status=on_plan").get_data(as_text=True)
    assert '<option value="on_plan" selected>On plan</option>' in page
    csv = b.client.get("/invoices.csv?status=overdue").get_data(as_text=True)
    assert "O-1" in csv and "R-1" in csv and "P-1" not in csv


def test_the_summary_counts_them_on_plan_not_late(plans, signed_in):
    page = signed_in().client.get("/invoices").get_data(as_text=True)
    assert figure(page, "open") == "Total open $2,000.00 4 invoices"
    assert figure(page, "overdue") == "Overdue $500.00 2 invoices past due"
    assert figure(page, "due_soon") == "Due in the next 7 days $0.00 0 invoices"
    assert figure(page, "on_plan") == \
        "On a payment plan $1,500.00 2 invoices, paid by their plans' schedules"
    assert 'href="/invoices?status=on_plan" data-figure="on_plan"' in page
    assert aging(page) == {"current": (0, ["$0.00"]), "1_30": (2, ["$500.00"]),
                           "31_60": (0, ["$0.00"]), "61_90": (0, ["$0.00"]),
                           "over_90": (0, ["$0.00"])}
    assert "Invoices on an active payment plan are not counted as past due" in page


@pytest.mark.parametrize("args", [
    {}, {"status": "overdue"}, {"status": "due_soon"}, {"aging": "current"},
    {"aging": "1_30"}, {"aging": "31_60"}])
def test_what_matches_is_the_same_from_the_summary_as_counted(plans, world, app, args):
    # The tabs' counts and payable totals come off the summary: with invoices on an active
    # plan they must still be exactly what counting the filter's own rows gives.
    f, _errors = forms.parse_filter(args)
    with app.test_request_context(), world.session() as uow:
        s = uow.session
        currencies = queries.customer_currencies(s, world.acme_id)
        derived = queries.summary(s, world.acme_id, TODAY, currencies).matching(f)
        counted = queries.matching(s, world.acme_id, f, TODAY, currencies)
    assert derived == counted


def test_the_statement_of_account_shows_them_on_plan_not_past_due(plans, world, signed_in):
    with world.session() as uow:
        statement = statement_content(uow.session, world.acme_id, vendor=get_vendor(uow.session),
                                      today=TODAY, base_url="https://portal.example")
    [usd] = statement.sections
    assert [(i.number, i.days_past_due, i.bucket, i.on_plan) for i in usd.items] == [
        ("P-1", 0, "on_plan", True), ("O-1", 10, "1_30", False), ("R-1", 5, "1_30", False),
        ("P-2", 0, "on_plan", True)]
    assert [(b.key, b.amount_minor) for b in usd.aging] == [
        ("current", 0), ("1_30", 500_00), ("31_60", 0), ("61_90", 0), ("over_90", 0),
        ("on_plan", 1_500_00)]
    assert (usd.open_minor, usd.past_due_minor) == (2_000_00, 500_00)

    words = " ".join(pdf.pages(signed_in().client.get("/statement.pdf").data))
    assert "ON A PAYMENT" in words and "$1,500.00" in words  # a heading in capitals, wrapped
    assert "$500.00 past due" in words
    assert re.search(r"P-1\s.*?On plan", words, re.S)


def test_once_the_plan_defaults_its_invoices_are_late_again(plans, world, signed_in):
    with world.session() as uow:
        uow.session.get(Plan, plans["active"]).status = "defaulted"
        uow.commit()
    b = signed_in()
    assert listed(b, "status=overdue") == ["O-1", "P-1", "R-1"]
    assert listed(b, "status=due_soon") == ["P-2"]
    assert listed(b, "status=on_plan") == []
    page = b.client.get("/invoices").get_data(as_text=True)
    assert figure(page, "overdue") == "Overdue $1,500.00 3 invoices past due"
    assert 'data-figure="on_plan"' not in page


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
    # One for the page's rows, one for the summary's invoices on active plans.
    assert sum("portal_plan_invoices" in sql for sql in statements) == 2
