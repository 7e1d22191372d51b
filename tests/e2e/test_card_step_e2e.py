"""In Chromium, the checkout's card step against the local Stripe and its Stripe.js stand-in:
a declined card is explained and nothing is charged; a card that needs 3-D Secure is verified
in the stand-in's dialog and the payment settles; a saved card pays again without typing it;
the card form, the verification page and /cards pass axe at 1280 and 375 px."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal import ledger
from portal.accounts import services
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.test_accounts_e2e import PASSWORD, sign_in

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 11, 20)
PAID_PAGE = re.compile(r"/payments/\d+$")


@pytest.fixture
def config(config, stripe_config):
    """The e2e settings, plus the local Stripe (its Stripe.js stand-in is what pages load)."""
    return dataclasses.replace(
        config, clock=TODAY.isoformat(),
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base)


@pytest.fixture
def acme(live_server):
    """Acme's payer with four open invoices F-1..F-4 of $100, $200, $300 and $400."""
    database = live_server.app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        customer = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(customer)
        s.flush()
        user = services.create_user(s, email="payer@acme.example", name="Acme Payer",
                                    password=PASSWORD)
        services.add_membership(s, user, customer.id, "payer")
        for i in range(1, 5):
            ledger.create_invoice(s, ledger.InvoiceInput(
                number=f"F-{i}", customer_id=customer.id, currency="USD",
                issue_date=TODAY - dt.timedelta(days=40), due_date=TODAY - dt.timedelta(days=10),
                terms="net 30", lines=[ledger.LineInput("Hydraulic hose assembly", i * 100_00)]))
        uow.commit()
    return database


def open_checkout(page, base: str, *numbers: str) -> None:
    page.goto(f"{base}/pay?" + "&".join(f"invoice={n}" for n in numbers))
    page.get_by_label("Card number").wait_for()


def type_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YY)").fill("34")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("Postal code").fill("60601")


def ledger_ok(database) -> None:
    with database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation


@pytest.mark.parametrize("width", [1280, 375])
def test_the_card_step_in_a_browser(live_server, acme, page_factory, width):
    base = live_server.url
    page = page_factory(width=width)
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")
    found = {}

    # A declined card: the reason, nothing charged, the same checkout to try again.
    open_checkout(page, base, "F-1", "F-2")
    found["/pay (card form)"] = violations(page)
    screenshot(page, f"checkout-card-{width}")
    type_card(page, "4000000000000002")
    page.get_by_role("button", name="Pay $300.00").click()
    alert = page.locator("#pay-error")
    alert.wait_for()
    assert alert.inner_text() == ("The payment did not go through: The card was declined by "
                                  "the bank that issued it. Nothing was charged.")
    found["/pay (declined)"] = violations(page)
    screenshot(page, f"checkout-declined-{width}")
    expect(page.get_by_role("button", name="Pay $300.00")).to_be_visible()

    # 3-D Secure, and the card saved: the stand-in's dialog stands for the bank's.
    type_card(page, "4000002760003184")
    page.get_by_label("Save this card for future payments of this account").check()
    page.get_by_role("button", name="Pay $300.00").click()
    page.wait_for_url(re.compile(r"/payments/\d+/authenticate$"))
    page.get_by_role("button", name="Complete authentication").wait_for()
    found["/payments/<id>/authenticate"] = violations(page)
    screenshot(page, f"checkout-3ds-{width}")
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(PAID_PAGE)
    expect(page.get_by_text("Thank you. Your payment of $300.00 is complete")).to_be_visible()
    expect(page.get_by_text("Visa ending in 3184")).to_be_visible()

    # The saved card pays the next invoices without Stripe.js being asked for a card.
    page.goto(f"{base}/pay?invoice=F-3")
    assert page.get_by_label("Visa ending in 3184").is_checked()
    assert page.locator("#new-card").is_hidden()
    page.get_by_role("button", name="Pay $300.00").click()
    page.wait_for_url(re.compile(r"/payments/\d+(/authenticate)?$"))
    if page.url.endswith("/authenticate"):  # this test card asks every time, as at Stripe
        page.get_by_role("button", name="Complete authentication").click()
        page.wait_for_url(PAID_PAGE)
    expect(page.get_by_text("Thank you. Your payment of $300.00 is complete")).to_be_visible()

    page.goto(f"{base}/cards")
    expect(page.get_by_role("rowheader", name="Visa ending in 3184")).to_be_visible()
    found["/cards"] = violations(page)
    screenshot(page, f"saved-cards-{width}")
    assert not any(found.values()), "\n".join(
        f"{where}:\n{describe(items)}" for where, items in found.items() if items)
    ledger_ok(acme)
