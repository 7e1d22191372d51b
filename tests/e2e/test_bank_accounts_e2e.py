"""In Chromium, /bank-accounts against the local Stripe and the local Plaid with its Link stand-in:
an admin links a bank account by keyboard alone and sees it listed, ready to pay; then enters
one by its numbers, authorizes the deposits and verifies them. The list, the form (both steps)
and the verification page pass axe at 1280 and 375 px, and the page's Content-Security-Policy
refuses nothing Link needs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.accounts import services
from portal.ledger.models import Customer
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.test_accounts_e2e import PASSWORD, sign_in

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def config(config, stripe_config, plaid_config, localplaid):
    """The e2e settings, plus the local Stripe and the local Plaid, connected to each other."""
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    return dataclasses.replace(
        config, clock=TODAY.isoformat(),
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base,
        plaid_client_id=plaid_config.plaid_client_id, plaid_secret=plaid_config.plaid_secret,
        plaid_api_base=plaid_config.plaid_api_base,
        plaid_link_js_url=plaid_config.plaid_link_js_url)


@pytest.fixture
def acme(live_server):
    """Acme Corp with an admin and a payer (who is told of each bank account added)."""
    database = live_server.app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        customer = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(customer)
        s.flush()
        for role in ("admin", "payer"):
            user = services.create_user(s, email=f"{role}@acme.example",
                                        name=f"Acme {role.title()}", password=PASSWORD)
            services.add_membership(s, user, customer.id, role)
        uow.commit()
    return database


def axe_clean(page, found: dict, name: str) -> None:
    found[name] = violations(page)


@pytest.mark.parametrize("width", [1280, 375])
def test_an_admin_links_and_enters_bank_accounts(live_server, acme, page_factory, smtp_sink,
                                                 width):
    base = live_server.url
    page = page_factory(width=width)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    sign_in(page, base, "admin@acme.example")
    page.wait_for_url(f"{base}/invoices")
    found: dict[str, list] = {}

    # From the account's home page to the bank accounts.
    page.goto(f"{base}/account")
    page.get_by_role("link", name="Add and remove the account's bank accounts (ACH)").click()
    page.wait_for_url(f"{base}/bank-accounts")
    expect(page.get_by_text("No bank accounts are saved yet.")).to_be_visible()
    axe_clean(page, found, "/bank-accounts (empty)")

    # Link with the bank, by keyboard: the button, then Link's dialog.
    link = page.get_by_role("button", name="Link with your bank (instant)")
    link.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Connect your bank")
    dialog.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert dialog.get_by_role("radio", name="Plaid Checking Checking ending in 6789").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("The First Platypus Bank checking account ending in 6789 was added. It "
                     "can pay invoices now.").wait_for()
    row = page.locator("tr[data-bank-account]")
    assert row.count() == 1
    assert re.sub(r"\s+", " ", row.inner_text()).startswith("First Platypus Bank")
    assert "Ready to pay" in row.inner_text()
    axe_clean(page, found, "/bank-accounts (linked)")
    screenshot(page, f"bank-accounts-linked-{width}")
    assert [m["To"] for m in smtp_sink.messages] == ["payer@acme.example"]

    # Cancelling Link says so, politely, and keeps the page as it was.
    link.click()
    dialog.wait_for()
    page.keyboard.press("Escape")
    page.get_by_text("No bank account was linked.").wait_for()
    assert row.count() == 1

    # Enter one by its numbers: step 1, step 2 (the authorization), the deposits.
    page.get_by_role("link", name="Enter account and routing number").click()
    page.wait_for_url(f"{base}/bank-accounts/new")
    axe_clean(page, found, "/bank-accounts/new")
    screenshot(page, f"bank-account-new-{width}")
    page.get_by_label("Name on the account").fill("Acme Corp")
    page.get_by_label("Savings").check()
    page.get_by_label("Routing number").fill("110000001")
    page.get_by_label("Account number", exact=True).fill("000222222227")
    page.get_by_label("Account number again").fill("000222222227")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This is not a valid US routing number.")).to_be_visible()
    assert page.get_by_label("Routing number").get_attribute("aria-invalid") == "true"
    axe_clean(page, found, "/bank-accounts/new (errors)")
    page.get_by_label("Routing number").fill("110000000")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Step 2 of 2").wait_for()
    expect(page.get_by_text("savings account ending in 2227 to verify it")).to_be_visible()
    axe_clean(page, found, "/bank-accounts/new (authorization)")
    screenshot(page, f"bank-account-authorize-{width}")
    page.get_by_label("I authorize this, on behalf of the account holder").check()
    page.get_by_role("button", name="Add the account and send the deposits").click()
    page.wait_for_url(re.compile(r"/bank-accounts/\d+/verify\?sent=1$"))
    expect(page.get_by_text("Two small deposits are on their way to it.")).to_be_visible()
    axe_clean(page, found, "/bank-accounts/<id>/verify")
    screenshot(page, f"bank-account-verify-{width}")
    page.get_by_label("First deposit").fill("0.45")
    page.get_by_label("Second deposit").fill("32")
    page.get_by_role("button", name="Verify", exact=True).click()
    page.get_by_text("The STRIPE TEST BANK savings account ending in 2227 is verified.").wait_for()
    assert page.locator("tr[data-bank-account]").count() == 2
    assert page.get_by_text("Ready to pay").count() == 2
    axe_clean(page, found, "/bank-accounts (two)")
    screenshot(page, f"bank-accounts-{width}")

    assert refused == [], "the page's CSP lets Link load and talk to its server"
    failing = {name: v for name, v in found.items() if v}
    assert not failing, "\n".join(f"{name}: {describe(v)}" for name, v in failing.items())
