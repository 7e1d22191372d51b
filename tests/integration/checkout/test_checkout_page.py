"""/pay: the selection arrives, every figure is the server's, mistakes are shown per invoice
and nothing is written; viewers are refused."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from portal.ledger.models import Payment
from tests.integration.checkout.conftest import text


def payments(book) -> int:
    with book.session() as uow:
        return uow.session.scalar(select(func.count()).select_from(Payment))


def test_a_selection_opens_the_checkout_with_what_is_due(cart, signed_in):
    payer = signed_in()
    response = payer.post("/pay", {"selection": "some", "invoice": ["K-2", "K-1"]},
                          form_page="/invoices")
    assert response.status_code == 303
    assert response.location == "/pay?invoice=K-2&invoice=K-1"
    page = payer.client.get(response.location).get_data(as_text=True)
    assert re.findall(r'<tr data-number="([^"]+)"', page) == ["K-2", "K-1"]
    shown = text(page)
    assert "Save $20.00 if $980.00 is paid by" in shown
    assert "you save $20.00" in shown and "To pay now $1,480.00" in shown


def test_every_invoice_matching_a_filter_can_be_paid_at_once(cart, signed_in):
    payer = signed_in()
    response = payer.post("/pay", {"selection": "all", "matching": "status=overdue"},
                          form_page="/invoices")
    assert response.location == "/pay?invoice=K-2"


def test_a_short_payment_without_a_reason_is_shown_and_nothing_is_written(cart, signed_in):
    payer = signed_in()
    page = payer.post("/pay/review", {"invoice": ["K-2"], "amount-K-2": "450",
                                      "action": "review"}, form_page="/pay?invoice=K-2")
    shown = text(page.get_data(as_text=True))
    assert "Nothing has been paid yet." in shown
    assert "Paying less than is due needs a reason." in shown
    assert 'aria-invalid="true"' in page.get_data(as_text=True)
    assert payments(cart) == 0
    page = payer.post("/pay/review", {"invoice": ["K-2"], "amount-K-2": "450",
                                      "reason-K-2": "damaged", "action": "review"},
                      form_page="/pay?invoice=K-2")
    shown = text(page.get_data(as_text=True))
    assert "Nothing has been paid yet." not in shown and "To pay now $450.00" in shown


def test_one_total_is_spread_oldest_due_first(cart, signed_in):
    payer = signed_in()
    page = payer.post("/pay/review", {"invoice": ["K-1", "K-2", "K-3"], "spread_total": "800",
                                      "action": "spread"}, form_page="/pay?invoice=K-1")
    body = page.get_data(as_text=True)
    values = dict(re.findall(r'name="amount-([^"]+)"[^>]*value="([^"]*)"', body))
    assert values == {"K-2": "500.00", "K-3": "250.00", "K-1": "50.00"}
    assert "To pay now $800.00" in text(body)
    assert "Paying less than is due needs a reason." in text(body)  # K-1 is short-paid


def test_another_customers_invoice_is_not_found_and_not_shown(cart, signed_in):
    payer = signed_in()
    body = payer.client.get("/pay?invoice=A-GLOBEX-1&invoice=K-3").get_data(as_text=True)
    assert "Invoice A-GLOBEX-1 was not found in this account." in text(body)
    assert "777.77" not in body and "PO-7781" not in body


def test_amounts_are_typed_and_shown_in_the_payers_language(cart, signed_in, app):
    payer = signed_in()
    payer.post("/language", {"language": "fr", "next": "/invoices"}, form_page="/invoices")
    body = payer.client.get("/pay?invoice=K-2").get_data(as_text=True)
    assert 'value="500,00"' in body
    page = payer.post("/pay/review", {"invoice": ["K-2"], "amount-K-2": "1 000,00",
                                      "overpay_to_credit": "1", "action": "review"},
                      form_page="/pay?invoice=K-2")
    assert "1\u202f000,00\u00a0$US" in html.unescape(page.get_data(as_text=True))


def test_viewers_cannot_open_or_post_the_checkout(cart, signed_in):
    viewer = signed_in("viewer@acme.example")
    assert viewer.client.get("/pay?invoice=K-2").status_code == 403
    token = viewer.csrf("/invoices")
    assert viewer.client.post("/pay", data={"invoice": "K-2", "csrf_token": token}
                              ).status_code == 403
    assert payments(cart) == 0
