"""The checkout's acceptance test, in Chromium against the real ``portal demo``.

A clerk of the demo's large customer selects three open invoices (one inside its
early-pay discount window), short-pays one of the others with a reason, pays by
card in the local Stripe stand-in, sees the success page and the payment in
/payments, downloads the receipt PDF and checks its lines; the receipt e-mail
arrives over SMTP with the PDF attached.

``portal demo`` runs as a subprocess, as a person would start it: its own
SQLite database, e-mail to the test's SMTP sink, no Stripe keys (so it starts
localstripe itself). The invoices are found on the invoice list, not named:
the demo's data is dated relative to today.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import pdf
from tests.e2e.conftest import screenshot
from tests.e2e.demo import cents, money
from tests.e2e.test_accounts_e2e import sign_in

pytestmark = pytest.mark.e2e

CLERK = "ap.clerk@greatlakes-fab.example"  # a payer of C-10042, the demo's large customer

SHORT_BY = 25_00  # what the clerk holds back on the short-paid invoice
REASON = "Goods damaged or defective"
NOTE = "Two cartons of gloves arrived crushed"
CARD = {"Card number": "4242424242424242", "Expiry month (MM)": "12",
        "Expiry year (YY)": "34", "Security code": "123", "Postal code": "12345"}


def amount_input(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def line_with(text: str, number: str) -> str:
    """The one line of the receipt's text that names invoice ``number``."""
    lines = [line for line in text.splitlines() if number in line]
    assert len(lines) == 1, f"{number} on {len(lines)} lines of the receipt:\n{text}"
    return lines[0]


def choose_invoices(page) -> tuple[str, list[str]]:
    """One open invoice with a discount offered and two without, each fully open."""
    rows = page.locator("tr[data-number]").evaluate_all("""rows => rows.map(r => ({
        number: r.dataset.number,
        payable: !!r.querySelector('input.select-invoice'),
        minor: Number((r.querySelector('input.select-invoice') || {dataset: {}}).dataset.minor),
        status: r.querySelector('.c-status').innerText}))""")
    plain = [r for r in rows if r["payable"] and "Partly paid" not in r["status"]
             and "processing" not in r["status"]]
    discounted = [r["number"] for r in plain if "Discount until" in r["status"]]
    others = [r["number"] for r in plain
              if "Discount until" not in r["status"] and r["minor"] > 2 * SHORT_BY]
    assert discounted, f"no open invoice with a discount on the page: {rows}"
    assert len(others) >= 2, f"fewer than two other open invoices on the page: {rows}"
    return discounted[0], others[:2]


def test_clerk_pays_three_demo_invoices_by_card(demo, page_factory, smtp_sink):
    base = demo.url
    assert CLERK in demo.sign_ins, demo.output
    page = page_factory(width=1280, height=900)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

    sign_in(page, base, CLERK, demo.sign_ins[CLERK])
    page.wait_for_url(f"{base}/invoices")

    # The open invoices, newest first: the recent ones are inside their discount window.
    page.get_by_role("link", name="Open", exact=True).click()
    page.get_by_label("Sort by").select_option("issued_desc")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(lambda url: "sort=issued_desc" in url)
    discounted, (short, full) = choose_invoices(page)
    for number in (discounted, short, full):
        page.get_by_label(f"Select invoice {number},").check()
    assert page.locator("#selection-status").inner_text().startswith("Selected: 3 · Total ")
    page.get_by_role("button", name="Pay selected").click()
    page.wait_for_url(lambda url: url.startswith(f"{base}/pay?"))

    # The checkout: one row per invoice, the discount offered on one.
    rows = {n: page.locator(f'tr[data-number="{n}"]') for n in (discounted, short, full)}
    assert page.locator("tr[data-number]").count() == 3
    open_minor = {n: cents(row.locator("td").nth(1).inner_text()) for n, row in rows.items()}
    offer = rows[discounted].locator("td").nth(2).inner_text()
    match = re.search(r"Save (\$[\d,.]+)\s+if (\$[\d,.]+) is paid by (.+)", offer)
    assert match, offer
    save, with_discount = cents(match[1]), cents(match[2])
    assert with_discount == open_minor[discounted] - save and save > 0
    for n in (short, full):
        assert rows[n].locator("td").nth(2).inner_text().strip() == "—"
    amount = {n: page.get_by_label(f"Amount to pay on invoice {n}", exact=True)
              for n in rows}
    assert cents("$" + amount[discounted].input_value()) == with_discount
    assert cents("$" + amount[full].input_value()) == open_minor[full]

    # Short-pay one: a lower amount asks why; the reason and a note are kept.
    short_minor = open_minor[short] - SHORT_BY
    amount[short].fill(amount_input(short_minor))
    page.get_by_role("button", name="Update totals").click()
    reason = page.get_by_label(f"Why less than {money(open_minor[short])}?")
    reason.select_option(label=REASON)
    page.get_by_label("Note for the vendor").fill(NOTE)
    page.get_by_role("button", name="Update totals").click()
    page.wait_for_load_state()
    errors = page.locator("#checkout-errors")
    assert errors.count() == 0, errors.inner_text()
    assert reason.locator("option:checked").inner_text() == REASON
    assert page.get_by_label("Note for the vendor").input_value() == NOTE

    total = with_discount + short_minor + open_minor[full]
    totals = page.locator("#checkout-totals")
    assert f"you save {money(save)}" in totals.inner_text()
    assert cents(totals.locator("[data-charge]").inner_text()) == total
    pay = page.get_by_role("button", name=f"Pay {money(total)}")
    expect(pay).to_be_visible()

    # The card, in the local Stripe's stand-in for the card Element.
    for label, value in CARD.items():
        page.get_by_label(label, exact=True).fill(value)
    shots = [screenshot(page, "checkout-demo-pay-1280")]
    pay.click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/payments/\d+$"), timeout=30_000)
    payment_id = page.url.rsplit("/", 1)[1]
    success = page.get_by_text("Thank you. Your payment of")
    assert success.inner_text().strip() == (f"Thank you. Your payment of {money(total)} is "
                                            "complete; a receipt is on its way by e-mail.")
    assert cents(page.locator("[data-amount]").inner_text()) == total
    assert page.locator("[data-method]").inner_text().strip() == "Visa ending in 4242"
    shots.append(screenshot(page, "checkout-demo-success-1280"))
    # What the card was charged, at the (local) Stripe: the total the checkout showed.
    [intent] = demo.payment_intents()
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", total, "usd")
    assert intent["amount_received"] == total

    # The payment history lists it.
    page.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(f"{base}/payments")
    row = page.locator(f'tr[data-payment="{payment_id}"]')
    assert cents(row.locator(".p-amount").inner_text()) == total
    assert row.locator(".p-method").inner_text().strip() == "Visa ending in 4242"
    assert set(row.locator(".p-invoices a").all_inner_texts()) == {discounted, short, full}
    assert f"Discount taken: {money(save)}" in row.locator(".p-invoices").inner_text()

    # The receipt PDF: every invoice with its amount, the discount, the reason, the total.
    row.get_by_role("link", name=f"Payment {payment_id}").click()
    page.wait_for_url(f"{base}/payments/{payment_id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt").click()
    receipt = Path(download.value.path()).read_bytes()
    text = pdf.text(receipt)
    assert money(with_discount) in line_with(text, discounted)
    assert money(save) in line_with(text, discounted)
    assert money(short_minor) in line_with(text, short)
    assert REASON in line_with(text, short)
    assert money(open_minor[full]) in line_with(text, full)
    assert re.search(rf"Total received \(USD\)\s+{re.escape(money(total))}", text), text
    assert "Visa ending in 4242" in text

    # The receipt e-mail, over SMTP, with the same PDF's figures.
    deadline = time.monotonic() + 15
    while not smtp_sink.to(CLERK) and time.monotonic() < deadline:
        time.sleep(0.2)
    [message] = smtp_sink.to(CLERK)
    assert message["Subject"] == f"Receipt for your payment of {money(total)}"
    body = smtp_sink.text(message)
    assert f"Total received: {money(total)}" in body
    assert f"{discounted}: {money(with_discount)} · discount {money(save)}" in body
    assert f"{short}: {money(short_minor)} · short-pay reason: {REASON} ({NOTE})" in body
    [attachment] = [part for part in message.iter_attachments()
                    if part.get_content_type() == "application/pdf"]
    attached = pdf.text(attachment.get_content())
    assert re.search(rf"Total received \(USD\)\s+{re.escape(money(total))}", attached)

    assert not [line for line in console if "error" in line.lower()], console
    print("screenshots:", *shots)
