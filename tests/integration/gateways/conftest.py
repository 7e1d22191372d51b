"""Fixtures for the Stripe gateway tests; the local Stripe itself (``localstripe``,
``stripe_config``, ``stripe_js``) comes from :mod:`tests.stripe_fixtures`."""

from __future__ import annotations

import pytest

from portal.config import Config
from portal.gateways.stripe import StripeGateway


@pytest.fixture
def gateway(stripe_config: Config) -> StripeGateway:
    return StripeGateway.from_config(stripe_config)
