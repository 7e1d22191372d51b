"""In Chromium, as AR staff: from the staff home to a customer's invoice links, create
one (its URL shown once, e-mailed), see a wrong entry refused, revoke a link, and read
what was done through the links. Every state passes axe, at 1280 and 375 px."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import ledger
from portal.accounts import services as accounts
from portal.accounts.audit import Origin
from portal.ledger.models import Customer
from portal.links import services
from portal.vendor.services import update_vendor
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.test_accounts_e2e import PASSWORD, sign_in

pytestmark = pytest.mark.e2e

BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


@pytest.fixture
def acme(live_server) -> None:
    """Acme with two invoices, one of them with a link opened once; and an AR admin."""
    database = live_server.app.extensions["portal.db"]
    due = dt.date.today() + dt.timedelta(days=12)
    with database.unit_of_work() as uow:
        s = uow.session
        update_vendor(s, name="Northwind Industrial Supply", logo_path="img/vendor-logo.svg",
                      support_email="ar@northwind.example")
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(acme)
        s.flush()
        invoices = [ledger.create_invoice(s, ledger.InvoiceInput(
            number=number, customer_id=acme.id, issue_date=due - dt.timedelta(days=30),
            due_date=due, currency="USD", terms="net 30", po_number=None,
            lines=[ledger.LineInput("Deep groove ball bearing 6205-2RS", total)]))
            for number, total in (("E-LINK-7", 2_468_10), ("E-LINK-8", 310_00))]
        link, _token = services.create(s, invoices[0], expires_days=None,
                                       email="ap@acme.example", created_by="cli")
        services.record_view(s, link, origin=Origin("203.0.113.9", BROWSER))
        accounts.create_user(s, email="ar@vendor.example", name="Vera Vendor",
                             password=PASSWORD, staff_role="ar_admin")
        uow.commit()


def assert_accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}:\n{describe(found)}"


@pytest.mark.parametrize("width", [1280, 375])
def test_staff_create_revoke_and_audit_invoice_links(live_server, acme, page_factory,
                                                     smtp_sink, width):
    base = live_server.url
    page = page_factory(width=width)
    sign_in(page, base, "ar@vendor.example")
    page.goto(f"{base}/staff/")
    page.get_by_role("link", name="Invoice links").click()
    page.get_by_label("Customer number").fill("C-ACME")
    page.get_by_role("button", name="Show links").click()
    page.wait_for_url(f"{base}/staff/links?customer=C-ACME")
    assert "E-LINK-7" in page.get_by_role("region", name="Live links of Acme Corp (C-ACME)") \
        .get_by_role("row").nth(1).inner_text()
    activity = page.locator('[data-activity="E-LINK-7"]').inner_text()
    assert "Viewed" in activity and "203.0.113.9" in activity and "Chrome/131" in activity
    screenshot(page, f"links-staff-list-{width}")
    assert_accessible(page, "list")

    page.get_by_label("Invoice number").fill("E-LINK-8")
    page.get_by_label("Expires after (days)").fill("500")
    page.get_by_role("button", name="Create link").click()
    assert "A link expires after 1 to 120 days." in page.locator("main").inner_text()
    assert page.locator("[data-new-link]").count() == 0
    screenshot(page, f"links-staff-error-{width}")
    assert_accessible(page, "refused")

    page.get_by_label("Expires after (days)").fill("20")
    page.get_by_label("E-mail the link to").fill("payables@acme.example")
    page.get_by_role("button", name="Create link").click()
    url = page.locator("[data-new-link]").inner_text().strip()
    assert url.startswith(f"{base}/i/")
    assert "It has been e-mailed to payables@acme.example." in page.locator("main").inner_text()
    screenshot(page, f"links-staff-created-{width}")
    assert_accessible(page, "created")
    [message] = smtp_sink.to("payables@acme.example")
    assert url in message.get_body(preferencelist=("plain",)).get_content()

    page.get_by_role("button", name="Revoke the link to invoice E-LINK-7").click()
    page.wait_for_url(f"{base}/staff/links?customer=C-ACME")
    main = page.locator("main").inner_text()
    assert "The link to invoice E-LINK-7 is revoked" in main
    assert page.locator('[data-activity="E-LINK-7"]').inner_text().count("Revoked") == 1
    screenshot(page, f"links-staff-revoked-{width}")
    assert_accessible(page, "revoked")
