"""``portal demo`` without Plaid keys: a local Plaid, so the demo links bank accounts offline.

With no ``PORTAL_PLAID_CLIENT_ID``, :func:`start_for_demo` starts the local Plaid
(:mod:`portal.gateways.localplaid`: in this process, on 127.0.0.1 and a free port,
state in memory, with a Link stand-in the bank accounts page loads) and points the
app's settings at it: its URL as the API base, its keys, its Link script. It mints
Stripe bank account tokens with the demo's Stripe (the local one that
:mod:`portal.demo.local_stripe` started, or the configured test keys), as real Plaid
does with the vendor's Stripe account. With Plaid keys set, the demo uses them
untouched.

Call it after :func:`portal.demo.local_stripe.start_for_demo`, which fills in the
Stripe settings it connects to; like that one, it replaces ``app.config["PORTAL"]``.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from portal.config import Config
from portal.gateways import localplaid

STRIPE_API = "https://api.stripe.com"  # where Plaid's token requests go with real test keys


def start_for_demo(app: Flask) -> localplaid.LocalPlaid | None:
    """Start a local Plaid for ``app`` unless Plaid keys are configured; return it."""
    config: Config = app.config["PORTAL"]
    if config.plaid_client_id:
        return None
    server = localplaid.start()
    if config.stripe_secret_key:
        server.connect_stripe(config.stripe_api_base or STRIPE_API, config.stripe_secret_key)
    app.config["PORTAL"] = replace(
        config, plaid_client_id=server.client_id, plaid_secret=server.secret,
        plaid_api_base=server.url, plaid_link_js_url=server.link_js_url)
    return server


def describe(server: localplaid.LocalPlaid) -> str:
    """The one line ``portal demo`` prints about it."""
    return (f"plaid: local stand-in at {server.url}; link First Platypus Bank's "
            f"\"Plaid Checking\" at /bank-accounts")
