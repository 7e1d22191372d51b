"""Issue 7's acceptance test, in Chromium against the real ``portal demo``: open the
invoice link the demo prints, continue, download the PDF, pay by card, get the receipt
— without an account. Every page passes axe; screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import pdf
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.demo import cents, money

pytestmark = pytest.mark.e2e

CARD = {"Card number": "4242424242424242", "Expiry month (MM)": "12",
        "Expiry year (YY)": "34", "Security code": "123", "Postal code": "12345"}
PAYER_NAME, PAYER_EMAIL = "Dana Reyes", "dana.reyes@outside-ap.example"


def demo_link(output: str) -> str:
    found = re.findall(r"^invoice link: (\S+)$", output, re.M)
    assert len(found) == 1, output
    return found[0]


def accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}:\n{describe(found)}"


@pytest.mark.parametrize("width", [1280, 375])
def test_a_payer_without_an_account_pays_the_demo_link_by_card(demo, page_factory,
                                                               smtp_sink, width):
    url = demo_link(demo.output)
    page = page_factory(width=width, height=900)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

    # The landing page: what the link is for; a GET grants nothing.
    response = page.goto(url)
    assert response.status == 200 and "set-cookie" not in response.headers
    number = page.get_by_role("heading", level=1).inner_text().removeprefix("Invoice ")
    accessible(page, "landing")
    shots = [screenshot(page, f"link-demo-landing-{width}")]
    page.get_by_role("button", name="View invoice").click()
    page.wait_for_url(f"{demo.url}/i/invoice")
    accessible(page, "invoice")

    # The invoice's PDF.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert number in pdf.text(Path(download.value.path()).read_bytes())

    # The checkout: the demo's link is inside its early-payment discount window.
    page.get_by_role("link", name="Pay this invoice").click()
    page.wait_for_url(f"{demo.url}/i/pay")
    expect(page.get_by_text("Pays it in full with the discount")).to_be_visible()
    charge = cents(page.locator("[data-charge]").inner_text())
    page.get_by_label("Your name").fill(PAYER_NAME)
    page.get_by_label("Your e-mail").fill(PAYER_EMAIL)
    page.get_by_label("Card", exact=True).check()
    for label, value in CARD.items():
        page.get_by_label(label, exact=True).fill(value)
    accessible(page, "pay")
    shots.append(screenshot(page, f"link-demo-pay-{width}"))
    page.get_by_role("button", name=f"Pay {money(charge)}").click()

    # Paid: the payment's page, its receipt, the e-mail to the address typed.
    page.wait_for_url(re.compile(rf"{re.escape(demo.url)}/i/payments/\d+$"), timeout=30_000)
    assert page.locator("[data-outcome]").inner_text().strip() == (
        f"Thank you. Your payment of {money(charge)} is complete; a receipt is on its way "
        f"to {PAYER_EMAIL}.")
    assert PAYER_NAME in page.locator("[data-who]").inner_text()
    accessible(page, "payment")
    shots.append(screenshot(page, f"link-demo-paid-{width}"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt").click()
    receipt = pdf.text(Path(download.value.path()).read_bytes())
    assert number in receipt and money(charge) in receipt
    # What the card was charged, at the demo's local Stripe: the total the page showed.
    charged = [i["amount_received"] for i in demo.payment_intents()
               if i["status"] == "succeeded"]
    assert charged == [charge], charged
    deadline = time.monotonic() + 15
    while not smtp_sink.to(PAYER_EMAIL) and time.monotonic() < deadline:
        time.sleep(0.2)
    [message] = smtp_sink.to(PAYER_EMAIL)
    assert message["Subject"] == f"Receipt for your payment of {money(charge)}"

    # The invoice shows it paid and lists the payment; no account was ever signed in.
    page.get_by_role("link", name="Back to the invoice").click()
    assert "Paid" in page.locator(".badges").first.inner_text()
    assert page.get_by_role("link", name="Pay this invoice").count() == 0
    page.goto(f"{demo.url}/invoices")
    assert page.url.startswith(f"{demo.url}/login")
    assert not console, console
    print("screenshots:", *shots)


def test_a_payer_without_an_account_pays_the_demo_link_from_a_bank_account(demo,
                                                                          page_factory):
    page = page_factory(width=1280, height=900)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(demo_link(demo.output))
    page.get_by_role("button", name="View invoice").click()
    page.get_by_role("link", name="Pay this invoice").click()
    charge = cents(page.locator("[data-charge]").inner_text())
    page.get_by_label(re.compile(r"^Bank account \(ACH debit\)")).check()
    # Connecting asks who pays first: the authorization names them.
    page.get_by_role("button", name="Connect your bank").click()
    assert page.get_by_role("dialog").count() == 0
    page.get_by_label("Your name").fill(PAYER_NAME)
    page.get_by_label("Your e-mail").fill(PAYER_EMAIL)
    page.get_by_role("button", name="Connect your bank").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile("Plaid Checking")).check()
    dialog.get_by_role("button", name="Continue").click()

    page.locator("#connected-bank").wait_for()
    assert "ending in 6789" in page.locator("#connected-bank").inner_text()
    authorization = page.locator("#ach-authorization").inner_text()
    assert f"I, {PAYER_NAME} ({PAYER_EMAIL})" in authorization and money(charge) in authorization
    accessible(page, "pay (bank connected)")
    shots = [screenshot(page, "link-demo-ach-authorize-1280")]
    page.get_by_label("I authorize this debit").check()
    page.get_by_role("button", name=f"Pay {money(charge)}").click()
    page.wait_for_url(re.compile(rf"{re.escape(demo.url)}/i/payments/\d+$"), timeout=30_000)
    outcome = page.locator("[data-outcome]").inner_text()
    assert outcome.startswith(f"Thank you. Your bank debit of {money(charge)} is processing")
    accessible(page, "payment (processing)")
    shots.append(screenshot(page, "link-demo-ach-processing-1280"))
    [intent] = [i for i in demo.payment_intents() if i["status"] == "processing"]
    assert intent["amount"] == charge
    assert not console, console
    print("screenshots:", *shots)


def test_a_payer_without_an_account_disputes_the_demo_link_on_a_phone(demo, page_factory):
    page = page_factory(width=375, height=800)
    page.goto(demo_link(demo.output))
    page.get_by_role("button", name="View invoice").click()
    page.get_by_role("link", name="Dispute", exact=True).click()
    page.wait_for_url(f"{demo.url}/i/dispute")
    accessible(page, "link dispute form")
    page.get_by_label("Your name").fill(PAYER_NAME)
    page.get_by_label("Your e-mail").fill(PAYER_EMAIL)
    page.locator("input[name=line]").first.check()
    page.get_by_label("Reason").select_option(label="Pricing")
    page.get_by_label("Describe the problem").fill("The unit price is not the one we agreed.")
    shots = [screenshot(page, "link-demo-dispute-new-375")]
    page.get_by_role("button", name="Open the dispute").click()
    page.wait_for_url(re.compile(rf"{re.escape(demo.url)}/i/disputes/\d+\?opened=1$"))
    assert f"Their answers are e-mailed to {PAYER_EMAIL}." in page.locator("body").inner_text()
    accessible(page, "link dispute thread")
    shots.append(screenshot(page, "link-demo-dispute-375"))
    page.get_by_role("link", name="Back to the invoice").click()
    assert "Disputed:" in page.locator(".badges").first.inner_text()
    print("screenshots:", *shots)
