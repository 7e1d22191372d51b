"""In Chromium: the payment history and one payment, at desktop and phone widths, pass axe
(WCAG 2.2 AA) and are saved as screenshots for people to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot
from tests.e2e.test_accounts_e2e import sign_in
from tests.integration.payments.history_data import build

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 375])
def test_payment_pages_look_right_and_pass_axe(live_server, page_factory, width):
    world = build(live_server.app.extensions["portal.db"])
    base = live_server.url
    page = page_factory(width=width, height=900)
    sign_in(page, base, "payer@acme.example")
    page.wait_for_url(f"{base}/invoices")

    page.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(f"{base}/payments")
    assert page.locator("h1").inner_text() == "Payments"
    assert page.locator("tr[data-payment]").count() == 4
    found = {"/payments": violations(page)}
    screenshot(page, f"payments-list-{width}")

    page.goto(f"{base}/payments?status=all&date_to=2026-13-40")  # a field error shown
    found["/payments (errors)"] = violations(page)

    page.goto(f"{base}/payments/{world.check}")
    expect(page.get_by_text("Goods damaged or defective")).to_be_visible()
    found[f"/payments/{world.check}"] = violations(page)
    screenshot(page, f"payment-detail-check-{width}")

    page.goto(f"{base}/payments/{world.card}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt").click()
    assert download.value.suggested_filename.startswith(f"receipt-{world.card}-")
    found[f"/payments/{world.card}"] = violations(page)
    screenshot(page, f"payment-detail-card-{width}")

    page.goto(f"{base}/payments/{world.declined}")
    found[f"/payments/{world.declined}"] = violations(page)
    screenshot(page, f"payment-detail-failed-{width}")

    assert not any(found.values()), "\n".join(
        f"{where}:\n{describe(items)}" for where, items in found.items() if items)
