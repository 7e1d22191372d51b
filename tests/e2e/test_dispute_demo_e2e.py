"""Issue 8's acceptance test, in Chromium against the real ``portal demo``: a clerk
disputes two lines of an invoice with a photo attached and pays the undisputed rest by
card; a collector replies and resolves the dispute with a credit; the clerk sees the
credit and the invoice closed. Every page passes axe; screenshots at 1280 px (and the
dispute form at 375 px)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.demo import cents, money
from tests.e2e.test_accounts_e2e import sign_in

pytestmark = pytest.mark.e2e

CLERK = "ap.clerk@greatlakes-fab.example"  # a payer of C-10042, the demo's large customer
COLLECTOR = "collections@northwind.example"
# HTML typed in a message: both sides must show it as text, and nothing of it may run.
MARKUP = '<img src=x onerror="window.__ran=1"><script>window.__ran=2</script>'
CARD = {"Card number": "4242424242424242", "Expiry month (MM)": "12",
        "Expiry year (YY)": "34", "Security code": "123", "Postal code": "12345"}


def accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}:\n{describe(found)}"


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (150, 110, 70)).save(out, "JPEG")
    return out.getvalue()


def open_invoice_with_lines(page, base: str) -> str:
    """An open invoice of the clerk's, untouched (no payment, discount or dispute), with
    at least three lines (two to dispute, one left to pay)."""
    page.goto(f"{base}/invoices")
    page.get_by_role("link", name="Open", exact=True).click()
    page.wait_for_load_state()
    rows = page.locator("tr[data-number]").evaluate_all("""rows => rows.map(r => ({
        number: r.dataset.number, status: r.querySelector('.c-status').innerText,
        payable: !!r.querySelector('input.select-invoice')}))""")
    for row in rows:
        if not row["payable"] or any(word in row["status"] for word in (
                "Partly paid", "processing", "Discount", "Disputed")):
            continue
        page.goto(f"{base}/invoices/{row['number']}/dispute")
        if page.locator("input[name=line]").count() >= 3:
            return row["number"]
    raise AssertionError(f"no untouched open invoice with three lines: {rows}")


def test_dispute_two_lines_pay_the_rest_and_get_the_credit(demo, page_factory):
    base = demo.url
    clerk = page_factory(width=1280, height=900)
    console: list[str] = []
    clerk.on("console", lambda m: console.append(f"{m.type}: {m.text}")
             if m.type == "error" else None)
    clerk.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    sign_in(clerk, base, CLERK, demo.sign_ins[CLERK])
    clerk.wait_for_url(f"{base}/invoices")
    number = open_invoice_with_lines(clerk, base)

    # The dispute: two lines, a reason, what is wrong, a photo.
    lines = clerk.locator("input[name=line]")
    disputed = sum(int(lines.nth(i).get_attribute("data-minor")) for i in (0, 1))
    for i in (0, 1):
        lines.nth(i).check()
    clerk.get_by_label("Reason").select_option(label="Damaged goods")
    clerk.get_by_label("Describe the problem").fill(
        "Two cartons arrived crushed; the parts inside are bent. Photo attached. " + MARKUP)
    clerk.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "crushed-cartons.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
    accessible(clerk, "dispute form")
    shots = [screenshot(clerk, "dispute-new-1280")]
    clerk.get_by_role("button", name="Open the dispute").click()
    clerk.wait_for_url(re.compile(rf"{re.escape(base)}/disputes/\d+$"))
    dispute_url = clerk.url
    assert f"Your dispute is open. {money(disputed)} of the invoice is on hold" in \
        clerk.locator("body").inner_text()
    expect(clerk.get_by_role("link", name="crushed-cartons.jpg")).to_be_visible()
    assert MARKUP in clerk.locator("[data-thread]").inner_text()
    assert clerk.evaluate("window.__ran") is None
    accessible(clerk, "dispute (open)")
    shots.append(screenshot(clerk, "dispute-open-1280"))

    # The invoice: disputed; the checkout defaults to the undisputed rest.
    clerk.goto(f"{base}/invoices/{number}")
    assert f"Disputed: {money(disputed)}" in clerk.locator(".badges").first.inner_text()
    pay = clerk.get_by_role("button", name=re.compile(r"^Pay \$"))
    rest = cents(pay.inner_text())
    pay.click()
    clerk.wait_for_url(lambda url: url.startswith(f"{base}/pay?"))
    assert cents(clerk.locator("[data-charge]").inner_text()) == rest
    for label, value in CARD.items():
        clerk.get_by_label(label, exact=True).fill(value)
    clerk.get_by_role("button", name=f"Pay {money(rest)}").click()
    clerk.wait_for_url(re.compile(rf"{re.escape(base)}/payments/\d+$"), timeout=30_000)
    assert f"Your payment of {money(rest)} is complete" in clerk.locator("body").inner_text()
    assert "Disputed amount on hold" in clerk.locator("body").inner_text()

    # The collector: the queue, a reply, a credit for what was disputed.
    collector = page_factory(width=1280, height=900)
    sign_in(collector, base, COLLECTOR, demo.sign_ins[COLLECTOR])
    collector.get_by_role("link", name="Disputes", exact=True).click()
    row = collector.locator("tr[data-dispute]", has_text=number)
    assert money(disputed) in row.inner_text() and "Damaged goods" in row.inner_text()
    accessible(collector, "staff queue")
    shots.append(screenshot(collector, "staff-disputes-1280"))
    row.get_by_role("link").click()
    collector.wait_for_load_state("load")
    assert MARKUP in collector.locator("[data-thread]").inner_text()
    assert collector.evaluate("window.__ran") is None, "a customer's markup ran in staff pages"
    collector.get_by_role("textbox", name="Message", exact=True).fill(
        "Sorry about the cartons. We will credit both lines.")
    collector.get_by_role("button", name="Send").click()
    collector.get_by_text("Your message was sent to the customer.").wait_for()
    assert cents("$" + collector.get_by_label("Credit to give").input_value()) == disputed
    collector.get_by_label("Note to the customer").fill("Credit memo for the damaged lines.")
    accessible(collector, "staff dispute")
    shots.append(screenshot(collector, "staff-dispute-1280"))
    collector.get_by_role("button", name="Resolve with credit").click()
    collector.get_by_text("The dispute is resolved").wait_for()

    # The clerk: the credit, the thread, the invoice closed.
    clerk.goto(dispute_url)
    body = clerk.locator("body").inner_text()
    assert f"with a credit of {money(disputed)} on the invoice" in body
    assert "Sorry about the cartons." in body and "Credit memo for the damaged lines." in body
    assert clerk.evaluate("window.__ran") is None
    accessible(clerk, "dispute (resolved)")
    shots.append(screenshot(clerk, "dispute-resolved-1280"))
    clerk.goto(f"{base}/invoices/{number}")
    badges = clerk.locator(".badges").first.inner_text()
    assert "Credited" in badges or "Paid" in badges, badges
    assert clerk.get_by_role("button", name=re.compile(r"^Pay \$")).count() == 0
    assert "Balance due $0.00" in " ".join(clerk.locator("body").inner_text().split())
    assert not console, console
    print("screenshots:", *shots)


def test_the_dispute_form_on_a_phone(demo, page_factory):
    page = page_factory(width=375, height=800)
    sign_in(page, demo.url, CLERK, demo.sign_ins[CLERK])
    page.wait_for_url(f"{demo.url}/invoices")
    open_invoice_with_lines(page, demo.url)
    accessible(page, "dispute form (375)")
    print("screenshot:", screenshot(page, "dispute-new-375"))
