"""In Chromium, without an account: open an invoice link, see the landing page, press
"View invoice", see the invoice, download its PDF; a dead link gets its own page. Every
page passes axe, at 1280 and 375 px."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import ledger
from portal.ledger.models import Customer
from portal.links import services
from portal.vendor.services import update_vendor
from tests import pdf
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def link_url(live_server) -> str:
    """A link to Acme's invoice E-LINK-7 (two lines, $2,468.10 due in 12 days)."""
    database = live_server.app.extensions["portal.db"]
    due = dt.date.today() + dt.timedelta(days=12)
    with database.unit_of_work() as uow:
        s = uow.session
        update_vendor(s, name="Northwind Industrial Supply", logo_path="img/vendor-logo.svg",
                      support_email="ar@northwind.example")
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(acme)
        s.flush()
        invoice = ledger.create_invoice(s, ledger.InvoiceInput(
            number="E-LINK-7", customer_id=acme.id, issue_date=due - dt.timedelta(days=30),
            due_date=due, currency="USD", terms="net 30", po_number="PO-4471", lines=[
                ledger.LineInput("Deep groove ball bearing 6205-2RS", 2_000_00, sku="BRG-6205",
                                 tax_minor=160_00),
                ledger.LineInput("Freight", 308_10)]))
        _link, token = services.create(s, invoice, expires_days=None, email=None,
                                       created_by="e2e")
        uow.commit()
    return services.url(live_server.url, token)


def assert_accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}:\n{describe(found)}"


@pytest.mark.parametrize("width", [1280, 375])
def test_open_a_link_view_the_invoice_and_download_the_pdf(link_url, live_server,
                                                           page_factory, width):
    page = page_factory(width=width)
    response = page.goto(link_url)
    assert response.status == 200
    assert "set-cookie" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert page.get_by_role("heading", level=1).inner_text() == "Invoice E-LINK-7"
    assert "$2,468.10" in page.locator("[data-amount]").inner_text()
    assert page.context.cookies() == []
    screenshot(page, f"links-landing-{width}")
    assert_accessible(page, "landing page")

    page.get_by_role("button", name="View invoice").click()
    page.wait_for_url(f"{live_server.url}/i/invoice")
    assert "/i/" + link_url.rsplit("/", 1)[1] not in page.url
    body = page.locator("main").inner_text()
    for expected in ("Invoice E-LINK-7", "Acme Corp", "Deep groove ball bearing 6205-2RS",
                     "PO-4471", "$2,468.10"):
        assert expected in body, expected
    assert page.get_by_role("link", name="All invoices").count() == 0
    assert page.locator("nav").count() == 0
    screenshot(page, f"links-invoice-{width}")
    assert_accessible(page, "invoice page")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "invoice-E-LINK-7.pdf"
    text = pdf.text(download.value.path().read_bytes())
    assert "E-LINK-7" in text and "Deep groove ball bearing" in text and "2,468.10" in text

    # Everything else still asks to sign in.
    page.goto(f"{live_server.url}/invoices")
    assert page.url.startswith(f"{live_server.url}/login")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_dead_link_says_so(link_url, page_factory, width):
    page = page_factory(width=width)
    response = page.goto(link_url[:-4] + "AAAA")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == \
        "This link is not valid or has expired"
    assert page.context.cookies() == []
    screenshot(page, f"links-invalid-{width}")
    assert_accessible(page, "invalid-link page")
