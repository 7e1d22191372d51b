"""The Stripe adapter against a running localstripe: customers, payments, cards, webhooks.

Everything goes through :class:`StripeGateway`, as the portal's services will;
what the payer's browser does is done by the ``stripe_js`` fixture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from portal.config import Config
from portal.gateways.stripe import (
    STRIPE_JS_URL,
    CardDeclined,
    IdempotencyConflict,
    NotConfigured,
    NotFound,
    StripeGateway,
    WebhookSignatureError,
)
from tests.stripe_fixtures import Receiver, sign, webhook_receiver

VISA = "4242424242424242"
DECLINED_AFTER_ATTACH = "4000000000000341"
THREE_D_SECURE = "4000002760003184"
DECLINED_ON_ATTACH = "4000000000000002"


def saved_card(gateway: StripeGateway, stripe_js, customer: str, number: str) -> str:
    """Save a card the way the portal will: a SetupIntent, confirmed by Stripe.js."""
    setup = gateway.create_setup_intent(customer)
    method = stripe_js.create_card(number)
    confirmed = stripe_js.confirm_card_setup(setup.client_secret, method)
    assert confirmed["status"] == "succeeded"
    return method


def pay(gateway: StripeGateway, customer: str, key: str, amount: int = 125_00, **kwargs):
    return gateway.create_payment_intent(amount, "USD", customer, payment_id=41,
                                         invoice_numbers=["INV-1001", "INV-1002"],
                                         idempotency_key=key, **kwargs)


@pytest.fixture
def customer(gateway: StripeGateway) -> str:
    return gateway.ensure_customer(17, name="Acme Corp", email="ap@acme.example").id


def test_one_stripe_customer_per_account(gateway):
    first = gateway.ensure_customer(17, name="Acme Corp", email="ap@acme.example")
    # A retry before the portal stored the id: the idempotency key returns the same one.
    again = gateway.ensure_customer(17, name="Acme Corp", email="ap@acme.example")
    # Later calls pass the stored id.
    known = gateway.ensure_customer(17, name="Acme Corp", known_id=first.id)
    other = gateway.ensure_customer(18, name="Globex")

    assert first.id.startswith("cus_")
    assert again.id == known.id == first.id
    assert first.portal_customer_id == "17" and first.email == "ap@acme.example"
    assert other.id != first.id and other.portal_customer_id == "18"


def test_a_stored_id_of_another_account_is_refused(gateway):
    acme = gateway.ensure_customer(17, name="Acme Corp")
    with pytest.raises(Exception, match="belongs to portal customer '17'"):
        gateway.ensure_customer(18, name="Globex", known_id=acme.id)


@pytest.mark.parametrize("card", ["pm_card_visa", VISA])
def test_a_card_payment_succeeds_and_retrieve_reports_it(gateway, stripe_js, customer, card):
    method = card if card.startswith("pm_") else stripe_js.create_card(card)

    created = pay(gateway, customer, "payment-41-attempt-1", payment_method=method)
    seen = gateway.retrieve_payment_intent(created.id)

    for intent in (created, seen):
        assert intent.status == "succeeded"
        assert intent.amount_minor == intent.amount_received_minor == 125_00
        assert intent.currency == "USD" and intent.customer_id == customer
        assert intent.payment_id == "41"
        assert intent.invoice_numbers == ("INV-1001", "INV-1002")
        assert intent.card is not None
        assert (intent.card.brand, intent.card.last4) == ("visa", "4242")
        assert intent.last_error is None and intent.charge_id.startswith("ch_")
    assert created.id == seen.id


def test_a_payment_for_the_browser_waits_for_a_card(gateway, customer):
    intent = pay(gateway, customer, "payment-41-attempt-1")

    assert intent.status == "requires_payment_method"
    assert intent.client_secret.startswith(intent.id + "_secret_")
    assert intent.amount_received_minor == 0 and intent.card is None


def test_a_declined_card_reports_the_decline(gateway, stripe_js, customer):
    # The card saves fine; charging it fails.
    method = saved_card(gateway, stripe_js, customer, DECLINED_AFTER_ATTACH)

    declined = pay(gateway, customer, "payment-41-attempt-1", payment_method=method)
    seen = gateway.retrieve_payment_intent(declined.id)

    for intent in (declined, seen):
        assert intent.status == "requires_payment_method"
        assert intent.amount_received_minor == 0
        assert intent.last_error is not None
        assert intent.last_error.code == "card_declined"
        assert intent.last_error.decline_code == "generic_decline"
        assert intent.last_error.message == "Your card was declined."
    # A retry of the same request replays the decline: still one PaymentIntent.
    assert pay(gateway, customer, "payment-41-attempt-1", payment_method=method).id == seen.id


def test_a_card_refused_when_saved_raises(gateway, stripe_js, customer):
    setup = gateway.create_setup_intent(customer)
    method = stripe_js.create_card(DECLINED_ON_ATTACH)
    with pytest.raises(AssertionError, match="card_declined"):
        stripe_js.confirm_card_setup(setup.client_secret, method)
    assert gateway.list_saved_cards(customer) == []


def test_three_d_secure_requires_action_then_succeeds(gateway, stripe_js, customer):
    method = stripe_js.create_card(THREE_D_SECURE)

    intent = pay(gateway, customer, "payment-41-attempt-1", payment_method=method)
    assert intent.status == "requires_action" and intent.requires_action

    stripe_js.authenticate(intent.client_secret, success=True)
    settled = gateway.retrieve_payment_intent(intent.id)
    assert settled.status == "succeeded" and settled.amount_received_minor == 125_00


def test_failed_three_d_secure_reports_why(gateway, stripe_js, customer):
    intent = pay(gateway, customer, "payment-41-attempt-1",
                 payment_method=stripe_js.create_card(THREE_D_SECURE))

    stripe_js.authenticate(intent.client_secret, success=False)
    failed = gateway.retrieve_payment_intent(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_error.code == "payment_intent_authentication_failure"


def test_the_same_idempotency_key_creates_one_payment_intent(gateway, customer, localstripe):
    first = pay(gateway, customer, "payment-41-attempt-1")
    second = pay(gateway, customer, "payment-41-attempt-1")
    third = pay(gateway, customer, "payment-41-attempt-2")

    assert first.id == second.id
    assert first.client_secret == second.client_secret
    assert third.id != first.id


def test_the_same_key_with_another_amount_is_refused(gateway, customer):
    pay(gateway, customer, "payment-41-attempt-1", amount=125_00)
    with pytest.raises(IdempotencyConflict, match="same parameters"):
        pay(gateway, customer, "payment-41-attempt-1", amount=99_00)


def test_cancel_a_payment_intent(gateway, customer):
    intent = pay(gateway, customer, "payment-41-attempt-1")
    assert gateway.cancel_payment_intent(intent.id).status == "canceled"
    assert gateway.retrieve_payment_intent(intent.id).status == "canceled"


def test_unknown_payment_intent_is_not_found(gateway):
    with pytest.raises(NotFound):
        gateway.retrieve_payment_intent("pi_doesnotexist")


def test_amounts_are_whole_positive_minor_units(gateway, customer):
    for amount in (0, -5, 12.5, True):
        with pytest.raises(ValueError, match="minor units"):
            pay(gateway, customer, "payment-41-attempt-1", amount=amount)


def test_a_setup_intent_saves_a_card_that_can_be_listed_and_detached(
        gateway, stripe_js, customer):
    other = gateway.ensure_customer(18, name="Globex").id
    setup = gateway.create_setup_intent(customer)
    assert setup.status == "requires_payment_method" and setup.customer_id == customer

    method = saved_card(gateway, stripe_js, customer, VISA)
    cards = gateway.list_saved_cards(customer)
    assert [(c.payment_method_id, c.brand, c.last4) for c in cards] == [(method, "visa", "4242")]
    assert gateway.list_saved_cards(other) == []

    with pytest.raises(NotFound):
        gateway.detach_card(method, other)  # not Globex's card
    gateway.detach_card(method, customer)
    assert gateway.list_saved_cards(customer) == []


def test_a_saved_card_pays_again(gateway, stripe_js, customer):
    method = saved_card(gateway, stripe_js, customer, VISA)
    intent = pay(gateway, customer, "payment-42-attempt-1", payment_method=method)
    assert intent.status == "succeeded" and intent.card.payment_method_id == method


def test_save_card_keeps_the_card_after_the_payment(gateway, stripe_js, customer):
    method = stripe_js.create_card(VISA)
    pay(gateway, customer, "payment-41-attempt-1", payment_method=method, save_card=True)
    assert [c.payment_method_id for c in gateway.list_saved_cards(customer)] == [method]


def test_a_payment_without_save_card_leaves_nothing_saved(gateway, stripe_js, customer):
    pay(gateway, customer, "payment-41-attempt-1", payment_method=stripe_js.create_card(VISA))
    assert gateway.list_saved_cards(customer) == []


# Webhooks ----------------------------------------------------------------------------------


@pytest.fixture
def receiver(localstripe, stripe_config) -> Iterator[Receiver]:
    with webhook_receiver(localstripe, stripe_config, "tests",
                          ["customer.created"]) as caught:
        yield caught


def test_a_delivered_webhook_verifies(gateway, receiver):
    customer = gateway.ensure_customer(17, name="Acme Corp")
    payload, signature = receiver.deliveries.get(timeout=10)

    event = gateway.construct_event(payload, signature)
    assert event.type == "customer.created" and event.id.startswith("evt_")
    assert event.object["id"] == customer.id
    assert event.object["metadata"] == {"portal_customer_id": "17"}


def test_a_tampered_webhook_is_refused(gateway, receiver):
    gateway.ensure_customer(17, name="Acme Corp")
    payload, signature = receiver.deliveries.get(timeout=10)

    tampered = payload.replace(b"Acme Corp", b"Evil Corp")
    with pytest.raises(WebhookSignatureError):
        gateway.construct_event(tampered, signature)
    with pytest.raises(WebhookSignatureError):
        gateway.construct_event(payload, None)


def test_a_webhook_signed_with_another_secret_or_too_old_is_refused(gateway, stripe_config):
    payload = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "created": 1,
                          "livemode": False, "data": {"object": {"id": "pi_1"}}}).encode()
    secret = stripe_config.stripe_webhook_secret
    now = int(time.time())

    assert gateway.construct_event(payload, sign(payload, secret, now)).object == {"id": "pi_1"}
    with pytest.raises(WebhookSignatureError):
        gateway.construct_event(payload, sign(payload, "whsec_other", now))
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        gateway.construct_event(payload, sign(payload, secret, now - 600))


def test_without_a_webhook_secret_every_webhook_is_refused(stripe_config):
    gateway = StripeGateway.from_config(Config(
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_api_base=stripe_config.stripe_api_base))
    payload = b'{"id": "evt_1"}'
    with pytest.raises(WebhookSignatureError):
        gateway.construct_event(payload, sign(payload, "", int(time.time())))


# Configuration -----------------------------------------------------------------------------


def test_stripe_js_comes_from_the_local_server_or_stripe(gateway, stripe_config, localstripe):
    assert gateway.js_url == f"{localstripe.url}/js.stripe.com/v3/"
    assert gateway.publishable_key == stripe_config.stripe_publishable_key

    real = StripeGateway.from_config(Config(stripe_secret_key="sk_test_x",
                                            stripe_publishable_key="pk_test_x"))
    assert real.js_url == STRIPE_JS_URL == "https://js.stripe.com/v3/"


def test_without_a_secret_key_there_is_no_gateway():
    with pytest.raises(NotConfigured):
        StripeGateway.from_config(Config())


def test_a_card_error_without_payment_intent_is_card_declined():
    # The portal's own error type carries Stripe's codes.
    error = CardDeclined("Your card was declined.", code="card_declined",
                         decline_code="generic_decline")
    assert (error.http_status, error.decline_code) == (402, "generic_decline")
