"""/invoices/<number>: header, lines, totals, what was applied, payments in progress,
the early-pay offer, actions by role, and nobody else's invoice."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from portal import ledger
from portal.ledger.models import Customer
from tests.integration.invoices.conftest import TODAY, issue

ISSUED = dt.date(2026, 11, 10)  # 2/10 net 30: the discount deadline is Nov 20 (TODAY)


@pytest.fixture
def detailed(world):
    """D-1: two lines, paid in part, credited, credit applied, a card payment in flight.
    D-2: untouched, with an early-pay discount open until TODAY."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        d1 = issue(s, acme, "D-1", 0, issued=ISSUED, due=ISSUED + dt.timedelta(days=30),
                   terms="2/10 net 30", po="PO-555", lines=[
                       ledger.LineInput("Ball bearing 6205-2RS", 84_50, quantity=Decimal(10),
                                        unit_price_minor=8_45, tax_minor=6_97, sku="BRG-6205"),
                       ledger.LineInput("Hose, per ft", 25_00, quantity=Decimal("12.5"),
                                        unit_price_minor=2_00)])
        issue(s, acme, "D-2", 500_00, issued=ISSUED, due=ISSUED + dt.timedelta(days=30),
              terms="2/10 net 30")
        other = issue(s, acme, "D-3", 5_00, due=TODAY)
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=16_47, currency="USD", idempotency_key="p1",
            reference="CHK 77", allocations=[ledger.AllocationInput(d1.id, 16_47)])
        ledger.issue_credit_memo(s, number="CM-9", customer_id=acme.id, amount_minor=20_00,
                                 currency="USD", reason="Damaged on arrival", invoice_id=d1.id)
        # 15.00 paid against a 5.00 invoice: 10.00 of credit, then applied to D-1.
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=15_00, currency="USD", idempotency_key="p2",
            allocations=[ledger.AllocationInput(other.id, 5_00)])
        ledger.apply_credit(s, customer_id=acme.id, invoice_id=d1.id, amount_minor=10_00,
                            idempotency_key="ac-1")
        ledger.start_payment(s, customer_id=acme.id, currency="USD", method="card",
                             amount_minor=30_00,
                             allocations=[ledger.AllocationInput(d1.id, 30_00)])
        uow.commit()
    return world


def text(html: str) -> str:
    """The page's visible words, one space between them."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_header_lines_totals_and_history(detailed, signed_in):
    response = signed_in().client.get("/invoices/D-1")
    assert response.status_code == 200
    page = text(response.get_data(as_text=True))
    for expected in (
        "Invoice D-1", "Issue date November 10, 2026", "Due date December 10, 2026",
        "Terms 2% discount if paid within 10 days, otherwise net 30", "PO number PO-555",
        "Ball bearing 6205-2RS BRG-6205 10 $8.45 $84.50 $6.97",
        "Hose, per ft 12.5 $2.00 $25.00 $0.00",
        "Subtotal $109.50", "Tax $6.97", "Total $116.47",
        "Paid and credited $46.47", "Balance due $70.00", "Payment processing $30.00",
        "Still open to pay $40.00",
        "Payment by check or bank transfer CHK 77 $16.47",
        "Credit memo CM-9 Damaged on arrival $20.00",
        "Account credit applied $10.00",
        "Payment processing: $30.00 is reserved by a payment by card",
        "Open Partly paid Payment processing",
        "Pay $40.00", "Download PDF",
    ):
        assert expected in page, expected
    assert "save" not in page  # partly paid: no early-pay offer (the vendor does not pro-rate)
    assert "Request a payment plan" in page
    assert 'href="/invoices/D-1.pdf"' in response.get_data(as_text=True)


def test_discount_offer_until_the_deadline_and_not_after(detailed, signed_in, clock):
    b = signed_in()
    on_the_day = text(b.client.get("/invoices/D-2").get_data(as_text=True))
    assert "Pay $490.00 by November 20, 2026 and save $10.00." in on_the_day
    assert ">Pay $490.00</button>" in b.client.get("/invoices/D-2").get_data(as_text=True)
    listed = b.client.get("/invoices?q=D-2").get_data(as_text=True)
    assert "Discount until Nov 20, 2026" in listed
    clock.today = TODAY + dt.timedelta(days=1)
    day_after = text(b.client.get("/invoices/D-2").get_data(as_text=True))
    assert "save" not in day_after and "Pay $500.00" in day_after
    assert "Discount until" not in b.client.get("/invoices?q=D-2").get_data(as_text=True)


def test_viewers_see_no_pay_button(detailed, signed_in):
    viewer = signed_in("viewer@acme.example").client.get("/invoices/D-2").get_data(as_text=True)
    assert 'action="/pay"' not in viewer and "</button>" not in \
        viewer.split("<main")[1].split("</main>")[0]
    assert "Pay $490.00 by November 20, 2026" in text(viewer)  # the offer is still news
    payer = signed_in().client.get("/invoices/D-2").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/pay">(.*?)</form>', payer, re.S).group(1)
    assert 'name="csrf_token"' in form and '<input type="hidden" name="invoice" value="D-2">' \
        in form


def test_dispute_and_plan_links_are_for_those_who_may_use_them(detailed, app, signed_in):
    page = signed_in().client.get("/invoices/D-2").get_data(as_text=True)
    assert 'href="/invoices/D-2/dispute">Dispute</a>' in page
    assert 'href="/plans/new?invoice=D-2">Request a payment plan</a>' in page
    viewer = signed_in("viewer@acme.example").client.get("/invoices/D-2").get_data(as_text=True)
    assert "/invoices/D-2/dispute" not in viewer and "/plans/new" not in viewer


def test_another_customers_invoice_is_not_found(detailed, signed_in):
    acme = signed_in()
    for number in ("A-GLOBEX-1", "NO-SUCH-INVOICE"):
        response = acme.client.get(f"/invoices/{number}")
        assert response.status_code == 404
        assert "777.77" not in response.get_data(as_text=True)
    assert "A-GLOBEX-1" not in acme.client.get("/invoices?status=all&q=A-").get_data(
        as_text=True)
    globex = signed_in("payer@globex.example")
    assert globex.client.get("/invoices/D-1").status_code == 404
    assert globex.client.get("/invoices/A-GLOBEX-1").status_code == 200
