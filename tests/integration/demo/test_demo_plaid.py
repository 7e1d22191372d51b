"""``portal demo`` and Plaid: a local Plaid when no keys are set, connected to the demo's Stripe,
so a bank account linked in the demo becomes a bank account at the demo's (local) Stripe."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import pytest

from portal.demo import cli, data, local_plaid
from portal.gateways.plaid import PlaidGateway
from portal.gateways.stripe import StripeGateway

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_serving_the_demo_without_plaid_keys_starts_a_local_plaid(app, runner, monkeypatch):
    monkeypatch.setattr(data, "load", lambda *args, **kwargs: False)  # data not needed here
    seen = {}

    def serve(host, port, application, **options):
        # What the served portal sees: settings naming a live local Plaid, tied to its Stripe.
        config = application.config["PORTAL"]
        seen["config"] = config
        plaid = PlaidGateway.from_config(config)
        item = plaid.exchange_public_token(plaid.create_sandbox_public_token())
        [checking, *_] = plaid.list_accounts(item.access_token)
        token = plaid.stripe_bank_account_token(item.access_token, checking.account_id)
        stripe = StripeGateway.from_config(config)
        customer = stripe.ensure_customer(1, name="Demo")
        seen["bank"] = stripe.attach_bank_token(customer.id, token, idempotency_key="demo-1")
        with urllib.request.urlopen(plaid.link_js_url, timeout=5) as response:
            seen["link_js"] = response.read()

    monkeypatch.setattr(cli, "run_simple", serve)
    result = runner.invoke(args=["demo", "--port", "5124"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.startswith("plaid:")]
    assert len(lines) == 1
    config = seen["config"]
    assert config.plaid_api_base.startswith("http://127.0.0.1:")
    assert config.plaid_api_base in lines[0]
    assert config.plaid_client_id and config.plaid_secret
    assert config.plaid_link_js_url == config.plaid_api_base + "/link/v2/stable/link-initialize.js"
    assert seen["bank"].verified and seen["bank"].last4 == "6789"
    assert b"window.Plaid = {create: create" in seen["link_js"]
    # Stopped when serving ends.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(config.plaid_link_js_url, timeout=2)


def test_configured_plaid_keys_are_used_as_they_are(app):
    configured = dataclasses.replace(app.config["PORTAL"], plaid_client_id="mine",
                                     plaid_secret="secret")
    app.config["PORTAL"] = configured

    assert local_plaid.start_for_demo(app) is None
    assert app.config["PORTAL"] is configured
