"""ACH Direct Debit through :class:`StripeGateway` against the local Stripe's ACH stand-in
(:mod:`portal.gateways.localstripe_ach`): bank account tokens as Plaid mints them, numbers
verified by micro-deposits, debits that stay processing until the test controls let the
bank answer, returns after success, and the signed webhooks of each transition.

Stripe's ACH test account numbers decide the bank's answer
(https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from portal.config import Config
from portal.gateways.localstripe_ach import AchControlError
from portal.gateways.stripe import (
    GatewayError,
    IdempotencyConflict,
    MandateAcceptance,
    MicrodepositsRejected,
    NotFound,
    StripeGateway,
    WebhookEvent,
)
from portal.payments import webhooks
from tests.stripe_fixtures import Receiver, webhook_receiver

ROUTING = "110000000"
SUCCEEDS = "000123456789"
FAILURES = {"000222222227": "insufficient_funds", "000111111113": "account_closed",
            "000111111116": "no_account", "000333333335": "debit_not_authorized"}
ACCEPTANCE = MandateAcceptance(datetime(2025, 3, 1, 12, 30, tzinfo=UTC), "203.0.113.7",
                               "Mozilla/5.0 (portal tests)")
EVENTS = ["payment_intent.processing", "payment_intent.succeeded",
          "payment_intent.payment_failed", "payment_intent.requires_action", "charge.pending",
          "charge.succeeded", "charge.failed", "charge.dispute.created",
          "setup_intent.requires_action", "setup_intent.succeeded", "setup_intent.setup_failed",
          "customer.source.created"]


def http(config: Config, path: str, data: dict[str, str] | None = None, *,
         key: str | None = None, method: str | None = None) -> tuple[int, dict]:
    """One request to the local Stripe, as another process would make it."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(config.stripe_api_base + path, data=body, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def mint_token(config: Config, account: str = SUCCEEDS, *, routing: str = ROUTING,
               stripe_js: bool = False) -> tuple[int, dict]:
    """``POST /v1/tokens`` as Plaid calls it (secret key) or Stripe.js (publishable key)."""
    fields = {"bank_account[country]": "US", "bank_account[currency]": "usd",
              "bank_account[routing_number]": routing,
              "bank_account[account_number]": account,
              "bank_account[account_holder_name]": "Acme Corp",
              "bank_account[account_holder_type]": "company"}
    if stripe_js:
        return http(config, "/v1/tokens", {**fields, "key": config.stripe_publishable_key})
    return http(config, "/v1/tokens", fields, key=config.stripe_secret_key)


def token(config: Config, account: str = SUCCEEDS, **kwargs) -> str:
    status, body = mint_token(config, account, **kwargs)
    assert status == 200, body
    return body["id"]


def linked(gateway: StripeGateway, config: Config, customer: str, account: str = SUCCEEDS):
    """A bank account linked with Plaid: its token, saved on the customer."""
    return gateway.attach_bank_token(customer, token(config, account), f"link-{account}")


def debit(gateway: StripeGateway, customer: str, method: str, key: str = "payment-41-ach-1",
          acceptance: MandateAcceptance | None = ACCEPTANCE, amount: int = 125_00,
          currency: str = "USD", **kwargs):
    return gateway.create_ach_payment_intent(amount, currency, customer, method, acceptance,
                                             payment_id=41,
                                             invoice_numbers=["INV-1001", "INV-1002"],
                                             idempotency_key=key, **kwargs)


def received(gateway: StripeGateway, receiver: Receiver,
             *wanted: tuple[str, str]) -> dict[str, WebhookEvent]:
    """Wait for the deliveries of ``(event type, object id)``, in any order; each verified."""
    found: dict[str, WebhookEvent] = {}
    while len(found) < len(wanted):
        payload, signature = receiver.deliveries.get(timeout=10)
        event = gateway.construct_event(payload, signature)
        if (event.type, event.object.get("id")) in wanted:
            found[event.type] = event
    return found


def payment_intents(config: Config) -> list[dict]:
    return http(config, "/v1/payment_intents", key=config.stripe_secret_key)[1]["data"]


@pytest.fixture
def customer(gateway: StripeGateway) -> str:
    return gateway.ensure_customer(17, name="Acme Corp", email="ap@acme.example").id


@pytest.fixture
def receiver(localstripe, stripe_config) -> Iterator[Receiver]:
    with webhook_receiver(localstripe, stripe_config, "ach-tests", EVENTS) as caught:
        yield caught


# Bank accounts linked with Plaid ------------------------------------------------------------


def test_a_plaid_token_saves_a_verified_bank_account(gateway, stripe_config, customer):
    bank = linked(gateway, stripe_config, customer)

    assert bank.id.startswith("ba_") and bank.verified
    assert (bank.bank_name, bank.last4, bank.routing_number) == ("STRIPE TEST BANK", "6789",
                                                                 ROUTING)
    assert (bank.holder_name, bank.holder_type, bank.account_type) == ("Acme Corp", "company",
                                                                       "checking")
    assert gateway.list_bank_accounts(customer) == [bank]


def test_a_token_is_single_use_and_an_account_is_saved_once(gateway, stripe_config, customer):
    once = token(stripe_config)
    gateway.attach_bank_token(customer, once, "link-1")

    with pytest.raises(GatewayError) as reused:
        gateway.attach_bank_token(customer, once, "link-2")
    assert reused.value.code == "token_already_used"
    with pytest.raises(GatewayError) as twice:
        gateway.attach_bank_token(customer, token(stripe_config), "link-3")
    assert twice.value.code == "bank_account_exists"


def test_a_token_with_a_bad_routing_number_is_refused(stripe_config):
    status, body = mint_token(stripe_config, routing="110000001")
    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == (
        "routing_number_invalid", "bank_account[routing_number]")


# Debits -----------------------------------------------------------------------------------


def test_a_debit_processes_until_the_bank_answers(gateway, stripe_config, customer, localstripe,
                                                  receiver):
    bank = linked(gateway, stripe_config, customer)

    intent = debit(gateway, customer, bank.id)
    assert intent.status == "processing" and intent.is_ach and not intent.requires_action
    assert intent.payment_method_type == "us_bank_account" and intent.card is None
    assert intent.bank_account.id == bank.id and intent.bank_account.last4 == "6789"
    assert intent.amount_minor == 125_00 and intent.amount_received_minor == 0
    assert intent.mandate_id.startswith("mandate_") and intent.charge_id.startswith("ch_")
    assert (intent.payment_id, intent.invoice_numbers) == ("41", ("INV-1001", "INV-1002"))
    events = received(gateway, receiver, ("payment_intent.processing", intent.id),
                      ("charge.pending", intent.charge_id))
    assert events["payment_intent.processing"].object["status"] == "processing"
    assert events["charge.pending"].object["payment_method_details"]["us_bank_account"][
        "mandate"] == intent.mandate_id

    assert localstripe.settle_ach(intent.id)["status"] == "succeeded"

    events = received(gateway, receiver, ("payment_intent.succeeded", intent.id),
                      ("charge.succeeded", intent.charge_id))
    assert events["payment_intent.succeeded"].object["amount_received"] == 125_00
    settled = gateway.retrieve_payment_intent(intent.id)
    assert (settled.status, settled.amount_received_minor, settled.last_error) == (
        "succeeded", 125_00, None)


@pytest.mark.parametrize(("account", "code"), FAILURES.items())
def test_the_test_account_number_decides_the_failure(gateway, stripe_config, customer,
                                                      localstripe, receiver, account, code):
    intent = debit(gateway, customer, linked(gateway, stripe_config, customer, account).id)

    localstripe.settle_ach(intent.id)

    failed = gateway.retrieve_payment_intent(intent.id)
    assert failed.status == "requires_payment_method" and failed.amount_received_minor == 0
    assert (failed.last_error.code, failed.last_error.decline_code) == (code, None)
    assert failed.is_ach and failed.bank_account.last4 == account[-4:]
    events = received(gateway, receiver, ("payment_intent.payment_failed", intent.id),
                      ("charge.failed", intent.charge_id))
    error = events["payment_intent.payment_failed"].object["last_payment_error"]
    assert (error["code"], error["type"]) == (code, "invalid_request_error")
    assert error["payment_method"]["id"] == failed.bank_account.id
    assert events["charge.failed"].object["failure_code"] == code


def test_the_controls_override_the_account_number(gateway, stripe_config, customer,
                                                  localstripe):
    good = debit(gateway, customer, linked(gateway, stripe_config, customer).id, "pay-1")
    poor = debit(gateway, customer,
                 linked(gateway, stripe_config, customer, "000222222227").id, "pay-2")

    localstripe.settle_ach(good.id, outcome="failed", failure_code="account_closed")
    localstripe.settle_ach(poor.id, outcome="succeeded")

    assert gateway.retrieve_payment_intent(good.id).last_error.code == "account_closed"
    assert gateway.retrieve_payment_intent(poor.id).status == "succeeded"
    with pytest.raises(AchControlError) as settled:
        localstripe.settle_ach(poor.id)  # only a processing debit settles
    assert settled.value.status == 400


def test_the_http_controls_serve_another_process(gateway, stripe_config, customer):
    intent = debit(gateway, customer, linked(gateway, stripe_config, customer).id)
    path = f"/_ach/payment_intents/{intent.id}/settle"

    assert http(stripe_config, path, {"outcome": "succeeded"})[0] == 401  # a secret key, please
    status, body = http(stripe_config, path, {"outcome": "succeeded"},
                        key=stripe_config.stripe_secret_key)

    assert (status, body["status"]) == (200, "succeeded")


def test_a_return_after_success_is_a_lost_dispute_the_portal_reads(
        gateway, stripe_config, customer, localstripe, receiver):
    intent = debit(gateway, customer, linked(gateway, stripe_config, customer).id)
    localstripe.settle_ach(intent.id)

    dispute = localstripe.return_ach(intent.id, reason="debit_not_authorized")

    event = received(gateway, receiver, ("charge.dispute.created", dispute["id"]))[
        "charge.dispute.created"]
    assert (event.object["status"], event.object["reason"]) == ("lost", "debit_not_authorized")
    read = webhooks._dispute(event.object)  # what the portal's webhook takes from it
    assert (read.id, read.charge_id, read.payment_intent_id) == (dispute["id"], intent.charge_id,
                                                                 intent.id)
    assert (read.amount_minor, read.currency) == (125_00, "USD")
    assert gateway.retrieve_payment_intent(intent.id).status == "succeeded"
    with pytest.raises(AchControlError):
        localstripe.return_ach(intent.id)  # returned once


def test_an_unauthorized_return_ends_the_mandate(gateway, stripe_config, customer, localstripe):
    bank = linked(gateway, stripe_config, customer)
    first = debit(gateway, customer, bank.id, "pay-1")
    localstripe.settle_ach(first.id)
    localstripe.return_ach(first.id, reason="debit_not_authorized")

    with pytest.raises(GatewayError) as refused:
        debit(gateway, customer, bank.id, "pay-2", acceptance=None, off_session=True)
    assert refused.value.code == "parameter_missing"


def test_the_first_debit_needs_the_acceptance_later_ones_reuse_the_mandate(
        gateway, stripe_config, customer):
    bank = linked(gateway, stripe_config, customer).id

    with pytest.raises(GatewayError) as missing:
        debit(gateway, customer, bank, "pay-1", acceptance=None)
    assert (missing.value.code, missing.value.http_status) == ("parameter_missing", 400)
    first = debit(gateway, customer, bank, "pay-2")
    autopay = debit(gateway, customer, bank, "pay-3", acceptance=None, off_session=True)

    assert first.status == autopay.status == "processing"
    assert autopay.mandate_id == first.mandate_id


def test_the_same_key_replays_the_debit(gateway, stripe_config, customer):
    bank = linked(gateway, stripe_config, customer).id

    first = debit(gateway, customer, bank)
    again = debit(gateway, customer, bank)

    assert again.id == first.id and again.status == "processing"
    assert len(payment_intents(stripe_config)) == 1
    with pytest.raises(IdempotencyConflict):
        debit(gateway, customer, bank, amount=99_00)


def test_an_unverified_bank_account_is_refused(gateway, stripe_config, customer):
    typed_in = gateway.attach_bank_token(customer, token(stripe_config, stripe_js=True), "link")
    assert typed_in.status == "new" and not typed_in.verified

    with pytest.raises(GatewayError) as refused:
        debit(gateway, customer, typed_in.id)
    assert (refused.value.code, refused.value.http_status) == ("bank_account_declined", 400)
    assert payment_intents(stripe_config) == []


def test_a_debit_is_in_dollars(gateway, stripe_config, customer):
    with pytest.raises(GatewayError) as refused:
        debit(gateway, customer, linked(gateway, stripe_config, customer).id, currency="EUR")
    assert refused.value.code == "payment_intent_invalid_parameter"


def test_a_processing_debit_cannot_be_canceled(gateway, stripe_config, customer):
    intent = debit(gateway, customer, linked(gateway, stripe_config, customer).id)

    with pytest.raises(GatewayError) as refused:
        gateway.cancel_payment_intent(intent.id)
    assert refused.value.code == "payment_intent_unexpected_state"
    assert gateway.retrieve_payment_intent(intent.id).status == "processing"


def test_a_card_payment_says_it_is_a_card(gateway, customer):
    intent = gateway.create_payment_intent(10_00, "USD", customer, 41, ["INV-1"], "card-1",
                                           payment_method="pm_card_visa")
    assert (intent.payment_method_type, intent.is_ach, intent.bank_account) == ("card", False,
                                                                                None)


# Numbers typed in, verified by micro-deposits ----------------------------------------------


def typed_in(gateway: StripeGateway, customer: str, account: str = SUCCEEDS):
    return gateway.create_bank_payment_method(customer, ROUTING, account, "Acme Corp")


def test_microdeposits_verify_typed_in_numbers(gateway, customer, receiver):
    method = typed_in(gateway, customer)
    assert method.id.startswith("pm_") and method.status == "new" and method.last4 == "6789"
    assert gateway.list_bank_accounts(customer) == []

    setup = gateway.start_microdeposits(customer, method.id, ACCEPTANCE, "verify-pm-1")
    assert (setup.status, setup.microdeposit_type) == ("requires_action", "amounts")
    assert setup.arrival_date > datetime.now(UTC)
    assert setup.hosted_verification_url.startswith("https://")
    received(gateway, receiver, ("setup_intent.requires_action", setup.setup_intent_id))

    with pytest.raises(MicrodepositsRejected) as wrong:
        gateway.verify_microdeposits(setup.setup_intent_id, amounts=[10, 11])
    assert wrong.value.code == "payment_method_microdeposit_verification_amounts_mismatch"
    verified = gateway.verify_microdeposits(setup.setup_intent_id, amounts=[32, 45])

    assert verified.status == "succeeded" and verified.payment_method_id == method.id
    assert verified.mandate_id.startswith("mandate_")
    received(gateway, receiver, ("setup_intent.succeeded", setup.setup_intent_id))
    [saved] = gateway.list_bank_accounts(customer)
    assert saved.id == method.id and saved.verified
    # Autopay: the SetupIntent's mandate covers later debits, off session.
    autopay = debit(gateway, customer, method.id, acceptance=None, off_session=True)
    assert autopay.status == "processing" and autopay.mandate_id == verified.mandate_id


def test_three_wrong_amounts_exceed_the_attempts(gateway, customer, receiver):
    setup = gateway.start_microdeposits(customer, typed_in(gateway, customer).id, ACCEPTANCE,
                                        "verify-pm-1")
    codes = []
    for _ in range(3):
        with pytest.raises(MicrodepositsRejected) as wrong:
            gateway.verify_microdeposits(setup.setup_intent_id, amounts=[45, 33])
        codes.append(wrong.value.code.removeprefix("payment_method_microdeposit_verification_"))
    with pytest.raises(MicrodepositsRejected) as late:
        gateway.verify_microdeposits(setup.setup_intent_id, amounts=[32, 45])

    assert codes == ["amounts_mismatch", "amounts_mismatch", "attempts_exceeded"]
    assert late.value.code.endswith("attempts_exceeded")
    failed = received(gateway, receiver, ("setup_intent.setup_failed", setup.setup_intent_id))
    assert failed["setup_intent.setup_failed"].object["status"] == "requires_payment_method"
    assert gateway.list_bank_accounts(customer) == []


def test_a_descriptor_code_verifies_when_one_is_sent(gateway, customer, localstripe):
    localstripe.use_microdeposit_type("descriptor_code")
    setup = gateway.start_microdeposits(customer, typed_in(gateway, customer).id, ACCEPTANCE,
                                        "verify-pm-1")
    assert setup.microdeposit_type == "descriptor_code"

    with pytest.raises(MicrodepositsRejected) as wrong:
        gateway.verify_microdeposits(setup.setup_intent_id, descriptor_code="SM00XX")
    assert wrong.value.code.endswith("descriptor_code_mismatch")
    assert gateway.verify_microdeposits(setup.setup_intent_id,
                                        descriptor_code="SM11AA").status == "succeeded"


@pytest.mark.parametrize("routing", ["110000001", "11000000", "ABCDEFGHI"])
def test_a_bad_routing_number_is_refused(gateway, customer, routing):
    with pytest.raises(GatewayError) as refused:
        gateway.create_bank_payment_method(customer, routing, SUCCEEDS, "Acme Corp")
    assert (refused.value.code, refused.value.http_status) == ("routing_number_invalid", 400)


def test_an_unverified_payment_method_gets_microdeposits_on_the_debit(gateway, stripe_config,
                                                                     customer):
    intent = debit(gateway, customer, typed_in(gateway, customer).id)
    assert intent.status == "requires_action" and intent.requires_action

    status, body = http(stripe_config, f"/v1/payment_intents/{intent.id}/verify_microdeposits",
                        {"amounts[]": "32"}, key=stripe_config.stripe_secret_key)
    assert (status, body["error"]["code"]) == (
        400, "payment_method_microdeposit_verification_amounts_invalid")
    status, body = http(stripe_config, f"/v1/payment_intents/{intent.id}/verify_microdeposits",
                        {"amounts[0]": "32", "amounts[1]": "45"},
                        key=stripe_config.stripe_secret_key)
    assert (status, body["status"]) == (200, "processing")


def test_bank_accounts_are_removed_only_by_their_customer(gateway, stripe_config, customer):
    other = gateway.ensure_customer(18, name="Globex").id
    source = linked(gateway, stripe_config, customer)
    method = typed_in(gateway, customer)
    setup = gateway.start_microdeposits(customer, method.id, ACCEPTANCE, "verify-pm-1")
    gateway.verify_microdeposits(setup.setup_intent_id, amounts=[32, 45])

    for bank in (source, method):
        with pytest.raises(NotFound):
            gateway.detach_bank_account(other, bank.id)
    gateway.detach_bank_account(customer, source.id)
    gateway.detach_bank_account(customer, method.id)

    assert gateway.list_bank_accounts(customer) == []
