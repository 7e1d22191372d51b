"""``portal demo`` and Stripe: a local stand-in when no keys are set, only when serving."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import pytest

from portal.demo import cli, local_stripe
from portal.gateways.stripe import StripeGateway


def test_serving_the_demo_without_keys_starts_a_local_stripe(app, runner, monkeypatch):
    loaded = runner.invoke(args=["demo", "--no-serve"])
    assert loaded.exit_code == 0, loaded.output
    assert "stripe:" not in loaded.output  # --no-serve starts nothing

    seen = {}

    def serve(host, port, application, **options):
        # What the served portal sees: settings naming a live local Stripe.
        config = application.config["PORTAL"]
        seen["config"] = config
        seen["customer"] = StripeGateway.from_config(config).ensure_customer(1, name="Demo")

    # werkzeug's server, not the portal's code: the demo returns instead of serving forever.
    monkeypatch.setattr(cli, "run_simple", serve)
    result = runner.invoke(args=["demo", "--port", "5123"])

    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.startswith("stripe:")]
    assert len(lines) == 1
    config = seen["config"]
    assert config.stripe_api_base.startswith("http://127.0.0.1:")
    assert config.stripe_api_base in lines[0]
    assert config.stripe_secret_key.startswith("sk_test_")
    assert config.stripe_publishable_key.startswith("pk_test_")
    assert config.stripe_webhook_secret.startswith("whsec_")
    assert config.base_url == "http://127.0.0.1:5123"  # links in e-mails and PDFs
    assert seen["customer"].id.startswith("cus_")
    # Stopped when serving ends.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(config.stripe_api_base + "/js.stripe.com/v3/", timeout=2)


def test_configured_stripe_keys_are_used_as_they_are(app):
    configured = dataclasses.replace(app.config["PORTAL"], stripe_secret_key="sk_test_mine",
                                     stripe_publishable_key="pk_test_mine")
    app.config["PORTAL"] = configured

    assert local_stripe.start_for_demo(app, "http://127.0.0.1:5000") is None
    assert app.config["PORTAL"] is configured
