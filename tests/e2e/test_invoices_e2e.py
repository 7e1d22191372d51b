"""In Chromium: a payer with three dozen invoices filters, clicks an aging bucket, searches a
PO number, selects invoices across pages (the total follows), posts them to the checkout,
downloads the CSV, and the pages pass axe at 1280 and 375 px."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal

import pytest

from portal import ledger
from portal.accounts import services
from portal.ledger.models import Customer
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
    assert page.get_by_text("60 days overdue").is_visible()

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


@pytest.mark.parametrize("width", [1280, 375])
def test_invoice_pages_look_right_and_pass_axe(payer, page_factory, width):
    base = payer
    page = page_factory(width=width, height=900)
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")
    found = {"/invoices": violations(page)}
    page.get_by_label("Select invoice E-003,").check()  # the selection bar, as people see it
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    screenshot(page, f"invoices-list-{width}")
    page.goto(f"{base}/invoices?status=all&due_from=2026-13-40")  # filters open, an error shown
    found["/invoices (errors)"] = violations(page)
    page.goto(f"{base}/invoices/E-036")  # issued Dec 5, 2026 on 2/10 net 30: 2% of $531.90
    assert page.get_by_text("Pay $521.26 by December 15, 2026 and save $10.64.").is_visible()
    found["/invoices/E-036"] = violations(page)
    screenshot(page, f"invoice-detail-{width}")
    viewer = page_factory(width=width, height=900)
    sign_in(viewer, base, "viewer@acme.example")
    viewer.wait_for_url(f"{base}/invoices")
    assert viewer.locator("input.select-invoice").count() == 0
    found["/invoices (viewer)"] = violations(viewer)
    failing = {path: describe(v) for path, v in found.items() if v}
    assert not failing, "\n".join(f"{path}:\n{text}" for path, text in failing.items())
