"""The customer's plan pages on SQLite and PostgreSQL: the request page's live schedule
and the policy's verdict, a request approved at once, bad terms marked with nothing
written, an installment paid by hand through the checkout (so autopay charges nothing
for it), autopay set with a saved card, the answer to a counter-proposal, and reach."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from portal import ledger
from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Allocation, Customer, Invoice
from portal.plans import autopay, services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, Policy
from portal.plans.services import Terms
from tests.integration.checkout.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    VISA,
    clock,
    config,
    csrf,
    form_on,
    issue,
    pay,
    signed_in,
    text,
    world,
)
from tests.integration.plans.test_plan_requests import ids

FIRST = TODAY + dt.timedelta(days=30)


@pytest.fixture
def book(world):  # noqa: F811
    """Acme: Q-1 $1,000.00 overdue, Q-2 $999.99 due in 5 days; Globex: QG-1 $300.00."""
    with world.session() as uow:
        s = uow.session
        acme, globex = s.get(Customer, world.acme_id), s.get(Customer, world.globex_id)
        issue(s, acme, "Q-1", 1_000_00, due=TODAY - dt.timedelta(days=5))
        issue(s, acme, "Q-2", 999_99, due=TODAY + dt.timedelta(days=5))
        issue(s, globex, "QG-1", 300_00)
        uow.commit()
    return world


def terms(**changes) -> dict:
    return {"invoice": ["Q-1", "Q-2"], "count": "3", "frequency": "monthly",
            "first_due_on": FIRST.isoformat(), "down_payment": "200.00",
            "reason": "A slow quarter", **changes}


def request_plan(payer, **changes):
    page = payer.client.get("/plans/new?invoice=Q-1&invoice=Q-2").get_data(as_text=True)
    return payer.client.post("/plans/new", data={**terms(**changes), "csrf_token": csrf(page)})


@dataclasses.dataclass(frozen=True)
class Seen:
    id: int
    status: str
    total_minor: int
    installments: list[tuple[int, str, int]]  # number, status, paid


def plans(book) -> list[Seen]:
    with book.database.session() as session:
        return [Seen(p.id, p.status, p.total_minor,
                     [(i.number, i.status, i.paid_minor) for i in p.installments])
                for p in session.scalars(select(Plan).order_by(Plan.id))]


def ledger_ok(book) -> None:
    with book.database.session() as session:
        assert run_checks(session).ok


def test_the_schedule_is_shown_live_then_the_request_is_approved_at_once(book, signed_in):  # noqa: F811
    payer = signed_in()
    page = payer.client.get("/plans/new?invoice=Q-1&invoice=Q-2").get_data(as_text=True)
    assert page.count('name="invoice"') == 2 and page.count(" checked>") == 2
    fragment = payer.client.post("/plans/preview", data={**terms(), "csrf_token": csrf(page)})
    words = text(fragment.get_data(as_text=True))
    # $1,999.99 less $200.00 down: $1,799.99 in three, the odd cent on the last.
    assert "The schedule: $1,999.99 in all" in words
    assert "Down payment" in words and words.count("$599.99") == 2 and "$600.01" in words
    assert "approved as soon as you send it" in words
    # Outside the policy (7 installments, nothing down): the vendor decides, and why.
    fragment = payer.client.post("/plans/preview", data={
        **terms(count="7", down_payment=""), "csrf_token": csrf(page)})
    words = text(fragment.get_data(as_text=True))
    assert "The vendor decides on this request" in words
    assert "More than 6 installments" in words
    assert "Down payment under the $200.00 minimum (10% of the total)" in words

    response = request_plan(payer)
    assert response.status_code == 303, text(response.get_data(as_text=True))
    [plan] = plans(book)
    assert (plan.status, plan.total_minor, len(plan.installments)) == ("active", 1_999_99, 4)
    page = text(payer.client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Your plan is approved." in page and "Installment 3" in page
    assert "Pay $200.00 now" in page and "Pay off the plan: $1,999.99" in page
    assert "Off: pay each installment on this page by its date." in page
    assert "Plan " + str(plan.id) in text(payer.client.get("/plans").get_data(as_text=True))


def listed(page: str, plan_id: int) -> dict[str, str]:
    """The words of plan ``plan_id``'s row on /plans, by column."""
    row = re.search(rf'<tr data-plan="{plan_id}">(.*?)</tr>', page, re.S).group(1)
    cells = dict(re.findall(r'<td[^>]*data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S))
    return {label: text(cell) for label, cell in cells.items()}


def test_the_plans_list_says_what_comes_next(book, signed_in):  # noqa: F811
    payer = signed_in()
    request_plan(payer)
    [active] = plans(book)
    page = payer.client.get("/plans").get_data(as_text=True)
    assert 'href="/plans/new">Request a payment plan</a>' in page
    row = listed(page, active.id)
    assert row["Status"] == "Active" and row["Total"] == "$1,999.99"
    assert row["Left to pay"] == "$1,999.99"
    assert row["Next installment"] == f"$200.00 due {TODAY:%b} {TODAY.day}, {TODAY.year}"
    assert row["Autopay"] == "Off"

    # The down payment paid by check, recorded by the ERP (no daily run since): the next is
    # installment 1, a month on, on the list and on the plan's page alike.
    with book.session() as uow:
        ledger.record_external_payment(
            uow.session, customer_id=book.acme_id, amount_minor=200_00, currency="USD",
            idempotency_key="chk-down", reference="CHK 7",
            allocations=[ledger.AllocationInput(ids(book, "Q-1")[0], 200_00)])
        uow.commit()
    detail = text(payer.client.get(f"/plans/{active.id}").get_data(as_text=True))
    assert f"Installment 1, due {FIRST:%B} {FIRST.day}, {FIRST.year}" in detail
    assert "Pay $599.99 now" in detail
    row = listed(payer.client.get("/plans").get_data(as_text=True), active.id)
    assert row["Left to pay"] == "$1,799.99"
    assert row["Next installment"] == f"$599.99 due {FIRST:%b} {FIRST.day}, {FIRST.year}"

    # Asked outside the policy: waiting for the vendor; nothing to pay yet.
    with book.session() as uow:
        s = uow.session
        extra = issue(s, s.get(Customer, book.acme_id), "Q-3", 500_00)
        waiting = services.request_plan(
            s, customer_id=book.acme_id, invoice_ids=[extra.id],
            terms=Terms(12, MONTHLY, FIRST), reason="Cash", user_id=None, policy=Policy(),
            today=TODAY)
        uow.commit()
        waiting_id = waiting.id
    row = listed(payer.client.get("/plans").get_data(as_text=True), waiting_id)
    assert row["Status"] == "Waiting for approval" and row["Left to pay"] == "\N{EN DASH}"
    assert re.fullmatch(r"Waiting for .+'s decision", row["Next installment"])

    viewer = signed_in("viewer@acme.example")
    assert "Request a payment plan" not in viewer.client.get("/plans").get_data(as_text=True)


@pytest.mark.parametrize(("changes", "message"), [
    ({"count": "0"}, "Enter a number of installments from 1 to 60."),
    ({"frequency": "daily"}, "Choose weekly, every two weeks or monthly."),
    ({"first_due_on": TODAY.isoformat()}, "Choose a first installment date after today."),
    ({"first_due_on": "next month"}, "Enter the first installment's date"),
    ({"down_payment": "lots"}, "Enter the down payment as an amount"),
    ({"down_payment": "1999.99"}, "The down payment must be less than the total."),
    ({"reason": "  "}, "Say in a few words why you need a plan."),
    ({"invoice": []}, "Choose the invoices the plan is for."),
    ({"invoice": ["Q-1", "QG-1"]}, "Choose invoices of this account only."),
])
def test_what_is_wrong_is_said_and_nothing_is_written(book, signed_in, changes, message):  # noqa: F811
    response = request_plan(signed_in(), **changes)
    assert response.status_code == 422
    assert message in text(response.get_data(as_text=True))
    assert plans(book) == []


def test_an_installment_paid_by_hand_is_not_charged_again_by_autopay(
        app, book, signed_in, stripe_js):  # noqa: F811
    payer = signed_in()
    request_plan(payer)
    [plan] = plans(book)
    # "Pay $200.00 now": the checkout, with the down payment on the oldest invoice.
    page = payer.client.get(f"/plans/{plan.id}").get_data(as_text=True)
    response = payer.client.post(f"/plans/{plan.id}/pay", data={
        "what": "next", "csrf_token": csrf(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/pay?invoice=Q-1&amount-Q-1=200.00"
    checkout = payer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "An installment of your payment plan: no reason needed." in text(checkout)
    form = form_on(checkout, payment_method=stripe_js.create_card(VISA), save_card="1")
    paid = pay(payer, form)
    assert paid.status_code == 303, text(paid.get_data(as_text=True))
    assert plans(book)[0].installments[:2] == [(0, "paid", 200_00), (1, "due", 0)]
    with book.database.session() as session:
        [allocation] = session.scalars(select(Allocation)).all()
        assert (allocation.amount_minor, allocation.short_pay_reason) == (
            200_00, "plan_installment")
    # Autopay with the card just saved; today's run has nothing left to charge.
    page = payer.client.get(f"/plans/{plan.id}").get_data(as_text=True)
    [card] = re.findall(r'name="method" value="(card:pm_[^"]+)"', page)
    response = payer.client.post(f"/plans/{plan.id}/autopay", data={
        "method": card, "csrf_token": csrf(page)})
    assert response.status_code == 303
    page = text(payer.client.get(f"/plans/{plan.id}").get_data(as_text=True))
    assert "Autopay is on: each installment will be charged to the Visa card ending in 4242" \
        in page
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    with app.app_context():
        run = autopay.charge_due(app.extensions["portal.db"], gateway, TODAY)
        assert run.charged == 0
        # On the first installment's date it is charged, once.
        run = autopay.charge_due(app.extensions["portal.db"], gateway, FIRST)
        again = autopay.charge_due(app.extensions["portal.db"], gateway, FIRST)
    assert (run.charged, run.paid, again.charged) == (1, 1, 0)
    with book.database.session() as session:
        balances = dict(session.execute(select(Invoice.number, Invoice.balance_minor)
                                        .where(Invoice.number.in_(["Q-1", "Q-2"]))).all())
    # $200.00 down then $599.99, both on the oldest invoice first.
    assert balances == {"Q-1": 200_01, "Q-2": 999_99}
    ledger_ok(book)


def test_paying_off_the_plan_completes_it(book, signed_in, stripe_js):  # noqa: F811
    payer = signed_in()
    request_plan(payer)
    [plan] = plans(book)
    page = payer.client.get(f"/plans/{plan.id}").get_data(as_text=True)
    response = payer.client.post(f"/plans/{plan.id}/pay", data={
        "what": "all", "csrf_token": csrf(page)})
    assert response.headers["Location"] == (
        "/pay?invoice=Q-1&invoice=Q-2&amount-Q-1=1000.00&amount-Q-2=999.99")
    checkout = payer.client.get(response.headers["Location"]).get_data(as_text=True)
    assert pay(payer, form_on(checkout, payment_method=stripe_js.create_card(VISA))) \
        .status_code == 303
    [plan] = plans(book)
    assert plan.status == "completed"
    page = text(payer.client.get(f"/plans/{plan.id}").get_data(as_text=True))
    assert "Paid in full." in page
    ledger_ok(book)


def test_the_customer_accepts_or_declines_a_counter_proposal(book, signed_in):  # noqa: F811
    payer = signed_in()
    for number, count in (("Q-1", "8"), ("Q-2", "9")):
        assert request_plan(payer, count=count, invoice=[number]).status_code == 303
    first, second = plans(book)
    assert (first.status, second.status) == ("requested", "requested")
    with book.session() as uow:
        for plan_id in (first.id, second.id):
            plan = uow.session.get(Plan, plan_id)
            services.counter(uow.session, plan, Terms(6, MONTHLY, FIRST, 100_00),
                             by="casey@vendor.example", today=TODAY, note="Six at most")
        uow.commit()
    page = payer.client.get(f"/plans/{first.id}").get_data(as_text=True)
    words = text(page)
    assert "proposes other terms" in words and "Their note: Six at most" in words
    payer.client.post(f"/plans/{first.id}/answer", data={"answer": "accept",
                                                        "csrf_token": csrf(page)})
    payer.client.post(f"/plans/{second.id}/answer", data={"answer": "decline",
                                                         "csrf_token": csrf(page)})
    first, second = plans(book)
    assert (first.status, len(first.installments), second.status) == ("active", 7, "declined")
    assert first.installments[0] == (0, "due", 0)  # $100.00 down, then six


def test_another_accounts_plan_is_not_found_and_a_viewer_cannot_act(app, book, signed_in):  # noqa: F811
    with book.session() as uow:
        s = uow.session
        globex_invoice = s.scalars(select(Invoice).where(Invoice.number == "QG-1")).one()
        plan = services.request_plan(
            s, customer_id=book.globex_id, invoice_ids=[globex_invoice.id],
            terms=Terms(3, MONTHLY, FIRST, 30_00), reason="Cash", user_id=None,
            policy=Policy(), today=TODAY)
        uow.commit()
        globex_plan = plan.id
    payer = signed_in()
    assert payer.client.get(f"/plans/{globex_plan}").status_code == 404
    page = payer.client.get("/plans").get_data(as_text=True)
    assert payer.client.post(f"/plans/{globex_plan}/pay", data={
        "what": "all", "csrf_token": csrf(page)}).status_code == 404
    request_plan(payer)
    mine = plans(book)[-1].id
    viewer = signed_in("viewer@acme.example")
    assert viewer.client.get(f"/plans/{mine}").status_code == 200
    assert viewer.client.get("/plans/new").status_code == 403
    page = viewer.client.get("/plans").get_data(as_text=True)
    assert viewer.client.post(f"/plans/{mine}/pay", data={
        "what": "all", "csrf_token": csrf(page)}).status_code == 403
    with book.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Allocation)) == 0


def test_the_invoice_lists_selection_goes_to_the_request_page(book, signed_in):  # noqa: F811
    payer = signed_in()
    page = payer.client.get("/invoices").get_data(as_text=True)
    assert 'formaction="/plans/start"' in page and "Request a payment plan" in page
    response = payer.client.post("/plans/start", data={
        "selection": "some", "invoice": ["Q-1", "Q-2"], "csrf_token": csrf(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/plans/new?invoice=Q-1&invoice=Q-2"
    # Q-1 goes on a plan; chosen again, it is said to be unavailable, and not offered.
    assert request_plan(payer, invoice=["Q-1"], count="9").status_code == 303
    page = payer.client.get("/plans/new?invoice=Q-1&invoice=Q-2").get_data(as_text=True)
    assert "1 of the invoices you chose cannot go on a plan" in text(page)
    assert re.findall(r'name="invoice" value="([^"]+)"', page) == ["Q-2"]
    viewer = signed_in("viewer@acme.example").client.get("/invoices").get_data(as_text=True)
    assert "/plans/start" not in viewer


def test_autopay_with_a_new_card_saved_on_the_plan_page_then_off(
        app, book, signed_in, stripe_js):  # noqa: F811
    payer = signed_in()
    request_plan(payer)
    [plan] = plans(book)
    page = payer.client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert 'value="newcard"' in page and 'id="card-element"' in page
    answer = payer.client.post(f"/plans/{plan.id}/card-setup", data={"csrf_token": csrf(page)})
    assert answer.status_code == 200
    secret = answer.get_json()["client_secret"]
    # What Stripe.js does with the card Element on the page.
    saved = stripe_js.confirm_card_setup(secret, stripe_js.create_card(VISA))
    assert saved["status"] == "succeeded"
    # A SetupIntent id that is not this account's, or not confirmed, is refused.
    other = StripeGateway.from_config(app.config["PORTAL"]).create_setup_intent(
        StripeGateway.from_config(app.config["PORTAL"]).ensure_customer(
            "other", name="Other", email="other@example.com").id)
    for bad in (other.id, "seti_nonsense", "not-an-id"):
        response = payer.client.post(f"/plans/{plan.id}/autopay", data={
            "method": "newcard", "setup_intent": bad, "csrf_token": csrf(page)},
            follow_redirects=True)
        assert "Autopay is on" not in text(response.get_data(as_text=True)), bad
    response = payer.client.post(f"/plans/{plan.id}/autopay", data={
        "method": "newcard", "setup_intent": saved["id"], "csrf_token": csrf(page)},
        follow_redirects=True)
    assert "Autopay is on: each installment will be charged to the Visa card ending in 4242" \
        in text(response.get_data(as_text=True))
    with book.database.session() as session:
        assert session.get(Plan, plan.id).autopay_method_id == saved["payment_method"]
    # "Turn autopay off", with a card still chosen in the list.
    page = payer.client.get(f"/plans/{plan.id}").get_data(as_text=True)
    response = payer.client.post(f"/plans/{plan.id}/autopay", data={
        "method": f"card:{saved['payment_method']}", "off": "1", "csrf_token": csrf(page)},
        follow_redirects=True)
    assert "Autopay is off" in text(response.get_data(as_text=True))
    with book.database.session() as session:
        assert session.get(Plan, plan.id).autopay_method_id is None
