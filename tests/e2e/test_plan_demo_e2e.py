"""Issue 9's acceptance test, in Chromium against the real ``portal demo``: a clerk asks
for a plan of three monthly installments within the vendor's policy (10% down) from an
invoice's page, sees the schedule computed as they type, and it is approved at once; they
pay the down payment by card through the checkout, saving the card, and set autopay with
it; ``portal plans charge-due`` run on each due date (the simulated clock,
``PORTAL_CLOCK``) charges each installment once, and the plan closes itself. Every page
passes axe; screenshots at 1280 px and the plan page at 375 px."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter

import pytest

from portal.plans.schedule import add_months
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.demo import cents, money
from tests.e2e.test_accounts_e2e import sign_in

pytestmark = pytest.mark.e2e

CLERK = "ap.clerk@greatlakes-fab.example"  # a payer of C-10042, the demo's large customer
COLLECTOR = "collections@northwind.example"
CARD = {"Card number": "4242424242424242", "Expiry month (MM)": "12",
        "Expiry year (YY)": "34", "Security code": "123", "Postal code": "12345"}


def accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}:\n{describe(found)}"


def test_a_plan_within_policy_paid_by_autopay_on_each_due_date(demo, page_factory):
    base = demo.url
    clerk = page_factory(width=1280, height=900)
    errors: list[str] = []
    clerk.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    sign_in(clerk, base, CLERK, demo.sign_ins[CLERK])
    clerk.wait_for_url(f"{base}/invoices")

    # From an invoice's page: "Request a payment plan", then a second invoice beside it.
    clerk.goto(f"{base}/plans/new")
    boxes = clerk.locator("input[name=invoice]")
    assert boxes.count() >= 2, "the demo has invoices a plan may cover"
    first_number = boxes.nth(0).get_attribute("value")
    clerk.goto(f"{base}/invoices/{first_number}")
    clerk.get_by_role("link", name="Request a payment plan").click()
    clerk.wait_for_url(re.compile(r".*/plans/new\?invoice="))
    assert clerk.locator("input[name=invoice]:checked").count() == 1
    clerk.locator("input[name=invoice]").nth(1).check()
    clerk.get_by_label("Number of installments").fill("3")
    clerk.get_by_label("How often").select_option("monthly")
    first_due = dt.date.fromisoformat(clerk.get_by_label("First installment on").input_value())
    # The schedule follows what is typed: the total, then 10% down (rounded up) for the
    # vendor's policy to approve it at once.
    settled(clerk)
    total = cents(clerk.locator("#plan-preview caption").inner_text())
    down = math.ceil(total / 10)
    clerk.get_by_label("Down payment today (optional)").fill(f"{down / 100:.2f}")
    clerk.get_by_label("Why you need a plan").fill("Two large orders landed in one month.")
    settled(clerk)
    verdict = clerk.locator("#plan-preview").inner_text()
    assert clerk.locator("[data-verdict=approved]").count() == 1, verdict
    rows = clerk.locator("[data-schedule] tbody tr")
    assert rows.count() == 4
    amounts = [cents(rows.nth(i).locator("td.money").inner_text()) for i in range(4)]
    each, rest = divmod(total - down, 3)
    assert amounts == [down, each, each, each + rest]
    accessible(clerk, "plan request")
    shots = [screenshot(clerk, "plan-request-1280")]
    clerk.get_by_role("button", name="Send the request").click()
    clerk.wait_for_url(re.compile(rf"{re.escape(base)}/plans/\d+$"))
    plan_url = clerk.url
    body = clerk.locator("body").inner_text()
    assert "Your plan is approved." in body and "Active" in body

    # The down payment by hand through the checkout, saving the card for autopay.
    clerk.get_by_role("button", name=f"Pay {money(down)} now").click()
    clerk.wait_for_url(lambda url: url.startswith(f"{base}/pay?"))
    assert cents(clerk.locator("[data-charge]").inner_text()) == down
    assert "An installment of your payment plan" in clerk.locator("body").inner_text()
    for label, value in CARD.items():
        clerk.get_by_label(label, exact=True).fill(value)
    clerk.get_by_label("Save this card for future payments of this account").check()
    clerk.get_by_role("button", name=f"Pay {money(down)}").click()
    clerk.wait_for_url(re.compile(rf"{re.escape(base)}/payments/\d+$"), timeout=30_000)
    assert f"Your payment of {money(down)} is complete" in clerk.locator("body").inner_text()

    # Autopay: first a new card entered on the plan page (Stripe.js saves it), then the
    # card saved at the checkout.
    clerk.goto(plan_url)
    assert clerk.locator("tr[data-installment='0'][data-status=paid]").count() == 1
    clerk.get_by_label("A new card").check()
    for label, value in {**CARD, "Card number": "5555555555554444"}.items():
        clerk.get_by_label(label, exact=True).fill(value)
    accessible(clerk, "plan (new card for autopay)")
    shots.append(screenshot(clerk, "plan-new-card-1280"))
    with clerk.expect_navigation():
        clerk.get_by_role("button", name="Use for autopay").click()
    flashed = clerk.locator(".alert").first.inner_text()
    # (localstripe names every test card's brand "visa")
    assert flashed.startswith("Autopay is on: each installment will be charged to the ") \
        and "card ending in 4444 on its date." in flashed, flashed
    clerk.get_by_label("Visa card ending in 4242").check()
    clerk.get_by_role("button", name="Use for autopay").click()
    clerk.get_by_text("Autopay is on: each installment will be charged to the Visa card "
                      "ending in 4242").wait_for()
    accessible(clerk, "plan (active, autopay)")
    shots.append(screenshot(clerk, "plan-active-1280"))

    # The invoice list counts the two invoices on the plan, not as late or due soon.
    clerk.goto(f"{base}/invoices")
    on_plan = clerk.locator("[data-figure=on_plan]")
    assert cents(on_plan.locator(".money").first.inner_text()) == total - down
    assert "2 invoices, paid by their plans' schedules" in on_plan.inner_text()
    accessible(clerk, "invoices (on plan)")
    shots.append(screenshot(clerk, "invoices-on-plan-1280"))
    on_plan.click()
    clerk.wait_for_url(f"{base}/invoices?status=on_plan")
    listed = clerk.locator("tbody tr[data-number]")
    assert listed.count() == 2 and first_number in " ".join(listed.all_inner_texts())

    # The operator's daily run on each due date: each installment charged once.
    before = _succeeded(demo)
    for k in range(3):
        day = _add_months(first_due, k)
        result = demo.command("plans", "charge-due", clock=day.isoformat())
        assert result.returncode == 0, result.stderr[-2000:]
        assert "1 charged, 1 paid, 0 declined" in result.stdout, result.stdout
        again = demo.command("plans", "charge-due", clock=day.isoformat())
        assert "0 charged" in again.stdout, again.stdout
    assert "1 completed" in result.stdout
    assert _succeeded(demo) - before == Counter(amounts[1:])  # at Stripe: once each

    clerk.goto(plan_url)
    body = clerk.locator("body").inner_text()
    assert "Paid in full." in body and "Completed" in body
    assert clerk.locator("tr[data-status=paid]").count() == 4
    accessible(clerk, "plan (completed)")
    shots.append(screenshot(clerk, "plan-completed-1280"))
    # The vendor's staff see it among closed plans, with the customer's history.
    collector = page_factory(width=1280, height=900)
    sign_in(collector, base, COLLECTOR, demo.sign_ins[COLLECTOR])
    collector.goto(f"{base}/staff/plans?status=closed")
    row = collector.locator("tbody tr", has_text=money(total))
    assert row.count() == 1, collector.locator("main").inner_text()
    accessible(collector, "staff plans (closed)")
    shots.append(screenshot(collector, "staff-plans-1280"))
    row.get_by_role("link").first.click()
    collector.wait_for_load_state("load")
    assert "Two large orders landed in one month." in collector.locator("main").inner_text()
    accessible(collector, "staff plan")
    shots.append(screenshot(collector, "staff-plan-1280"))
    phone = page_factory(width=375, height=800)
    sign_in(phone, base, CLERK, demo.sign_ins[CLERK])
    phone.goto(plan_url)
    accessible(phone, "plan (completed, phone)")
    shots.append(screenshot(phone, "plan-completed-375"))
    assert not errors, errors
    assert all(shot.exists() for shot in shots)


def settled(page) -> None:
    """Wait until the live schedule has caught up with what was typed (its requests wait
    a quarter second after the last keystroke)."""
    page.wait_for_timeout(400)
    page.wait_for_load_state("networkidle")
    page.locator("[data-schedule]").wait_for()


def _succeeded(demo) -> Counter:
    return Counter(pi["amount"] for pi in demo.payment_intents() if pi["status"] == "succeeded")


def _add_months(day: dt.date, months: int) -> dt.date:
    return add_months(day, months)
