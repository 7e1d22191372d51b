"""The local Stripe for every test that needs one (a pytest plugin, loaded by tests/conftest.py).

``localstripe`` is session-scoped (localstripe keeps its state in module globals,
so one server per process, shared by every test module of a worker).
``stripe_config`` points a :class:`Config` at it with fresh test keys;
``stripe_js`` does over HTTP what Stripe.js does in the payer's browser, with the
publishable key, so card numbers stay out of the portal's code as in production.
:func:`webhook_receiver` catches the signed webhooks localstripe sends, and
:func:`sign` signs a payload as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.config import Config
from portal.gateways import localstripe as local


@pytest.fixture(scope="session")
def localstripe() -> Iterator[local.LocalStripe]:
    """A localstripe on 127.0.0.1 and a free port, for the whole session."""
    server = local.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_config(localstripe: local.LocalStripe) -> Config:
    """Settings naming the local server, with fresh keys; its state is emptied first."""
    localstripe.reset()
    secret, publishable, webhook_secret = local.test_keys()
    return Config(stripe_secret_key=secret, stripe_publishable_key=publishable,
                  stripe_webhook_secret=webhook_secret, stripe_api_base=localstripe.url)


@dataclass
class StripeJs:
    """The calls Stripe.js makes from the browser, with the publishable key only."""

    base_url: str
    publishable_key: str

    def create_card(self, number: str) -> str:
        """``stripe.createPaymentMethod({type: 'card', card})``: the new PaymentMethod's id."""
        body = self._post("/v1/payment_methods", {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        })
        return body["id"]

    def confirm_card_setup(self, client_secret: str, payment_method: str) -> dict[str, Any]:
        """``stripe.confirmCardSetup(client_secret, {payment_method})``: the SetupIntent."""
        setup_intent = client_secret.split("_secret_")[0]
        return self._post(f"/v1/setup_intents/{setup_intent}/confirm",
                          {"client_secret": client_secret, "payment_method": payment_method})

    def authenticate(self, client_secret: str, success: bool = True) -> dict[str, Any]:
        """The 3-D Secure step of ``stripe.confirmCardPayment(client_secret)``."""
        intent = client_secret.split("_secret_")[0]
        query = urllib.parse.urlencode({"success": "true" if success else "false"})
        return self._post(f"/v1/payment_intents/{intent}/_authenticate?{query}",
                          {"client_secret": client_secret})

    def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps({"key": self.publishable_key, **data}).encode()
        request = urllib.request.Request(self.base_url + path, data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{path}: {error.code} {error.read()!r}") from None


@pytest.fixture
def stripe_js(stripe_config: Config) -> StripeJs:
    return StripeJs(stripe_config.stripe_api_base, stripe_config.stripe_publishable_key)


# Webhooks, as localstripe delivers them --------------------------------------------------


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """A Stripe-Signature header (https://docs.stripe.com/webhooks#verify-manually)."""
    digest = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Receiver(ThreadingHTTPServer):
    """A local endpoint that keeps each delivery's body and Stripe-Signature."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[tuple[bytes, str]] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/stripe"

    def next(self, event_type: str, object_id: str, timeout: float = 10) -> tuple[bytes, str]:
        """Wait for the delivery of ``event_type`` about ``object_id``."""
        while True:
            payload, signature = self.deliveries.get(timeout=timeout)
            event = json.loads(payload)
            if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                return payload, signature


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.deliveries.put((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def webhook_receiver(server: local.LocalStripe, config: Config, name: str,
                     events: list[str]) -> Iterator[Receiver]:
    """Register a :class:`Receiver` with localstripe for ``events``; stop it afterwards."""
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    server.register_webhook(name, receiver.url, config.stripe_webhook_secret, events=events)
    try:
        yield receiver
    finally:
        server.forget_webhooks()
        receiver.shutdown()
        receiver.server_close()
