"""Paying the checkout by ACH debit: Plaid-linked account, authorization, processing for days,
then settled once, failed (nothing posted, reservations released) or returned (reversed).

Real parts: the local Plaid server (the account is linked through it, as Link would),
the offline Stripe with its ACH stand-in (``settle_ach``, ``return_ach``), and its
signed webhooks, caught and posted to ``/webhooks/stripe`` as Stripe would.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request

import pytest
from sqlalchemy import select

from portal.gateways.plaid import PlaidGateway
from portal.ledger.models import JournalEntry, Payment
from portal.payments.ach_authorization import VERSION
from portal.payments.bank_models import AchAuthorization, BankAccount
from tests.integration.checkout.conftest import (
    PAYER,
    checkout_form,
    hidden,
    invoice,
    ledger_ok,
    pay,
    payments_of,
    text,
)
from tests.stripe_fixtures import webhook_receiver

CHECKING, SAVING = 0, 1  # the Link stand-in's accounts: 000123456789 succeeds; 000222222227 R01
UA = "Mozilla/5.0 (X11; Linux x86_64) ACH-test"


@pytest.fixture
def config(config, plaid_config, localplaid, stripe_config):
    """The checkout's settings, plus the local Plaid, which mints tokens at the local Stripe."""
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    return dataclasses.replace(config, plaid_client_id=plaid_config.plaid_client_id,
                               plaid_secret=plaid_config.plaid_secret,
                               plaid_api_base=plaid_config.plaid_api_base)


@pytest.fixture
def deliveries(localstripe, stripe_config):
    with webhook_receiver(localstripe, stripe_config, "ach-checkout-tests",
                          ["payment_intent.processing", "payment_intent.succeeded",
                           "payment_intent.payment_failed", "charge.dispute.created"]) as caught:
        yield caught


def link(app, book, signed_in, account: int) -> int:
    """Link one of the stand-in's accounts for Acme as its admin does with Plaid Link: the
    page posts Link's public token and the chosen account; the new account's id."""
    config = app.config["PORTAL"]
    token = PlaidGateway.from_config(config).create_link_token("17", "Northwind", "en")
    request = urllib.request.Request(
        f"{config.plaid_api_base}/_link/public_token", method="POST",
        data=json.dumps({"link_token": token.link_token, "account": account}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        chosen = json.load(response)
    admin = signed_in("admin@acme.example")
    page = admin.client.get("/bank-accounts").get_data(as_text=True)
    response = admin.client.post("/bank-accounts/plaid", data={
        "public_token": chosen["public_token"], "account_id": chosen["metadata"]["account_id"],
        "csrf_token": hidden(page, "csrf_token")})
    assert response.status_code == 303, text(response.get_data(as_text=True))
    with book.session() as unit:
        return unit.session.scalars(select(BankAccount.id).order_by(BankAccount.id.desc())).first()


def pay_by_bank(payer, bank_id: int, numbers: list[str], **fields):
    form = checkout_form(payer, numbers, method="ach", bank_account=str(bank_id), authorize="1",
                         **fields)
    return pay(payer, form)


def post(client, deliveries, event_type: str, object_id: str, times: int = 1) -> None:
    """Post Stripe's signed delivery of ``event_type`` to the portal (``times``: replayed)."""
    payload, signature = deliveries.next(event_type, object_id)
    for _ in range(times):
        response = client.post("/webhooks/stripe", data=payload, headers={
            "Content-Type": "application/json", "Stripe-Signature": signature})
        assert response.status_code == 200, response.get_data(as_text=True)


def settlements(book, payment_id: int) -> int:
    with book.session() as unit:
        return len(unit.session.scalars(select(JournalEntry).where(
            JournalEntry.payment_id == payment_id, JournalEntry.kind == "payment_settled")).all())


def notices(smtp_sink) -> list[str]:
    """The payer's e-mails about a bank debit that failed or was returned."""
    return [smtp_sink.text(m) for m in smtp_sink.to(PAYER)
            if "did not go through" in m["Subject"] or "returned your payment" in m["Subject"]]


def test_two_invoices_by_ach_process_then_settle_once(app, cart, signed_in, localstripe,
                                                      deliveries, smtp_sink):
    bank_id = link(app, cart, signed_in, CHECKING)
    payer = signed_in()
    page = text(payer.client.get("/pay?invoice=K-2&invoice=K-3").get_data(as_text=True))
    assert "Bank account (ACH debit)" in page and "ending in 6789" in page
    assert "authorize Northwind" in page or "authorize" in page

    response = pay_by_bank(payer, bank_id, ["K-2", "K-3"],)
    assert response.status_code == 303, text(response.get_data(as_text=True))
    [payment] = payments_of(cart)
    assert (payment.method, payment.status, payment.amount_minor) == ("ach", "processing",
                                                                      750_00)
    # Processing: the amounts stay reserved, nothing is posted as settled.
    assert invoice(cart, "K-2") == (500_00, 500_00, "open")
    assert invoice(cart, "K-3") == (250_00, 250_00, "open")
    assert settlements(cart, payment.id) == 0
    listed = text(payer.client.get("/invoices").get_data(as_text=True))
    assert listed.count("Payment processing — expected by") == 2
    detail = text(payer.client.get("/invoices/K-2").get_data(as_text=True))
    assert "Payment processing — expected by" in detail and "bank debit" in detail
    with cart.session() as unit:
        [authorization] = unit.session.scalars(select(AchAuthorization)).all()
        unit.session.expunge(authorization)
    assert (authorization.payment_id, authorization.kind, authorization.text_version,
            authorization.amount_minor) == (payment.id, "debit", VERSION, 750_00)
    assert "$750.00" in authorization.text and "ending in 6789" in authorization.text
    assert authorization.ip_address and authorization.user_agent is not None
    ledger_ok(cart)

    localstripe.settle_ach(payment.gateway_ref)
    post(payer.client, deliveries, "payment_intent.succeeded", payment.gateway_ref, times=2)

    [payment] = payments_of(cart)
    assert payment.status == "succeeded" and settlements(cart, payment.id) == 1
    assert invoice(cart, "K-2") == (0, 0, "paid") and invoice(cart, "K-3") == (0, 0, "paid")
    assert payer.client.get(f"/payments/{payment.id}/receipt.pdf").status_code == 200
    ledger_ok(cart)


def test_a_failed_debit_releases_the_invoices_posts_nothing_and_tells_the_payer(
        app, cart, signed_in, localstripe, deliveries, smtp_sink):
    bank_id = link(app, cart, signed_in, SAVING)  # Stripe's test account: insufficient funds
    payer = signed_in()
    assert pay_by_bank(payer, bank_id, ["K-2", "K-3"]).status_code == 303
    [payment] = payments_of(cart)
    assert payment.status == "processing"

    localstripe.settle_ach(payment.gateway_ref)
    post(payer.client, deliveries, "payment_intent.payment_failed", payment.gateway_ref)

    [payment] = payments_of(cart)
    assert (payment.status, payment.failure_code) == ("failed", "R01")
    assert invoice(cart, "K-2") == (500_00, 0, "open") and invoice(cart, "K-3") == (250_00, 0,
                                                                                    "open")
    assert settlements(cart, payment.id) == 0
    page = text(payer.client.get(f"/payments/{payment.id}").get_data(as_text=True))
    assert "not enough money in the account" in page
    [notice] = notices(smtp_sink)
    assert "not enough money in the account" in notice and "K-2" in notice
    assert "pay them again from another bank account or by card" in notice
    ledger_ok(cart)


def test_a_return_after_success_reverses_and_reopens_the_invoices(
        app, cart, signed_in, localstripe, deliveries, smtp_sink):
    bank_id = link(app, cart, signed_in, CHECKING)
    payer = signed_in()
    assert pay_by_bank(payer, bank_id, ["K-2", "K-3"]).status_code == 303
    [payment] = payments_of(cart)
    localstripe.settle_ach(payment.gateway_ref)
    post(payer.client, deliveries, "payment_intent.succeeded", payment.gateway_ref)

    dispute = localstripe.return_ach(payment.gateway_ref, reason="debit_not_authorized")
    post(payer.client, deliveries, "charge.dispute.created", dispute["id"])

    [payment] = payments_of(cart)
    assert (payment.status, payment.failure_code) == ("reversed", "R10")
    assert invoice(cart, "K-2") == (500_00, 0, "open") and invoice(cart, "K-3") == (250_00, 0,
                                                                                    "open")
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert any(s.startswith("ACH return on payment") for s in subjects), subjects  # vendor
    [notice] = notices(smtp_sink)  # payer
    assert "took back your payment" in notice and "not authorized" in notice
    ledger_ok(cart)


def test_without_accepting_the_authorization_nothing_is_written(app, cart, signed_in):
    bank_id = link(app, cart, signed_in, CHECKING)
    payer = signed_in()
    form = checkout_form(payer, ["K-2"], method="ach", bank_account=str(bank_id))
    form.pop("authorize", None)
    response = pay(payer, form)
    assert response.status_code == 422
    assert "accept the debit authorization" in text(response.get_data(as_text=True))
    assert payments_of(cart) == []
    with cart.session() as unit:
        assert unit.session.scalars(select(AchAuthorization)).all() == []


def test_another_accounts_bank_account_cannot_be_debited(app, cart, signed_in):
    bank_id = link(app, cart, signed_in, CHECKING)
    other = signed_in("payer@globex.example")
    with cart.session() as unit:
        assert unit.session.scalar(select(Payment.id)) is None
    response = pay_by_bank(other, bank_id, ["A-GLOBEX-1"])
    assert response.status_code == 422
    assert "Choose one of the account's bank accounts" in text(response.get_data(as_text=True))
    assert payments_of(cart) == []
