"""The staff plan pages on SQLite and PostgreSQL: the queue of requests outside the
vendor's policy with its reasons in words, a plan's page with the customer's history,
and staff's decisions (approve, counter-propose, reject), each e-mailed to the customer
after it commits; refusals that change nothing; who may read and who may decide."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.ledger.models import Customer, Invoice, utcnow
from portal.plans import services
from portal.plans.models import COMPLETED, DEFAULTED, Plan
from portal.plans.schedule import MONTHLY, WEEKLY, Policy
from portal.plans.services import Terms
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.checkout.conftest import csrf, text
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    signed_in,
    world,
)
from tests.integration.plans.test_plan_requests import plan_row

COLLECTOR = "collector@vendor.example"
STAFF_VIEWER = "auditor@vendor.example"
PAYER = "payer@acme.example"
# Outside the vendor's default policy ($25,000.00, 6 installments, 45 days, 10 % down).
TOO_LONG = Terms(10, MONTHLY, TODAY + dt.timedelta(days=60))


@pytest.fixture
def config(config, smtp_sink):
    return dataclasses.replace(config, smtp_url=smtp_sink.url, base_url="http://portal.test")


@pytest.fixture
def book(world):  # noqa: F811
    """Acme: S-1 $30,000.00, S-2 $1,000.00, S-3 $2,000.00, S-4 $500.00; Globex: S-G $800.00;
    a collector and a staff viewer."""
    with world.session() as uow:
        s = uow.session
        acme, globex = s.get(Customer, world.acme_id), s.get(Customer, world.globex_id)
        issue(s, acme, "S-1", 30_000_00, due=TODAY - dt.timedelta(days=5))
        issue(s, acme, "S-2", 1_000_00, due=TODAY + dt.timedelta(days=5))
        issue(s, acme, "S-3", 2_000_00, due=TODAY + dt.timedelta(days=6))
        issue(s, acme, "S-4", 500_00, due=TODAY + dt.timedelta(days=7))
        issue(s, globex, "S-G", 800_00)
        accounts.create_user(s, email=COLLECTOR, name="Casey Collector", password=PASSWORD,
                             staff_role="collector")
        accounts.create_user(s, email=STAFF_VIEWER, name="Ada Auditor", password=PASSWORD,
                             staff_role="viewer")
        uow.commit()
    return world


def request(book, *numbers: str, terms: Terms = TOO_LONG, by: str | None = PAYER,
            customer_id: int | None = None) -> int:
    """Ask for a plan as ``by`` (None: nobody signed in) under the vendor's default policy."""
    with book.session() as uow:
        s = uow.session
        ids = list(s.scalars(select(Invoice.id).where(Invoice.number.in_(numbers))))
        user_id = s.scalar(select(User.id).where(User.email == by)) if by else None
        plan = services.request_plan(
            s, customer_id=customer_id or book.acme_id, invoice_ids=ids, terms=terms,
            reason="A slow quarter", user_id=user_id, policy=Policy(), today=TODAY)
        uow.commit()
        return plan.id


def staff(app, email: str = COLLECTOR) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(email).status_code == 302
    return browser


def queued(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-plan="(\d+)"', page)]


def decide(browser: Browser, plan_id: int, action: str, **form):
    """POST one of the plan page's forms; return the response."""
    token = csrf(browser.client.get(f"/staff/plans/{plan_id}").get_data(as_text=True))
    return browser.client.post(f"/staff/plans/{plan_id}/{action}",
                               data={"csrf_token": token, **form})


def test_the_queue_lists_requests_waiting_with_the_policys_reasons_in_words(app, book):
    waiting = request(book, "S-1")
    inside = request(book, "S-2", terms=Terms(3, MONTHLY, TODAY + dt.timedelta(days=30),
                                              down_minor=100_00))
    globex = request(book, "S-G", customer_id=book.globex_id, by=None)
    assert plan_row(book, inside).status == "active"
    collector = staff(app)

    page = collector.client.get("/staff/plans").get_data(as_text=True)
    assert queued(page) == [waiting, globex]  # oldest first, the approved one not there
    shown = text(page)
    assert f"Plan {waiting} Acme Corp C-ACME $30,000.00 10 · Monthly" in shown
    for words in ("Total over the $25,000.00 limit", "More than 6 installments",
                  "First installment more than 45 days away",
                  "Down payment under the $3,000.00 minimum (10% of the total)"):
        assert words in shown
    assert "Waiting for approval" in shown

    assert queued(collector.client.get("/staff/plans?customer=C-GLOBEX")
                  .get_data(as_text=True)) == [globex]
    assert queued(collector.client.get("/staff/plans?status=active")
                  .get_data(as_text=True)) == [inside]
    assert queued(collector.client.get("/staff/plans?status=closed")
                  .get_data(as_text=True)) == []
    nav = collector.client.get("/staff/plans").get_data(as_text=True)
    assert re.search(r'href="/staff/plans" aria-current="page">Plans<', nav)


def test_the_plan_page_shows_the_customers_history(app, book):
    defaulted = request(book, "S-2", terms=Terms(2, MONTHLY, TODAY + dt.timedelta(days=20),
                                                 down_minor=100_00))
    completed = request(book, "S-4", terms=Terms(2, WEEKLY, TODAY + dt.timedelta(days=7),
                                                 down_minor=50_00))
    # What the daily run would have done by now: one plan defaulted, one paid off.
    with book.session() as uow:
        for plan_id, status in ((defaulted, DEFAULTED), (completed, COMPLETED)):
            plan = uow.session.get(Plan, plan_id)
            plan.status, plan.closed_at = status, utcnow()
        uow.session.get(Customer, book.acme_id).credit_limit_minor = 50_000_00
        uow.commit()
    plan_id = request(book, "S-3", terms=Terms(4, MONTHLY, TODAY + dt.timedelta(days=20),
                                               down_minor=200_00))
    assert plan_row(book, plan_id).policy_reasons == ["defaulted"]

    page = staff(app).client.get(f"/staff/plans/{plan_id}").get_data(as_text=True)
    shown = text(page)
    assert "Defaulted a plan in the last 365 days" in shown
    assert "Customer's reason A slow quarter" in shown
    assert f'href="/staff/plans/{defaulted}"' in page and f'href="/staff/plans/{completed}"' in page
    history = text(page[page.index("data-other-plans"):])
    assert f"Plan {completed} Completed $500.00" in history
    assert f"Plan {defaulted} Defaulted $1,000.00" in history
    assert re.search(r'data-defaulted>\s*<span class="overdue-text">Yes<', page)
    # Open AR: S-1, S-2, S-3, S-4 and nothing paid.
    assert "Open receivables $33,500.00 Credit limit $50,000.00" in shown
    assert "1 Customer 4 Monthly" in text(page[page.index("data-terms"):])
    assert "S-3" in text(page[page.index("data-invoices"):])


def test_approving_activates_the_plan_and_emails_the_requester(app, book, smtp_sink):
    plan_id = request(book, "S-1")
    collector = staff(app)
    response = decide(collector, plan_id, "approve", note="Approved given your history.")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/plans/{plan_id}")
    plan = plan_row(book, plan_id)
    assert (plan.status, plan.decided_by, plan.decision_note) == (
        "active", COLLECTOR, "Approved given your history.")
    assert len(plan.installments) == 10
    assert sum(i.amount_minor for i in plan.installments) == 30_000_00

    [mail] = smtp_sink.to(PAYER)
    assert mail["Subject"] == f"Your installment plan {plan_id} is approved"
    body = smtp_sink.text(mail)
    assert f"http://portal.test/plans/{plan_id}" in body
    assert "Approved given your history." in body
    page = collector.client.get(f"/staff/plans/{plan_id}").get_data(as_text=True)
    shown = text(page)
    assert "The plan is approved and active" in shown
    assert f"Decided by {COLLECTOR}" in shown
    schedule = text(page[page.index("data-installments"):page.index("data-history")])
    assert "1 Jan 19, 2027 $3,000.00 Due $0.00" in schedule
    assert "10 Oct 19, 2027 $3,000.00 Due $0.00" in schedule
    # Decided: no more decisions, and a second click changes nothing.
    again = decide(collector, plan_id, "reject", note="Changed my mind")
    assert again.status_code == 422 and "not waiting for that decision" in text(
        again.get_data(as_text=True))
    assert plan_row(book, plan_id).status == "active" and len(smtp_sink.messages) == 1


def test_a_counter_proposal_with_a_typed_down_payment(app, book, smtp_sink):
    plan_id = request(book, "S-1")
    first = TODAY + dt.timedelta(days=14)
    response = decide(staff(app), plan_id, "counter", count="4", frequency="monthly",
                      first_due_on=first.isoformat(), down="3,000.00",
                      note="Four months is our limit.")
    assert response.status_code == 303
    plan = plan_row(book, plan_id)
    assert (plan.status, plan.installments) == ("countered", [])
    assert [(t.version, t.side, t.count, t.frequency, t.first_due_on, t.down_minor)
            for t in plan.terms][-1] == (2, "vendor", 4, "monthly", first, 3_000_00)

    [mail] = smtp_sink.to(PAYER)
    assert mail["Subject"] == f"A counter-proposal for your installment plan {plan_id}"
    body = smtp_sink.text(mail)
    for words in ("4 installments", "How often: Monthly", "December 4, 2026",
                  "Down payment of $3,000.00", "Four months is our limit.",
                  "Accept or decline the proposal", f"http://portal.test/plans/{plan_id}"):
        assert words in body


def test_a_rejection_needs_a_reason(app, book, smtp_sink):
    plan_id = request(book, "S-1", by=None)
    collector = staff(app)
    response = decide(collector, plan_id, "reject", note="  ")
    assert response.status_code == 422
    assert "Say why the plan is rejected." in text(response.get_data(as_text=True))
    assert plan_row(book, plan_id).status == "requested" and smtp_sink.messages == []

    response = decide(collector, plan_id, "reject", note="Over our limit for this account.")
    assert response.status_code == 303
    plan = plan_row(book, plan_id)
    assert (plan.status, plan.decision_note) == ("rejected", "Over our limit for this account.")
    # Nobody signed in asked for it: the account's admins are told.
    [mail] = smtp_sink.messages
    assert mail["To"] == "admin@acme.example"
    assert mail["Subject"] == f"Your installment plan request {plan_id} is not approved"
    assert "Over our limit for this account." in smtp_sink.text(mail)
    assert plan_id in queued(collector.client.get("/staff/plans?status=closed")
                             .get_data(as_text=True))


@pytest.mark.parametrize("form, message", [
    ({"first_due_on": TODAY.isoformat()}, "Choose a first installment date after today."),
    ({"down": "12,34,5"}, "Enter the down payment as an amount"),
    ({"down": "30,000.00"}, "The down payment must be less than the total."),
    ({"count": "0"}, "Enter a number of installments from 1 to 120."),
    ({"frequency": "daily"}, "Choose weekly, every two weeks or monthly."),
])
def test_a_counter_proposal_that_makes_no_schedule_changes_nothing(app, book, smtp_sink,
                                                                   form, message):
    plan_id = request(book, "S-1")
    typed = {"count": "4", "frequency": "monthly",
             "first_due_on": (TODAY + dt.timedelta(days=14)).isoformat(), "down": "", **form}
    response = decide(staff(app), plan_id, "counter", **typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in text(page)
    assert 'id="counter-error"' in page  # next to the form it is about
    plan = plan_row(book, plan_id)
    assert (plan.status, len(plan.terms), plan.decided_at) == ("requested", 1, None)
    assert smtp_sink.messages == []


def test_who_may_read_and_who_may_decide(app, book, signed_in):  # noqa: F811
    plan_id = request(book, "S-1")
    viewer = staff(app, STAFF_VIEWER)
    assert viewer.client.get("/staff/plans").status_code == 200
    page = viewer.client.get(f"/staff/plans/{plan_id}").get_data(as_text=True)
    assert "/approve" not in page and "may read this plan but not decide" in text(page)
    token = csrf(page)
    for action, form in (("approve", {}), ("reject", {"note": "no"}),
                         ("counter", {"count": "2", "frequency": "monthly",
                                      "first_due_on": "2026-12-20"})):
        response = viewer.client.post(f"/staff/plans/{plan_id}/{action}",
                                      data={"csrf_token": token, **form})
        assert response.status_code == 403
    assert plan_row(book, plan_id).status == "requested"

    # A customer never reaches the staff pages; nobody signed in is sent to sign in.
    customer = signed_in("admin@acme.example")
    assert customer.client.get("/staff/plans").status_code == 404
    assert customer.client.get(f"/staff/plans/{plan_id}").status_code == 404
    anonymous = app.test_client().get("/staff/plans")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert staff(app).client.get("/staff/plans/999999").status_code == 404
