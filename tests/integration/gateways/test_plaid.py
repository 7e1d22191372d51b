"""The Plaid adapter against the local Plaid: link, exchange, accounts, Stripe tokens, errors.

Everything goes through :class:`PlaidGateway`, so each answer of the local server
is read by plaid-python's models, which refuse any answer missing a field they
require: a passing test is also proof that the answer has Plaid's shape. What Link
does in the browser is tested in tests/e2e/test_plaid_link_stand_in.py; the few
checks at the end speak HTTP to the stand-in directly, for what plaid-python
never sends (keys in the body, a browser's CORS preflight).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portal.config import Config
from portal.gateways import localplaid as local
from portal.gateways.plaid import (
    LINK_JS_URL,
    BankAccount,
    NotConfigured,
    PlaidError,
    PlaidGateway,
    link_js_url_for,
)
from portal.gateways.stripe import StripeGateway

CHECKING = "Plaid Checking"


@pytest.fixture
def plaid(plaid_config: Config) -> PlaidGateway:
    return PlaidGateway.from_config(plaid_config)


def linked(plaid: PlaidGateway) -> tuple[str, dict[str, BankAccount]]:
    """A sandbox Item: its access token and its accounts by name."""
    item = plaid.exchange_public_token(plaid.create_sandbox_public_token())
    return item.access_token, {a.name: a for a in plaid.list_accounts(item.access_token)}


def refused(code: str, call, *args) -> PlaidError:
    with pytest.raises(PlaidError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value
    assert caught.value.request_id, "every Plaid answer carries a request_id"
    return caught.value


# The way a bank account is linked --------------------------------------------------------


def test_a_link_token_lives_four_hours(plaid):
    before = datetime.now(UTC)

    token = plaid.create_link_token("user-17", "Northwind Billing", "en")

    assert token.link_token.startswith("link-sandbox-")
    assert token.expiration.tzinfo is not None
    assert (before + timedelta(hours=4) - timedelta(seconds=5) <= token.expiration
            <= before + timedelta(hours=4, seconds=5))
    other = plaid.create_link_token("user-17", "Northwind Billing", "fr", country_codes=["US"])
    assert other.link_token != token.link_token


def test_a_sandbox_item_is_exchanged_and_its_accounts_read(plaid):
    public_token = plaid.create_sandbox_public_token()
    item = plaid.exchange_public_token(public_token)
    accounts = {a.name: a for a in plaid.list_accounts(item.access_token)}
    checking = plaid.get_account(item.access_token, accounts[CHECKING].account_id)

    assert public_token.startswith("public-sandbox-")
    assert item.access_token.startswith("access-sandbox-") and len(item.item_id) == 37
    assert checking == BankAccount(
        account_id=accounts[CHECKING].account_id, name=CHECKING,
        official_name="Plaid Gold Standard 0% Interest Checking", mask="6789",
        type="depository", subtype="checking", institution_name="First Platypus Bank")
    assert {name: (a.mask, a.subtype) for name, a in accounts.items()} == {
        CHECKING: ("6789", "checking"),
        "Plaid Saving": ("2227", "savings"),
        "Plaid Closed Checking": ("1113", "checking"),
        "Plaid Unknown Checking": ("1116", "checking"),
        "Plaid Business Checking": ("3335", "checking"),
    }
    # Nullable fields arrive as None, not as missing.
    assert accounts["Plaid Closed Checking"].official_name is None


def test_every_item_has_its_own_ids(plaid):
    first, first_accounts = linked(plaid)
    second, second_accounts = linked(plaid)

    assert first != second
    assert first_accounts[CHECKING].account_id != second_accounts[CHECKING].account_id
    # An account id of one Item is not an account of another.
    refused("INVALID_ACCOUNT_ID", plaid.get_account, second, first_accounts[CHECKING].account_id)


# Tokens: single use, expiring, revocable ---------------------------------------------


def test_a_public_token_is_single_use(plaid):
    public_token = plaid.create_sandbox_public_token()
    plaid.exchange_public_token(public_token)

    refused("INVALID_PUBLIC_TOKEN", plaid.exchange_public_token, public_token)


def test_a_public_token_expires_after_30_minutes(plaid, localplaid):
    fresh = plaid.create_sandbox_public_token()
    stale = plaid.create_sandbox_public_token()
    localplaid.advance_clock(29 * 60)
    plaid.exchange_public_token(fresh)
    localplaid.advance_clock(61)

    error = refused("INVALID_PUBLIC_TOKEN", plaid.exchange_public_token, stale)
    assert "expired" in error.message and error.http_status == 400


def test_an_unknown_public_token_is_refused(plaid):
    refused("INVALID_PUBLIC_TOKEN", plaid.exchange_public_token, "public-sandbox-nonsense")


def test_an_unknown_access_token_is_refused_everywhere(plaid):
    _, accounts = linked(plaid)
    account_id = accounts[CHECKING].account_id
    unknown = "access-sandbox-00000000-0000-0000-0000-000000000000"

    refused("INVALID_ACCESS_TOKEN", plaid.list_accounts, unknown)
    refused("INVALID_ACCESS_TOKEN", plaid.get_account, unknown, account_id)
    refused("INVALID_ACCESS_TOKEN", plaid.stripe_bank_account_token, unknown, account_id)
    refused("INVALID_ACCESS_TOKEN", plaid.remove_item, unknown)


def test_removing_an_item_makes_its_access_token_unusable(plaid, stripe_config, localplaid):
    access_token, accounts = linked(plaid)
    other, _ = linked(plaid)
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)

    plaid.remove_item(access_token)

    error = refused("INVALID_ACCESS_TOKEN", plaid.list_accounts, access_token)
    assert error.error_type == "INVALID_INPUT" and error.http_status == 400
    refused("INVALID_ACCESS_TOKEN", plaid.stripe_bank_account_token, access_token,
            accounts[CHECKING].account_id)
    refused("INVALID_ACCESS_TOKEN", plaid.remove_item, access_token)
    assert plaid.list_accounts(other), "other Items are untouched"


def test_an_unknown_account_is_refused(plaid):
    access_token, _ = linked(plaid)

    refused("INVALID_ACCOUNT_ID", plaid.get_account, access_token, "x" * 37)
    refused("INVALID_ACCOUNT_ID", plaid.stripe_bank_account_token, access_token, "x" * 37)


# Keys and configuration --------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["plaid_client_id", "plaid_secret"])
def test_wrong_keys_are_refused(plaid_config, wrong):
    plaid = PlaidGateway.from_config(replace(plaid_config, **{wrong: "0123456789abcdef"}))

    error = refused("INVALID_API_KEYS", plaid.create_link_token, "user-17", "Northwind", "en")
    assert error.http_status == 400  # as Plaid documents it, not 401
    refused("INVALID_API_KEYS", plaid.create_sandbox_public_token)


def test_without_keys_the_gateway_is_not_configured():
    with pytest.raises(NotConfigured):
        PlaidGateway.from_config(Config())
    with pytest.raises(NotConfigured, match="PORTAL_PLAID_ENV"):
        PlaidGateway.from_config(Config(plaid_client_id="id", plaid_secret="secret",
                                        plaid_env="development"))
    assert PlaidGateway.from_config(Config(plaid_client_id="id", plaid_secret="secret",
                                           plaid_env="production"))


def test_link_js_is_plaids_unless_a_local_server_is_named(localplaid):
    assert link_js_url_for(Config()) == LINK_JS_URL
    assert LINK_JS_URL == "https://cdn.plaid.com/link/v2/stable/link-initialize.js"
    assert link_js_url_for(Config(plaid_api_base=localplaid.url + "/")) == localplaid.link_js_url
    assert link_js_url_for(Config(plaid_link_js_url="https://example.test/link.js",
                                  plaid_api_base=localplaid.url)) == "https://example.test/link.js"


def test_an_unreachable_plaid_is_a_plaid_error(plaid_config):
    server = local.start(client_id=plaid_config.plaid_client_id,
                              secret=plaid_config.plaid_secret)
    gone = PlaidGateway.from_config(replace(plaid_config, plaid_api_base=server.url))
    server.stop()

    with pytest.raises(PlaidError, match="could not be reached") as caught:
        gone.create_link_token("user-17", "Northwind", "en")
    assert caught.value.code is None


# Stripe bank account tokens ----------------------------------------------------------


def test_plaid_mints_a_stripe_token_with_the_accounts_numbers(plaid, localplaid, stripe_config):
    """Through the local Stripe: the token attaches as a verified bank account of the same
    numbers (what real Plaid does with the vendor's linked Stripe account)."""
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    stripe = StripeGateway.from_config(stripe_config)
    customer = stripe.ensure_customer(17, name="Acme Corp", email="ap@acme.example")
    access_token, accounts = linked(plaid)

    checking = plaid.stripe_bank_account_token(access_token, accounts[CHECKING].account_id)
    saving = plaid.stripe_bank_account_token(access_token, accounts["Plaid Saving"].account_id)

    assert checking.startswith("btok_") and saving.startswith("btok_") and checking != saving
    attached = [stripe.attach_bank_token(customer.id, token, idempotency_key=f"attach-{token}")
                for token in (checking, saving)]
    assert [(a.routing_number, a.last4, a.verified) for a in attached] == [
        ("110000000", "6789", True), ("110000000", "2227", True)]
    assert {a.last4 for a in stripe.list_bank_accounts(customer.id)} == {"6789", "2227"}


def test_a_stripe_that_cannot_be_reached_is_plaids_api_error(plaid, localplaid):
    localplaid.connect_stripe("http://127.0.0.1:9", "sk_test_unreachable")
    access_token, accounts = linked(plaid)

    error = refused("INTERNAL_SERVER_ERROR", plaid.stripe_bank_account_token, access_token,
                    accounts[CHECKING].account_id)
    assert error.http_status == 500


def test_without_stripe_the_stand_in_says_so(plaid_config):
    server = local.start(client_id=plaid_config.plaid_client_id,
                              secret=plaid_config.plaid_secret)
    try:
        plaid = PlaidGateway.from_config(replace(plaid_config, plaid_api_base=server.url))
        access_token, accounts = linked(plaid)
        refused("STRIPE_NOT_CONNECTED", plaid.stripe_bank_account_token, access_token,
                accounts[CHECKING].account_id)
    finally:
        server.stop()


# The stand-in over plain HTTP ----------------------------------------------------------


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_keys_may_come_in_the_body_and_errors_have_plaids_shape(localplaid, plaid_config):
    keys = {"client_id": localplaid.client_id, "secret": localplaid.secret}
    url = localplaid.url + "/sandbox/public_token/create"

    status, _, body = post(url, {**keys, "institution_id": "ins_109508",
                                 "initial_products": ["auth"]})
    assert status == 200 and body["public_token"].startswith("public-sandbox-")
    assert len(body["request_id"]) == 15

    status, _, body = post(url, {"institution_id": "ins_109508", "initial_products": ["auth"]})
    assert status == 400 and body["error_code"] == "MISSING_FIELDS"
    status, _, body = post(url, {**keys, "institution_id": "ins_1", "initial_products": ["auth"]})
    assert status == 400 and body["error_code"] == "INVALID_INSTITUTION"
    assert {"error_type", "error_code", "error_message", "display_message",
            "request_id"} <= set(body)
    status, _, body = post(localplaid.url + "/no/such/endpoint", keys)
    assert status == 404 and body["error_type"] == "INVALID_REQUEST" and body["request_id"]


def test_link_answers_browsers_of_other_origins(localplaid, plaid):
    token = plaid.create_link_token("user-17", "Northwind", "en").link_token
    origin = {"Origin": "http://127.0.0.1:5000"}

    status, headers, _ = post(localplaid.url + "/_link/public_token", {}, method="OPTIONS",
                              headers={**origin, "Access-Control-Request-Method": "POST"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, body = post(localplaid.url + "/_link/session", {"link_token": token}, origin)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert [a["name"] for a in body["accounts"]][:2] == [CHECKING, "Plaid Saving"]
    status, headers, body = post(localplaid.url + "/_link/session", {"link_token": "link-x"},
                                 origin)
    assert status == 400 and body["error_code"] == "INVALID_LINK_TOKEN"
    assert headers["Access-Control-Allow-Origin"] == "*", "errors must be readable too"


def test_a_link_token_expires_after_four_hours(localplaid, plaid):
    token = plaid.create_link_token("user-17", "Northwind", "en").link_token
    localplaid.advance_clock(4 * 3600 + 1)

    status, _, body = post(localplaid.url + "/_link/public_token",
                           {"link_token": token, "account": 0})
    assert status == 400 and body["error_code"] == "INVALID_LINK_TOKEN"


def test_links_public_token_holds_the_chosen_account(localplaid, plaid):
    token = plaid.create_link_token("user-17", "Northwind", "en").link_token

    status, _, body = post(localplaid.url + "/_link/public_token",
                           {"link_token": token, "account": 1, "link_session_id": "s-1"})
    item = plaid.exchange_public_token(body["public_token"])
    accounts = plaid.list_accounts(item.access_token)

    metadata = body["metadata"]
    assert status == 200 and metadata["public_token"] == body["public_token"]
    assert metadata["institution"] == {"name": "First Platypus Bank",
                                       "institution_id": "ins_109508"}
    assert metadata["account"] == metadata["accounts"][0] == {
        "id": metadata["account_id"], "name": "Plaid Saving", "mask": "2227",
        "type": "depository", "subtype": "savings", "verification_status": None,
        "class_type": None}
    assert metadata["link_session_id"] == "s-1"
    assert [(a.account_id, a.name) for a in accounts] == [(metadata["account_id"],
                                                           "Plaid Saving")]
