"""Paying through an invoice link, without an account: by card and by a bank account
connected for one debit, through the same checkout and ledger path as signed-in users.

Real parts: localstripe (cards made as Stripe.js makes them), the local Plaid server
(the account chosen as its Link stand-in would), the ACH stand-in's settlement, the SMTP
sink for the receipt, and the ledger's checks after each payment.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import urllib.request

import pytest
from sqlalchemy import func, select

from portal.accounts import services as accounts
from portal.accounts.models import AuditEvent
from portal.gateways.plaid import PlaidGateway
from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Invoice, JournalEntry, Payment
from portal.links.models import LinkPayment
from portal.payments.bank_models import AchAuthorization, BankAccount
from portal.payments.models import StripeCustomerLink
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.links.conftest import text
from tests.pdf import text as pdf_text

VISA = "4242424242424242"
DECLINED = "4000000000000002"
CHECKING = 0  # the Link stand-in's account that settles (000123456789)
UA = "Mozilla/5.0 (X11; Linux x86_64) link-pay-test"


@pytest.fixture
def config(config, stripe_config, plaid_config, localplaid):
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    return dataclasses.replace(
        config, stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base,
        plaid_client_id=plaid_config.plaid_client_id, plaid_secret=plaid_config.plaid_secret,
        plaid_api_base=plaid_config.plaid_api_base,
        plaid_link_js_url=plaid_config.plaid_link_js_url)


def hidden(page: str, name: str) -> str:
    """The value of the page's field ``name``."""
    match = re.search(rf'name="{name}"[^>]*? value="([^"]*)"', page)
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1))


def pay_form(page: str, **fields) -> dict:
    """The link checkout's form as its Pay button posts it, with ``fields`` filled in."""
    form = {"csrf_token": hidden(page, "csrf_token"), "action": "pay", "card": "new",
            "checkout_key": hidden(page, "checkout_key"),
            "shown_charge": hidden(page, "shown_charge"),
            "amount": hidden(page, "amount") if 'name="amount"' in page else "",
            "payer_name": "Pat Payer", "payer_email": "pat@outside.example", "method": "card"}
    if 'name="shown_discount"' in page:
        form["shown_discount"] = hidden(page, "shown_discount")
    form.update(fields)
    return form


def opened(visitor, world, number: str = "L-1"):
    """A browser that opened a new link to ``number`` (its grant started)."""
    browser = visitor()
    assert browser.open(world.link(number)).status_code == 303
    return browser


def pay_page(browser) -> str:
    response = browser.client.get("/i/pay")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def book(world) -> tuple[list[Payment], dict[str, tuple[int, int, str]]]:
    with world.database.session() as session:
        payments = list(session.scalars(select(Payment).order_by(Payment.id)))
        session.expunge_all()
        invoices = {row.number: (row.balance_minor, row.reserved_minor, row.status)
                    for row in session.scalars(select(Invoice))}
    return payments, invoices


def ledger_ok(world) -> None:
    with world.database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation


def test_the_payer_pays_by_card_and_gets_the_receipt(app, world, visitor, stripe_js,
                                                     smtp_sink):
    browser = opened(visitor, world)
    invoice_page = text(browser.client.get("/i/invoice").get_data(as_text=True))
    assert "Pay this invoice" in invoice_page
    page = pay_page(browser)
    assert "Pay $1,234.56" in text(page) and "Who is paying" in text(page)
    assert "Save this card" not in text(page)  # nothing is kept for a link's payer

    response = browser.client.post("/i/pay/confirm", data=pay_form(
        page, payment_method=stripe_js.create_card(VISA)), headers={"User-Agent": UA})
    assert response.status_code == 303, text(response.get_data(as_text=True))
    landed = browser.client.get(response.headers["Location"])
    assert landed.status_code == 303  # the return page asks Stripe, then shows the payment
    shown = text(browser.client.get(landed.headers["Location"]).get_data(as_text=True))
    assert "Your payment of $1,234.56 is complete" in shown
    assert "a receipt is on its way to pat@outside.example" in shown

    [payment], invoices = book(world)
    assert (payment.method, payment.status, payment.amount_minor) == ("card", "succeeded",
                                                                      1_234_56)
    # The payer's card is not kept for the account.
    with world.database.session() as session:
        account_customer = session.scalar(select(StripeCustomerLink.stripe_customer_id))
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    assert gateway.list_saved_cards(account_customer) == []
    assert (payment.payer_name, payment.payer_email) == ("Pat Payer", "pat@outside.example")
    assert invoices["L-1"] == (0, 0, "paid") and invoices["L-2"][2] == "open"
    with world.database.session() as session:
        assert session.get(LinkPayment, payment.id) is not None
        started = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "link.payment_started")).one()
        assert (started.subject, started.user_agent) == ("L-1", UA)
        assert f"payment={payment.id}" in started.detail
    # The receipt: on the payment's page, as a PDF, and by e-mail to the address typed.
    receipt = browser.client.get(f"/i/payments/{payment.id}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    assert "L-1" in pdf_text(receipt.data) and "1,234.56" in pdf_text(receipt.data)
    assert receipt.headers["Referrer-Policy"] == "no-referrer"
    [mail] = smtp_sink.to("pat@outside.example")
    assert "1,234.56" in smtp_sink.text(mail)
    # The invoice page lists it; the account's own payment pages are not reachable.
    assert f"/i/payments/{payment.id}" in browser.client.get("/i/invoice").get_data(as_text=True)
    assert browser.client.get(f"/payments/{payment.id}").status_code in (302, 404)
    ledger_ok(world)


def test_a_declined_card_writes_nothing_and_says_why(app, world, visitor, stripe_js):
    browser = opened(visitor, world)
    page = pay_page(browser)
    response = browser.client.post("/i/pay/confirm", data=pay_form(
        page, payment_method=stripe_js.create_card(DECLINED)))
    assert response.status_code == 402
    assert "The payment did not go through" in text(response.get_data(as_text=True))
    [payment], invoices = book(world)
    assert payment.status == "failed" and invoices["L-1"] == (1_234_56, 0, "open")
    ledger_ok(world)


@pytest.mark.parametrize("fields, message", [
    ({"payer_name": ""}, "Enter your name."),
    ({"payer_email": "not-an-address"}, "Enter your e-mail address"),
    ({"amount": "2,000.00"}, "Pay at most $1,234.56"),
    ({"amount": "100.00"}, "Paying less than is due needs a reason."),
    ({"payment_method": ""}, "Enter the card's details."),
    ({"method": "ach"}, "Connect your bank to pay by bank debit"),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(app, world, visitor,
                                                                 stripe_js, fields, message):
    browser = opened(visitor, world)
    page = pay_page(browser)
    form = pay_form(page, payment_method=stripe_js.create_card(VISA))
    form.update(fields)
    if "amount" in fields:  # an amount typed is taken with "Update total" first
        page = browser.client.post("/i/pay/review", data=form).get_data(as_text=True)
        assert message in text(page)
        assert 'name="checkout_key"' not in page  # no Pay button for a wrong amount
        form["shown_charge"] = str(1_234_56)
    response = browser.client.post("/i/pay/confirm", data=form)
    assert response.status_code == 422, response.status_code
    assert message in text(response.get_data(as_text=True))
    payments, invoices = book(world)
    assert payments == [] and invoices["L-1"] == (1_234_56, 0, "open")


def test_a_short_payment_with_a_reason_leaves_the_rest_open(app, world, visitor, stripe_js):
    browser = opened(visitor, world)
    page = browser.client.post("/i/pay/review", data={
        "csrf_token": hidden(pay_page(browser), "csrf_token"), "amount": "1,000.00",
        "reason": "damaged"}).get_data(as_text=True)
    assert "Pay $1,000.00" in text(page)
    response = browser.client.post("/i/pay/confirm", data=pay_form(
        page, payment_method=stripe_js.create_card(VISA), reason="damaged"))
    assert response.status_code == 303
    browser.client.get(response.headers["Location"])
    [payment], invoices = book(world)
    assert payment.status == "succeeded" and invoices["L-1"] == (234_56, 0, "open")
    ledger_ok(world)


def _choose_in_link(app, account: int) -> dict:
    """What the Link stand-in gives the page when the payer picks ``account``."""
    config = app.config["PORTAL"]
    token = PlaidGateway.from_config(config).create_link_token("link-1", "Northwind", "en")
    request = urllib.request.Request(
        f"{config.plaid_api_base}/_link/public_token", method="POST",
        data=json.dumps({"link_token": token.link_token, "account": account}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_the_payer_pays_from_a_bank_account_connected_for_this_debit(
        app, world, visitor, localstripe, localplaid):
    browser = opened(visitor, world)
    page = pay_page(browser)
    assert "Bank account (ACH debit)" in text(page) and "Connect your bank" in text(page)
    token = browser.client.post("/i/pay/link-token",
                                headers={"X-CSRFToken": hidden(page, "csrf_token")})
    assert token.status_code == 200 and token.get_json()["link_token"]
    chosen = _choose_in_link(app, CHECKING)
    connected = browser.client.post("/i/pay/bank", data=pay_form(
        page, method="ach", public_token=chosen["public_token"],
        account_id=chosen["metadata"]["account_id"]))
    assert connected.status_code == 200, text(connected.get_data(as_text=True))
    page = connected.get_data(as_text=True)
    words = text(page)
    assert "Debit from the" in words and "ending in 6789" in words
    assert "By selecting Pay, I, Pat Payer (pat@outside.example), on behalf of Acme Corp" \
        in words and "$1,234.56" in words
    # One-off: not one of Acme's bank accounts, and no Plaid token kept.
    with world.database.session() as session:
        [bank] = session.scalars(select(BankAccount)).all()
        assert (bank.status, bank.plaid_access_token) == ("one_off", None)
        account_customer = session.scalar(select(StripeCustomerLink.stripe_customer_id))
        session.expunge(bank)
    assert localplaid._state.items == {}  # the Item was removed at Plaid
    # On a Stripe customer of its own (the account's is not even made for it).
    gateway = StripeGateway.from_config(app.config["PORTAL"])
    assert account_customer is None
    assert [b.id for b in gateway.list_bank_accounts(bank.stripe_customer_id)] == [bank.stripe_id]

    form = pay_form(page, method="ach", authorized_as=hidden(page, "authorized_as"))
    assert browser.client.post("/i/pay/confirm", data=form).status_code == 422  # not ticked
    assert book(world)[0] == []
    response = browser.client.post("/i/pay/confirm", data={**form, "authorize": "1"},
                                   headers={"User-Agent": UA})
    assert response.status_code == 303, text(response.get_data(as_text=True))
    browser.client.get(response.headers["Location"])
    [payment], invoices = book(world)
    assert (payment.method, payment.status) == ("ach", "processing")
    assert invoices["L-1"] == (1_234_56, 1_234_56, "open")
    shown = text(browser.client.get(f"/i/payments/{payment.id}").get_data(as_text=True))
    assert "Your bank debit of $1,234.56 is processing" in shown
    with world.database.session() as session:
        account_customer = session.scalar(select(StripeCustomerLink.stripe_customer_id))
    assert account_customer and gateway.list_bank_accounts(account_customer) == []
    with world.database.session() as session:
        authorization = session.scalars(select(AchAuthorization)).one()
        assert (authorization.payment_id, authorization.user_id, authorization.user_agent) \
            == (payment.id, None, UA)
        assert authorization.accepted_by == "Pat Payer <pat@outside.example>"
    ledger_ok(world)

    localstripe.settle_ach(payment.gateway_ref)
    browser.client.get(f"/i/payments/{payment.id}/return")
    [payment], invoices = book(world)
    assert payment.status == "succeeded" and invoices["L-1"] == (0, 0, "paid")
    with world.database.session() as session:
        assert session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.payment_id == payment.id,
            JournalEntry.kind == "payment_settled")) == 1
    assert browser.client.get(f"/i/payments/{payment.id}/receipt.pdf").status_code == 200
    ledger_ok(world)

    # The account's admin can still link the same bank account for the account itself.
    with world.database.unit_of_work() as uow:
        user = accounts.create_user(uow.session, email="admin@acme.example", name="Admin",
                                    password=PASSWORD)
        accounts.add_membership(uow.session, user, world.acme_id, "admin")
        uow.commit()
    admin = Browser(app.test_client())
    assert admin.sign_in("admin@acme.example").status_code == 302
    chosen = _choose_in_link(app, CHECKING)
    page = admin.client.get("/bank-accounts").get_data(as_text=True)
    added = admin.client.post("/bank-accounts/plaid", data={
        "public_token": chosen["public_token"], "account_id": chosen["metadata"]["account_id"],
        "csrf_token": hidden(page, "csrf_token")})
    assert added.status_code == 303
    listed = admin.client.get("/bank-accounts").get_data(as_text=True)
    assert "was added" in text(listed) and listed.count("<tr data-bank-account") == 1


def test_a_changed_name_needs_the_authorization_read_again(app, world, visitor, localstripe):
    browser = opened(visitor, world)
    page = pay_page(browser)
    chosen = _choose_in_link(app, CHECKING)
    page = browser.client.post("/i/pay/bank", data=pay_form(
        page, method="ach", public_token=chosen["public_token"],
        account_id=chosen["metadata"]["account_id"])).get_data(as_text=True)
    form = pay_form(page, method="ach", authorized_as=hidden(page, "authorized_as"),
                    authorize="1", payer_name="Someone Else")
    response = browser.client.post("/i/pay/confirm", data=form)
    assert response.status_code == 422
    assert "read the debit authorization again" in text(response.get_data(as_text=True))
    assert book(world)[0] == []


def test_a_link_reaches_only_payments_made_through_links_to_its_invoice(
        app, world, visitor, stripe_js):
    first = opened(visitor, world, "L-2")
    response = first.client.post("/i/pay/confirm", data=pay_form(
        pay_page(first), payment_method=stripe_js.create_card(VISA)))
    first.client.get(response.headers["Location"])
    [payment], _ = book(world)
    # A browser holding a link to another invoice of the same customer sees none of it.
    other = opened(visitor, world, "L-1")
    for path in (f"/i/payments/{payment.id}", f"/i/payments/{payment.id}/receipt.pdf",
                 f"/i/payments/{payment.id}/return", f"/i/payments/{payment.id}/authenticate"):
        assert other.client.get(path).status_code == 404, path
    assert "987.65" not in other.client.get("/i/invoice").get_data(as_text=True)
    # A fresh link to the same invoice shows it, with its receipt.
    again = opened(visitor, world, "L-2")
    assert again.client.get(f"/i/payments/{payment.id}/receipt.pdf").status_code == 200
    # Without a grant: the ended-link page.
    assert visitor().client.get(f"/i/payments/{payment.id}").status_code == 404


def test_a_paid_invoice_offers_no_payment(app, world, visitor, stripe_js):
    browser = opened(visitor, world)
    response = browser.client.post("/i/pay/confirm", data=pay_form(
        pay_page(browser), payment_method=stripe_js.create_card(VISA)))
    browser.client.get(response.headers["Location"])
    assert "Pay this invoice" not in text(browser.client.get("/i/invoice").get_data(as_text=True))
    page = text(pay_page(browser))
    assert "Nothing has been paid yet." in page and "Pay $" not in page


def test_a_card_that_asks_for_3d_secure_is_verified_on_the_links_own_page(
        app, world, visitor, stripe_js):
    browser = opened(visitor, world)
    response = browser.client.post("/i/pay/confirm", data=pay_form(
        pay_page(browser), payment_method=stripe_js.create_card("4000002760003184")))
    [payment], invoices = book(world)
    assert response.headers["Location"] == f"/i/payments/{payment.id}/authenticate"
    assert invoices["L-1"] == (1_234_56, 1_234_56, "open")  # held while the bank asks
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-return-url="/i/payments/{payment.id}/return"' in page
    stripe_js.authenticate(re.search(r'data-client-secret="([^"]+)"', page)[1])
    browser.client.get(f"/i/payments/{payment.id}/return")
    [payment], invoices = book(world)
    assert payment.status == "succeeded" and invoices["L-1"] == (0, 0, "paid")
    ledger_ok(world)
