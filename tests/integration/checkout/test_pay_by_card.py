"""The checkout's Pay button with a card: one PaymentIntent per payment, the ledger settled
once, the payer told what happened; nothing charged or reserved when it does not go through."""

from __future__ import annotations

from tests.integration.checkout.conftest import (
    VISA,
    checkout_form,
    invoice,
    ledger_ok,
    pay,
    payments_of,
    text,
)


def test_two_invoices_paid_with_a_new_card_settle_and_send_a_receipt(cart, signed_in, stripe_js,
                                                                     smtp_sink):
    payer = signed_in()
    form = checkout_form(payer, ["K-1", "K-2"], payment_method=stripe_js.create_card(VISA))
    assert form["shown_charge"] == "148000"  # K-1 at $980.00 with its discount, K-2 $500
    response = pay(payer, form)
    assert response.status_code == 303, text(response.get_data(as_text=True))
    [payment] = payments_of(cart)
    assert response.location == f"/payments/{payment.id}/return"
    landing = payer.client.get(response.location)
    assert landing.location == f"/payments/{payment.id}"
    page = text(payer.client.get(landing.location).get_data(as_text=True))
    assert "Thank you. Your payment of $1,480.00 is complete" in page
    assert (payment.status, payment.amount_minor, payment.gateway_ref[:3]) == (
        "succeeded", 1480_00, "pi_")
    assert invoice(cart, "K-1") == (0, 0, "paid") and invoice(cart, "K-2") == (0, 0, "paid")
    ledger_ok(cart)
    assert smtp_sink.to("payer@acme.example"), "no receipt e-mail"
