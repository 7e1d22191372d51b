"""``portal demo`` without Stripe keys: a local Stripe, so the demo takes card payments offline.

With no ``PORTAL_STRIPE_SECRET_KEY``, :func:`start_for_demo` starts localstripe
(:mod:`portal.gateways.localstripe`: in this process, on 127.0.0.1 and a free
port, state in memory) and points the app's settings at it: its URL as the API
base (so pages load its Stripe.js stand-in), generated test keys (localstripe
takes any ``sk_test_...``), a webhook signing secret, and a webhook registration
for the demo's ``/webhooks/stripe``. With keys set, the demo uses them untouched.

Only ``portal demo`` does this, and only when it serves (``--no-serve`` stays
fast). It replaces ``app.config["PORTAL"]`` before serving, so code that needs the
Stripe settings reads them from there when it needs them, not at start-up.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from portal.config import Config
from portal.gateways import localstripe

WEBHOOK_NAME = "portal-demo"


def start_for_demo(app: Flask, base_url: str) -> localstripe.LocalStripe | None:
    """Start a local Stripe for ``app`` unless Stripe keys are configured; return it."""
    config: Config = app.config["PORTAL"]
    if config.stripe_secret_key:
        return None
    server = localstripe.start()
    secret_key, publishable_key, webhook_secret = localstripe.test_keys()
    webhook_secret = config.stripe_webhook_secret or webhook_secret
    app.config["PORTAL"] = replace(
        config, stripe_api_base=server.url, stripe_secret_key=secret_key,
        stripe_publishable_key=publishable_key, stripe_webhook_secret=webhook_secret)
    server.register_webhook(WEBHOOK_NAME, f"{base_url}/webhooks/stripe", webhook_secret)
    return server


def describe(server: localstripe.LocalStripe) -> str:
    """The one line ``portal demo`` prints about it."""
    return (f"stripe: local stand-in (localstripe) at {server.url}; "
            f"pay with test card 4242 4242 4242 4242")
