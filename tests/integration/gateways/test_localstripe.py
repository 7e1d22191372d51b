"""The local Stripe itself: bound to 127.0.0.1, state in memory, and its extensions
(Stripe's idempotency layer, publishable keys where Stripe.js uses them, the Stripe.js
additions), checked over plain HTTP as stripe-python and Stripe.js would speak to it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

PICKLE = Path("/tmp/localstripe.pickle")  # where localstripe's own command keeps its state


def call(url: str, data: dict[str, str] | None = None, *, key: str | None = None,
         idempotency_key: str | None = None, method: str | None = None):
    """One HTTP request; returns (status, headers, parsed JSON body or text)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if idempotency_key:
        request.add_header("Idempotency-Key", idempotency_key)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    text = raw.decode()
    is_json = headers.get_content_type() == "application/json"
    return status, headers, json.loads(text) if is_json else text


@pytest.fixture
def api(localstripe, stripe_config):
    def request(path: str, data: dict[str, str] | None = None, **kwargs):
        kwargs.setdefault("key", stripe_config.stripe_secret_key)
        return call(localstripe.url + path, data, **kwargs)

    return request


def test_it_listens_on_loopback_with_state_in_memory(localstripe, api):
    assert localstripe.url.startswith("http://127.0.0.1:")
    before = PICKLE.stat().st_mtime_ns if PICKLE.exists() else None

    status, _, customer = api("/v1/customers", {"name": "Acme Corp"})

    assert status == 200 and customer["id"].startswith("cus_")
    assert (PICKLE.stat().st_mtime_ns if PICKLE.exists() else None) == before


def test_reset_forgets_everything(localstripe, api):
    _, _, customer = api("/v1/customers", {"name": "Acme Corp"}, idempotency_key="k1")
    localstripe.reset()

    assert api(f"/v1/customers/{customer['id']}")[0] == 404
    # The idempotency keys went too: the same key now creates a new customer.
    _, _, again = api("/v1/customers", {"name": "Acme Corp"}, idempotency_key="k1")
    assert again["id"] != customer["id"]


def test_a_replayed_request_returns_the_saved_response(api):
    first = api("/v1/customers", {"name": "Acme Corp"}, idempotency_key="k1")
    second = api("/v1/customers", {"name": "Acme Corp"}, idempotency_key="k1")

    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert second[1].get("Idempotent-Replayed") == "true"
    assert first[1].get("Idempotent-Replayed") is None
    assert len(api("/v1/customers")[2]["data"]) == 1


def test_a_reused_key_with_other_parameters_is_an_idempotency_error(api):
    api("/v1/customers", {"name": "Acme Corp"}, idempotency_key="k1")
    status, _, body = api("/v1/customers", {"name": "Globex"}, idempotency_key="k1")

    assert status == 400 and body["error"]["type"] == "idempotency_error"
    # Same key on another endpoint: other parameters too.
    assert api("/v1/setup_intents", {}, idempotency_key="k1")[0] == 400


def test_a_request_refused_by_validation_is_not_saved(api):
    status, _, _ = api("/v1/customers", {"name": "Acme", "colour": "red"},
                       idempotency_key="k1")
    assert status == 400
    # Nothing ran, so the key is free for the corrected request (as with Stripe).
    status, headers, _ = api("/v1/customers", {"name": "Acme"}, idempotency_key="k1")
    assert status == 200 and headers.get("Idempotent-Replayed") is None


def test_keys_are_scoped_to_the_api_key(api, stripe_config):
    _, _, one = api("/v1/customers", {"name": "Acme"}, idempotency_key="k1")
    _, _, two = api("/v1/customers", {"name": "Acme"}, idempotency_key="k1",
                    key=stripe_config.stripe_secret_key + "other")
    assert one["id"] != two["id"]


def test_publishable_key_creates_payment_methods_only(api, stripe_config):
    card = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
            "card[exp_year]": "2034", "card[cvc]": "123",
            "key": stripe_config.stripe_publishable_key}
    status, _, method = api("/v1/payment_methods", card, key=None)
    assert status == 200 and method["card"]["last4"] == "4242"

    refused = {"name": "Acme", "key": stripe_config.stripe_publishable_key}
    assert api("/v1/customers", refused, key=None)[0] == 401


def test_the_stripe_js_stand_in_has_create_payment_method(localstripe):
    status, headers, script = call(localstripe.js_url)

    assert status == 200 and headers.get_content_type() == "application/javascript"
    assert "confirmCardPayment" in script  # localstripe's own stand-in ...
    assert "stripe.createPaymentMethod = async function" in script  # ... and the addition
    assert "Access-Control-Allow-Origin" not in headers  # no Origin, no CORS header
