"""ACH's acceptance test, in Chromium against the real ``portal demo``.

The demo's large customer's admin links a bank account through the Link
stand-in (the demo starts a local Plaid when no Plaid keys are set), pays two
open invoices by bank debit after accepting the debit authorization, and sees
both invoices "processing" with the date the debit is expected by. The bank
then confirms the debit (the local Stripe's ACH control, as a test clock would:
Stripe's own test mode settles on its own), the signed webhook reaches the
demo, the invoices show paid, and the receipt is there to download.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests import pdf
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.demo import cents, money
from tests.e2e.test_accounts_e2e import sign_in

pytestmark = pytest.mark.e2e

ADMIN = "ap.admin@greatlakes-fab.example"  # the admin of C-10042, the demo's large customer


def stripe_post(demo, path: str) -> dict:
    request = urllib.request.Request(f"{demo.stripe_url}{path}", data=b"", method="POST",
                                     headers={"Authorization": "Bearer sk_test_e2e"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def two_open_invoices(page) -> list[str]:
    rows = page.locator("tr[data-number]").evaluate_all("""rows => rows.map(r => ({
        number: r.dataset.number,
        payable: !!r.querySelector('input.select-invoice'),
        status: r.querySelector('.c-status').innerText}))""")
    plain = [r["number"] for r in rows if r["payable"] and "processing" not in r["status"]
             and "Partly paid" not in r["status"]]
    assert len(plain) >= 2, rows
    return plain[:2]


def test_admin_links_a_bank_and_pays_two_invoices_by_ach(demo, page_factory):
    base = demo.url
    assert ADMIN in demo.sign_ins, demo.output
    assert re.search(r"^plaid: local stand-in", demo.output, re.M), demo.output
    page = page_factory(width=1280, height=900)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    sign_in(page, base, ADMIN, demo.sign_ins[ADMIN])
    page.wait_for_url(f"{base}/invoices")

    # Link a bank account through the Link stand-in.
    page.goto(f"{base}/bank-accounts")
    page.get_by_role("button", name=re.compile("Link with your bank")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile("Plaid Checking")).check()
    dialog.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    page.get_by_text(re.compile("ending in 6789")).first.wait_for()
    shots = [screenshot(page, "ach-demo-bank-accounts-1280")]

    # Two open invoices, by bank debit.
    page.goto(f"{base}/invoices?status=open")
    numbers = two_open_invoices(page)
    for number in numbers:
        page.get_by_label(f"Select invoice {number},").check()
    page.get_by_role("button", name="Pay selected").click()
    page.wait_for_url(lambda url: url.startswith(f"{base}/pay?"))
    assert page.get_by_label(re.compile("Bank account \\(ACH debit\\)")).is_checked()
    authorization = page.locator("[data-authorization-for]:visible")
    assert authorization.count() == 1
    assert "ending in 6789" in authorization.inner_text()
    total = cents(page.locator("#checkout-totals [data-charge]").inner_text())
    assert money(total) in authorization.inner_text()
    found = violations(page)
    assert not found, describe(found)
    page.get_by_label("I authorize this debit").check()
    shots.append(screenshot(page, "ach-demo-checkout-1280"))
    page.set_viewport_size({"width": 375, "height": 800})
    shots.append(screenshot(page, "ach-demo-checkout-375"))
    found = violations(page)
    assert not found, describe(found)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name=f"Pay {money(total)}").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/payments/\d+$"), timeout=30_000)
    payment_id = page.url.rsplit("/", 1)[1]
    assert "Your bank debit of" in page.locator("body").inner_text()
    assert page.locator("[data-method]").inner_text().strip() == "Bank account ending in 6789"
    shots.append(screenshot(page, "ach-demo-processing-1280"))

    for number in numbers:
        page.goto(f"{base}/invoices/{number}")
        assert "Payment processing — expected by" in page.locator("body").inner_text()

    # The bank confirms the debit; the webhook reaches the demo.
    [intent] = [i for i in demo.payment_intents()
                if i["metadata"].get("portal_payment_id") == payment_id]
    assert (intent["status"], intent["amount"]) == ("processing", total)
    stripe_post(demo, f"/_ach/payment_intents/{intent['id']}/settle")
    deadline = time.monotonic() + 20
    while True:
        page.goto(f"{base}/invoices/{numbers[0]}")
        if "Paid" in page.locator(".badges").first.inner_text():
            break
        assert time.monotonic() < deadline, "the success webhook never settled the payment"
        time.sleep(0.5)
    page.goto(f"{base}/invoices/{numbers[1]}")
    assert "Paid" in page.locator(".badges").first.inner_text()

    page.goto(f"{base}/payments/{payment_id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt").click()
    receipt = pdf.text(Path(download.value.path()).read_bytes())
    assert re.search(rf"Total received \(USD\)\s+{re.escape(money(total))}", receipt), receipt
    assert "Bank account ending in 6789" in receipt
    shots.append(screenshot(page, "ach-demo-paid-1280"))
    assert not console, console
    print("screenshots:", *shots)
