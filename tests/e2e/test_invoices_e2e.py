"""In Chromium: a payer with three dozen invoices filters, clicks an aging bucket, searches a
PO number, selects invoices across pages (the total follows), posts them to the checkout,
downloads the CSV, and the pages pass axe at 1280 and 375 px."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from playwright.sync_api import expect

from portal import ledger
from portal.accounts import services
from portal.ledger.models import Customer
from tests import pdf
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.test_accounts_e2e import PASSWORD, sign_in

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 11, 20)
COUNT = 36


def total_of(i: int) -> int:
    return 100_00 + i * 12_34


def due_of(i: int) -> dt.date:
    return TODAY + dt.timedelta(days=3 * i - 60)  # E-001 60 days late ... E-036 45 days ahead


@pytest.fixture
def payer(live_server):
    """Acme's payer and viewer; 36 open invoices E-001..E-036, one due every three days."""
    live_server.app.config["PORTAL"] = dataclasses.replace(live_server.app.config["PORTAL"],
                                                           clock=TODAY.isoformat())
    database = live_server.app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(acme)
        s.flush()
        for role in ("payer", "viewer"):
            user = services.create_user(s, email=f"{role}@acme.example",
                                        name=f"Acme {role.title()}", password=PASSWORD)
            services.add_membership(s, user, acme.id, role)
        for i in range(COUNT):
            due = due_of(i)
            ledger.create_invoice(s, ledger.InvoiceInput(
                number=f"E-{i + 1:03d}", customer_id=acme.id,
                issue_date=due - dt.timedelta(days=30), due_date=due, currency="USD",
                terms="2/10 net 30", po_number=f"PO-{4000 + i}", lines=[
                    ledger.LineInput("Deep groove ball bearing 6205-2RS", total_of(i) - 5_00,
                                     sku="BRG-6205", tax_minor=5_00)]))
        uow.commit()
    return live_server.url


def numbers_on(page) -> list[str]:
    return page.locator("tr[data-number]").evaluate_all(
        "rows => rows.map(r => r.dataset.number)")


def money(minor: int) -> str:
    return f"${Decimal(minor).scaleb(-2):,.2f}"


def test_filter_bucket_search_select_across_pages_and_download(payer, page_factory):
    base = payer
    page = page_factory()
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")
    screenshot(page, "invoices-1280")
    assert numbers_on(page) == [f"E-{i:03d}" for i in range(1, 26)]  # open, oldest due first

    page.get_by_role("link", name="Overdue", exact=True).click()
    page.wait_for_url(lambda url: url.endswith("/invoices?status=overdue"))
    assert numbers_on(page) == [f"E-{i:03d}" for i in range(1, 21)]
    expect(page.get_by_text("60 days overdue")).to_be_visible()

    page.get_by_role("link", name="31\u201360 days past due").click()
    page.wait_for_url(lambda url: "aging=31_60" in url)
    assert numbers_on(page) == [f"E-{i:03d}" for i in range(1, 11)]
    assert page.locator('.aging-bucket[aria-current="true"]').get_attribute("data-bucket") \
        == "31_60"

    page.get_by_label("Invoice or PO number").fill("PO-4027")
    page.get_by_label("Invoice or PO number").press("Enter")
    page.wait_for_url(lambda url: "q=PO-4027" in url)
    assert numbers_on(page) == []  # still in the 31-60 bucket: E-028 is not due yet
    page.get_by_role("link", name="Remove").click()
    page.wait_for_url(lambda url: "aging" not in url)
    assert numbers_on(page) == ["E-028"]

    # Three invoices on two pages: two here (one by keyboard), one on the next page.
    page.goto(f"{base}/invoices")
    page.get_by_label("Select invoice E-002,").check()
    page.get_by_label("Select invoice E-005,").focus()
    page.keyboard.press("Space")
    status = page.locator("#selection-status")
    assert status.inner_text() == f"Selected: 2 · Total {money(total_of(1) + total_of(4))}"
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(lambda url: "after=" in url)
    assert numbers_on(page) == [f"E-{i:03d}" for i in range(26, 37)]
    page.get_by_label("Select invoice E-030,").check()
    chosen = total_of(1) + total_of(4) + total_of(29)
    assert status.inner_text() == f"Selected: 3 · Total {money(chosen)}"
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the bar in its place
    screenshot(page, "invoices-selected-1280")
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_url(lambda url: "before=" in url)
    assert page.get_by_label("Select invoice E-002,").is_checked()
    assert page.get_by_label("Select invoice E-005,").is_checked()
    assert status.inner_text() == f"Selected: 3 · Total {money(chosen)}"

    # "Pay selected" posts every chosen number, from both pages, to the checkout.
    posted = []
    page.route("**/pay", lambda route: (posted.append(route.request.post_data),
                                        route.fulfill(status=200, body="checkout")))
    page.get_by_role("button", name="Pay selected").click()
    page.wait_for_url(f"{base}/pay")
    form = [pair.split("=") for pair in posted[0].split("&")]
    assert sorted(v for k, v in form if k == "invoice") == ["E-002", "E-005", "E-030"]
    assert ["selection", "some"] in form and any(k == "csrf_token" for k, _ in form)

    # Every payable invoice of the filter at once: the server's total, not the page's.
    page.goto(f"{base}/invoices")
    page.get_by_role("button", name="Select all 36 invoices you can pay").click()
    everything = sum(total_of(i) for i in range(COUNT))
    assert status.inner_text() == f"All 36 matching invoices selected · Total {money(everything)}"
    page.get_by_label("Select invoice E-001,").uncheck()
    assert status.inner_text() == f"Selected: 35 · Total {money(everything - total_of(0))}"
    page.get_by_role("button", name="Clear selection").click()
    assert status.inner_text() == "No invoices selected."

    # The CSV of what is listed: the overdue tab, largest first.
    page.goto(f"{base}/invoices?status=overdue&sort=amount_desc")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == ["number", "po_number", "issue_date", "due_date", "currency", "total",
                       "balance", "status"]
    assert [r[0] for r in rows[1:]] == [f"E-{i:03d}" for i in range(20, 0, -1)]
    assert rows[1] == ["E-020", "PO-4019", "2026-10-18", "2026-11-17", "USD", "334.46",
                       "334.46", "open"]


def test_download_invoice_selection_and_statement_pdfs(payer, page_factory):
    base = payer
    page = page_factory()
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")

    page.goto(f"{base}/invoices/E-036")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "invoice-E-036.pdf"
    text = pdf.text(download.value.path().read_bytes())
    for expected in ("E-036", "PO-4035", "Deep groove ball bearing 6205-2RS", "$531.90",
                     "Acme Corp"):
        assert expected in text

    # Two invoices chosen on the list, one PDF holding both.
    page.goto(f"{base}/invoices")
    page.get_by_label("Select invoice E-002,").check()
    page.get_by_label("Select invoice E-007,").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF of the selected invoices").click()
    pages = pdf.pages(download.value.path().read_bytes())
    assert [n for n in ("E-002", "E-007", "E-003") if any(n in p for p in pages)] == \
        ["E-002", "E-007"]
    assert any(money(total_of(1)) in p for p in pages)
    assert any(money(total_of(6)) in p for p in pages)

    # The statement: every open invoice, and the total open.
    with page.expect_download() as download:
        page.get_by_role("link", name="Statement of account").click()
    text = pdf.text(download.value.path().read_bytes())
    assert all(f"E-{i:03d}" in text for i in range(1, COUNT + 1))
    assert money(sum(total_of(i) for i in range(COUNT))) in text


def switch_language(page, name: str) -> None:
    """Choose a language in the footer (its label is in the page's current language)."""
    page.locator("#language-choice").select_option(label=name)
    with page.expect_navigation():
        page.locator(".language-switch button").click()


def test_spanish_and_french_pages_and_documents(payer, page_factory):
    base = payer
    page = page_factory()
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")
    outstanding = sum(total_of(i) for i in range(COUNT))

    switch_language(page, "Español")
    page.wait_for_url(f"{base}/invoices")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Facturas"
    expect(page.get_by_role("link", name="Vencidas", exact=True)).to_be_visible()
    assert format_currency(Decimal(outstanding).scaleb(-2), "USD", locale="es") in \
        page.locator(".summary").inner_text()
    page.goto(f"{base}/invoices/E-036")
    assert "521,26\xa0US$" in page.locator("main").inner_text()
    screenshot(page, "invoice-detail-es-1280")

    switch_language(page, "Français")
    page.wait_for_url(f"{base}/invoices/E-036")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Facture E-036"
    assert "521,26\u202f$US" in page.locator("main").inner_text() or \
        "521,26\xa0$US" in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.locator("a[href$='/invoices/E-036.pdf']").click()
    text = pdf.text(download.value.path().read_bytes())
    assert "FACTURE" in text and "531,90" in text  # the title is set in capitals
    page.goto(f"{base}/invoices")
    screenshot(page, "invoices-fr-1280")

    # The setting is the user's: a new browser session signs in straight into French.
    again = page_factory(locale="en-US")
    sign_in(again, base, "payer@acme.example")
    again.wait_for_url(f"{base}/invoices")
    assert again.locator("html").get_attribute("lang") == "fr"


def sign_in_any_language(page, base: str, email: str) -> None:
    """Sign in by the form's field names, whatever language the page is in."""
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()


@pytest.mark.parametrize(("width", "locale"), [(1280, "en-US"), (375, "en-US"), (1280, "es-ES"),
                                               (1280, "fr-FR"), (320, "fr-FR")])
def test_invoice_pages_look_right_and_pass_axe(payer, page_factory, width, locale):
    base = payer
    language = locale[:2]
    page = page_factory(width=width, height=900, locale=locale)
    sign_in_any_language(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")
    assert page.locator("html").get_attribute("lang") == language  # from Accept-Language
    found = {"/invoices": violations(page)}
    page.locator("input.select-invoice").nth(2).check()  # the selection bar, as people see it
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    found["/invoices (selected)"] = violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways page
    screenshot(page, f"invoices-list-{language}-{width}")
    page.goto(f"{base}/invoices?status=all&due_from=2026-13-40")  # filters open, an error shown
    found["/invoices (errors)"] = violations(page)
    page.goto(f"{base}/invoices/E-036")  # issued Dec 5, 2026 on 2/10 net 30: 2% of $531.90
    found["/invoices/E-036"] = violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"invoice-detail-{language}-{width}")
    viewer = page_factory(width=width, height=900, locale=locale)
    sign_in_any_language(viewer, base, "viewer@acme.example")
    viewer.wait_for_url(f"{base}/invoices")
    assert viewer.locator("input.select-invoice").count() == 0
    found["/invoices (viewer)"] = violations(viewer)
    failing = {path: describe(v) for path, v in found.items() if v}
    assert not failing, "\n".join(f"{path}:\n{text}" for path, text in failing.items())


def test_discount_offer_reads_in_the_vendors_terms(payer, page_factory):
    page = page_factory()
    sign_in(page, payer, "payer@acme.example")
    page.wait_for_url(f"{payer}/invoices")
    page.goto(f"{payer}/invoices/E-036")
    expect(page.get_by_text("Pay $521.26 by December 15, 2026 and save $10.64.")).to_be_visible()


def test_viewer_sees_no_pay_button_and_a_post_to_pay_is_refused(payer, page_factory):
    viewer = page_factory()
    sign_in(viewer, payer, "viewer@acme.example")
    viewer.wait_for_url(f"{payer}/invoices")
    assert viewer.get_by_role("button", name="Pay selected").count() == 0
    viewer.goto(f"{payer}/invoices/E-001")
    assert viewer.get_by_role("button", name=re.compile("^Pay ")).count() == 0
    # Posting the checkout anyway, with the page's own CSRF token, is refused.
    status = viewer.evaluate("""async () => {
        const token = document.querySelector('input[name=csrf_token]').value;
        const body = new URLSearchParams({csrf_token: token, selection: 'some', invoice: 'E-001'});
        const response = await fetch('/pay', {method: 'POST', body, redirect: 'manual'});
        return response.status;
    }""")
    assert status == 403
    viewer.goto(f"{payer}/pay?invoice=E-001")
    assert viewer.locator("h1").inner_text() != "Pay invoices"
