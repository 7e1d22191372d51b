"""The local Plaid for every test that needs one (a pytest plugin, loaded by tests/conftest.py).

``localplaid`` is session-scoped: one server per process (a worker), shared by every
test module, with its state emptied by ``plaid_config`` before each test that asks
for it. ``plaid_config`` points a :class:`Config` at it with the server's keys, the
way ``portal demo`` does, so the adapter runs its production path against it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.config import Config
from portal.gateways import localplaid as local


@pytest.fixture(scope="session")
def localplaid() -> Iterator[local.LocalPlaid]:
    """A local Plaid on 127.0.0.1 and a free port, for the whole session."""
    server = local.start()
    yield server
    server.stop()


@pytest.fixture
def plaid_config(localplaid: local.LocalPlaid) -> Config:
    """Settings naming the local Plaid and its keys; its tokens and Items are forgotten first."""
    localplaid.reset()
    return Config(plaid_client_id=localplaid.client_id, plaid_secret=localplaid.secret,
                  plaid_api_base=localplaid.url, plaid_link_js_url=localplaid.link_js_url)
