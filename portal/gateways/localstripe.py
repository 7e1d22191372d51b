"""A local Stripe for development and tests: localstripe, started from Python, extended.

Only the dev/test set-up (test fixtures, ``portal demo``) imports this module;
production talks to Stripe through :mod:`portal.gateways.stripe` and never loads it.

Why not localstripe's own command: it listens on every interface and pickles its
state to ``/tmp/localstripe.pickle`` on every write. Here it runs in a background
thread of the current process, bound to 127.0.0.1 on a free (or given) port, with
its state in memory. localstripe keeps that state in module globals, so all
servers of one process share it: start one per process (a session fixture, the
demo), and :meth:`LocalStripe.reset` between tests (``DELETE /_config/data``;
webhook registrations survive it, as in localstripe).

What localstripe 1.15 lacks that the portal uses, and how it is supplied here —
always as Stripe documents the behaviour, so the production code path is the
one that runs (see :mod:`portal.gateways.stripe` for what the adapter avoids):

- **Idempotency-Key** is ignored by localstripe. :func:`_idempotency` replays the
  saved status and body for the same key and parameters (header
  ``Idempotent-Replayed: true``), answers 400 ``idempotency_error`` for the same
  key with other parameters, 409 while the first request is in flight, and keeps
  keys 24 hours. Like Stripe, it saves only responses of requests that ran:
  successes and card errors (402), not validation errors.
  https://docs.stripe.com/api/idempotent_requests
- **Declines** come back from localstripe as 402 ``invalid_request_error`` with no
  ``decline_code`` and no ``payment_intent``, and Stripe's declining test cards
  (``4000000000000002``, ``...9995``, ``...0069``...) are declined only when saved,
  not when charged. Here they are ``card_error`` with a ``decline_code`` and the
  PaymentIntent, every charge on a declining test card is declined, and
  ``last_payment_error`` carries the decline code too.
  https://docs.stripe.com/api/errors
- **amount_received** is missing from PaymentIntents; added.
- **setup_future_usage** is rejected; accepted here, and on success the card is
  attached to the PaymentIntent's customer. A SetupIntent with a customer attaches
  its card on success too (localstripe only records it on the SetupIntent).
- **Test payment methods** such as ``pm_card_visa`` become a new object on every
  read in localstripe; a PaymentIntent created with one now keeps the real id.
- **ACH Direct Debit** (``us_bank_account``: bank account tokens and sources,
  PaymentMethods, micro-deposits, mandates, processing debits, returns as disputes)
  and its test controls (``settle_ach``, ``return_ach``): see
  :mod:`portal.gateways.localstripe_ach`.
- **Stripe.js**: the stand-in's ``createPaymentMethod`` does nothing and
  ``POST /v1/payment_methods`` refuses publishable keys. Both work here, as with
  real Stripe.js, and ``Stripe`` may also be called with ``new``. The card
  Element's inputs get accessible labels and the 3-D Secure prompt is a dialog
  with full-size buttons, as Stripe's own are.

Still missing (not needed yet, or to be extended when a feature needs it):
``automatic_payment_methods``, ``return_url``, ``description``, ``receipt_email``,
``statement_descriptor`` on PaymentIntents; confirming with a ``payment_method``
on ``/confirm``; the Payment Element and ``confirmPayment`` in the stand-in (use
the card Element); ``off_session`` payments that need authentication succeed at
``requires_action`` instead of failing with ``authentication_required``; disputes
(card chargebacks), search, Checkout. Webhooks are sent one
second after the event, once, with ``api_version`` 2017-08-15 and no retries.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from localstripe.errors import UserError

with warnings.catch_warnings():
    # localstripe registers plain functions as handlers, which aiohttp deprecates.
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources, server, webhooks

from portal.gateways import local_server, localstripe_ach

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
START_TIMEOUT_SECONDS = local_server.START_TIMEOUT_SECONDS
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Test cards whose charges are declined, and how Stripe declines them
# (https://docs.stripe.com/testing#declined-payments); any other: generic_decline.
DECLINES = {
    "4000000000000002": ("generic_decline", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("lost_card", "Your card was declined."),
    "4000000000009979": ("stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": ("processing_error", "An error occurred while processing your "
                                             "card. Try again in a little bit."),
    "4000008260003178": ("insufficient_funds", "Your card has insufficient funds."),
}

STRIPE_JS_EXTENSION = """
// portal: what the localstripe stand-in lacks of Stripe.js (see portal/gateways/localstripe.py)
(function () {
  const makeStripe = Stripe;
  Stripe = function (apiKey, options) {
    const stripe = makeStripe(apiKey, options);
    stripe.createPaymentMethod = async function (data) {
      const element = data.card && data.card.value ? data.card : null;
      // Stripe's Elements take the number as people write it, with spaces.
      const card = Object.assign({}, element ? element.value.card : data.card);
      if (card.number) { card.number = String(card.number).replace(/[\\s-]/g, ''); }
      const billing = Object.assign({}, data.billing_details || {});
      if (element && element.value.postal_code) {
        billing.address = Object.assign({postal_code: element.value.postal_code},
                                        billing.address || {});
      }
      try {
        const response = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_methods`, {
          method: 'POST',
          body: JSON.stringify({key: apiKey, type: data.type || 'card',
                                card: card,
                                billing_details: billing}),
        });
        const body = await response.json().catch(() => ({}));
        if (response.status !== 200 || body.error) {
          return {error: body.error || {message: 'The card could not be read.'}};
        }
        return {paymentMethod: body};
      } catch (err) {
        return {error: {message: String(err)}};
      }
    };
    return stripe;
  };
  // The stand-in's 3-D Secure prompt, as an accessible dialog (Stripe's own is one).
  openModal = function (text, confirmText, cancelText) {
    return new Promise(resolve => {
      const box = document.createElement('div');
      const p = document.createElement('p');
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      box.setAttribute('aria-label', '3D Secure');
      p.innerText = text;
      box.appendChild(p);
      Object.assign(box.style, {position: 'fixed', width: '320px', top: '30%', left: '50%',
                                margin: '0 0 0 -160px', padding: '16px 20px', zIndex: '1000',
                                border: '3px solid #767676', background: '#fff',
                                textAlign: 'center', color: '#111'});
      [[confirmText, true], [cancelText, false]].forEach(([label, answer]) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.innerText = label;
        Object.assign(button.style, {display: 'block', width: '100%', minHeight: '44px',
                                     marginTop: '8px', font: 'inherit'});
        button.addEventListener('click', () => { box.remove(); resolve(answer); });
        box.appendChild(button);
      });
      document.body.appendChild(box);
      box.querySelector('button').focus();
    });
  };
  // Real Stripe Elements label their fields; the stand-in's plain inputs get labels too.
  const labels = {number: 'Card number', exp_month: 'Expiry month (MM)',
                  exp_year: 'Expiry year (YY)', cvc: 'Security code', postal_code: 'Postal code'};
  const mount = Element.prototype.mount;
  Element.prototype.mount = function (domElement) {
    mount.call(this, domElement);
    Object.keys(this._inputs || {}).forEach(name => {
      const input = this._inputs[name];
      input.setAttribute('aria-label', labels[name] || name);
      input.setAttribute('name', 'localstripe-' + name);
      input.setAttribute('autocomplete', 'off');
    });
  };
})();
"""


@dataclass
class _Saved:
    fingerprint: str
    created: float
    status: int | None = None  # None while the first request runs
    body: bytes = b""


@dataclass
class _Idempotency:
    saved: dict[tuple[str, str], _Saved] = field(default_factory=dict)

    def clear(self) -> None:
        self.saved.clear()


IDEMPOTENCY = web.AppKey("portal_idempotency", _Idempotency)


@dataclass
class LocalStripe(local_server.Served, localstripe_ach.AchControls):
    """A running localstripe; :func:`start` makes one (ACH test controls included).

    Its ``url`` is the API base, for ``PORTAL_STRIPE_API_BASE``.
    """

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    def reset(self) -> None:
        """Forget every object, idempotency key and unsent event (webhook registrations stay)."""
        self._request("DELETE", "/_config/data")

    def register_webhook(self, name: str, url: str, secret: str,
                         events: list[str] | None = None) -> None:
        """Send events (all, or ``events``) to ``url``, signed with ``secret``."""
        fields: list[tuple[str, str]] = [("url", url), ("secret", secret)]
        fields += [("events[]", event) for event in events or []]
        self._request("POST", f"/_config/webhooks/{urllib.parse.quote(name)}",
                      urllib.parse.urlencode(fields).encode())

    def forget_webhooks(self) -> None:
        """Drop every webhook registration (localstripe has no route for it)."""
        # A new dict, not clear(): a delivery in flight is iterating over the old one.
        webhooks._webhooks = {}

    def _request(self, method: str, path: str, body: bytes | None = None) -> None:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        with urllib.request.urlopen(request, timeout=START_TIMEOUT_SECONDS) as response:
            response.read()


def start(host: str = "127.0.0.1", port: int = 0) -> LocalStripe:
    """Start localstripe on ``host``:``port`` (0: a free port) in a daemon thread."""
    _extend_localstripe()
    served = local_server.serve(_application, host=host, port=port, name="localstripe")
    return LocalStripe(served.host, served.port, served._loop, served._thread)


def test_keys() -> tuple[str, str, str]:
    """Return a fresh (secret key, publishable key, webhook secret): localstripe takes any."""
    token = secrets.token_hex(12)
    return f"sk_test_local{token}", f"pk_test_local{token}", f"whsec_local{secrets.token_hex(16)}"


# The application: localstripe's routes, our middlewares and overrides ---------------------


def _application() -> web.Application:
    app = web.Application(middlewares=[server.error_middleware, _authentication, _idempotency])
    app[IDEMPOTENCY] = _Idempotency()
    app.on_response_prepare.append(server.add_cors_headers)
    confirm_setup = "/v1/setup_intents/{id}/confirm"
    overrides: list[tuple[str, str, Handler]] = [
        ("DELETE", "/_config/data", _flush),
        ("GET", "/js.stripe.com/v3/", _stripe_js),
        ("POST", confirm_setup, server.api_extra(_confirm_setup_intent, confirm_setup)),
        *localstripe_ach.routes(),
    ]
    # Routes resolve in the order added: the overrides first, then localstripe's own.
    for method, path, handler in overrides:
        app.router.add_route(method, path, handler)
    replaced = {(method, path) for method, path, _ in overrides}
    for resource in server.app.router.resources():
        for route in resource:
            if (route.method, resource.canonical) not in replaced:
                app.router.add_route(route.method, resource.canonical,
                                     _coroutine(route.handler))
    return app


async def _flush(request: web.Request) -> web.Response:
    resources.store.clear()
    request.app[IDEMPOTENCY].clear()
    # Events are sent a second after they happen: those of the old state are dropped.
    for task in asyncio.all_tasks():
        if getattr(task.get_coro(), "__name__", "") == webhooks._send_webhook.__name__:
            task.cancel()
    return web.Response()


def _coroutine(handler: Callable[[web.Request], Any]) -> Handler:
    """localstripe's plain-function handlers, as the coroutines aiohttp expects."""
    if asyncio.iscoroutinefunction(handler):
        return handler

    async def handle(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return handle


async def _stripe_js(request: web.Request) -> web.Response:
    original = server.localstripe_js(request)
    return web.Response(text=original.text + STRIPE_JS_EXTENSION,
                        content_type="application/javascript")


def _confirm_setup_intent(**data: Any) -> resources.SetupIntent:
    intent = resources.SetupIntent._api_confirm(**data)
    if intent.status == "succeeded" and intent.customer and intent.payment_method:
        _attach(intent.payment_method, intent.customer)
    return intent


def _attach(payment_method_id: str, customer: str) -> None:
    resources.PaymentMethod._api_retrieve(payment_method_id).customer = customer


@web.middleware
async def _authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """localstripe's check, plus publishable keys where Stripe.js uses them."""
    if request.method == "POST" and request.path == "/v1/payment_methods":
        data = await server.get_post_data(request, remove_auth=False) or {}
        if str(data.get("key", "")).startswith("pk_"):
            return await handler(request)
    return await server.auth_middleware(request, handler)


@web.middleware
async def _idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stripe's idempotency layer: same key and parameters, same response."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    saved = request.app[IDEMPOTENCY].saved
    scope = (request.headers.get("Authorization", ""), key)
    fingerprint = await _fingerprint(request)
    entry = saved.get(scope)
    if entry is not None and time.time() - entry.created > IDEMPOTENCY_TTL_SECONDS:
        del saved[scope]  # pruned: a new request
        entry = None
    if entry is not None:
        return _replay(entry, key, fingerprint)
    saved[scope] = entry = _Saved(fingerprint=fingerprint, created=time.time())
    try:
        response = await handler(request)
    except UserError as error:
        response = error.to_response()
    except BaseException:
        del saved[scope]
        raise
    if isinstance(response, web.Response) and (response.status < 400 or response.status == 402):
        entry.status, entry.body = response.status, bytes(response.body or b"")
    else:
        del saved[scope]  # refused before running: safe to retry
    return response


def _replay(entry: _Saved, key: str, fingerprint: str) -> web.Response:
    if entry.fingerprint != fingerprint:
        return _idempotency_error(400, (
            f"Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            f"execute a different request."))
    if entry.status is None:
        return _idempotency_error(409, "There is currently another in-progress request "
                                       "using this Idempotent Key.")
    return web.Response(status=entry.status, body=entry.body, content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})


def _idempotency_error(status: int, message: str) -> web.Response:
    body = {"error": {"type": "idempotency_error", "message": message}}
    return web.json_response(body, status=status)


async def _fingerprint(request: web.Request) -> str:
    data = await server.get_post_data(request, remove_auth=False)
    params = dict(data) if data else {}
    return json.dumps([request.path, request.query_string, params], sort_keys=True, default=str)


# Patches of localstripe's resources: applied once, only in a process that starts it -------

_extended = False


def _extend_localstripe() -> None:
    global _extended
    if _extended:
        return
    _extended = True
    # State in memory: never pickle to /tmp.
    resources.store.dump_to_disk = lambda: None
    _extend_payment_intents()
    _extend_declines()
    localstripe_ach.install()  # after the extensions above: it wraps what they patched


def _extend_payment_intents() -> None:
    intent = resources.PaymentIntent
    original_init = intent.__init__
    original_on_success = intent._on_success

    def __init__(self, *args: Any, setup_future_usage: str | None = None,
                 payment_method: str | None = None, **kwargs: Any) -> None:
        if setup_future_usage not in (None, "", "on_session", "off_session"):
            raise UserError(400, "Invalid setup_future_usage", {"param": "setup_future_usage"})
        if payment_method:
            payment_method = _resolved_test_method(payment_method)
        original_init(self, *args, payment_method=payment_method, **kwargs)
        self.setup_future_usage = setup_future_usage or None

    def _on_success(self) -> None:
        if self.setup_future_usage and self.customer and self.payment_method:
            _attach(self.payment_method, self.customer)
        original_on_success(self)

    def amount_received(self) -> int:
        charge = self.latest_charge
        if charge is not None and charge.status == "succeeded" and charge.captured:
            return charge.amount - charge.amount_refunded
        return 0

    intent.__init__ = __init__
    intent._on_success = _on_success
    intent.amount_received = property(amount_received)


def _resolved_test_method(payment_method: str) -> str:
    """``pm_card_visa`` and the like: store one object and use its id, as Stripe does."""
    article = resources.PaymentMethod._try_get_canonical_test_article(payment_method)
    return article.id if article is not None else payment_method


def _extend_declines() -> None:
    charge_class = resources.Charge
    intent_class = resources.PaymentIntent
    original_error = intent_class.last_payment_error

    def _raise_failure(self) -> None:
        intent = (resources.PaymentIntent._api_retrieve(self.payment_intent)
                  if self.payment_intent else None)
        code, message = _decline(self)
        error = UserError(402, message, {
            "code": self.failure_code, "decline_code": code, "charge": self.id,
            "payment_intent": intent._export() if intent else None,
            "payment_method": {"id": self.payment_method},
        })
        error.body["error"]["type"] = "card_error"
        raise error

    def last_payment_error(self) -> dict[str, Any] | None:
        error = original_error.fget(self)
        charge = self.latest_charge
        if error and charge is not None and charge.status == "failed":
            code, message = _decline(charge)
            error.update(type="card_error", decline_code=code, message=message)
        return error

    # localstripe declines these cards only when they are attached (saved); Stripe
    # declines every charge on them too (https://docs.stripe.com/testing#declined-payments).
    method_class = resources.PaymentMethod
    original_charging = method_class._charging_is_declined

    def _charging_is_declined(self) -> bool:
        return original_charging(self) or (
            self.type == "card" and getattr(self, "_card_number", "") in DECLINES)

    charge_class._raise_failure = _raise_failure
    intent_class.last_payment_error = property(last_payment_error)
    method_class._charging_is_declined = _charging_is_declined


def _decline(charge: resources.Charge) -> tuple[str, str]:
    """The decline code and message Stripe gives for the charge's test card."""
    method = resources.PaymentMethod._api_retrieve(charge.payment_method)
    number = getattr(method, "_card_number", "")
    return DECLINES.get(number, ("generic_decline", charge.failure_message or
                                 "Your card was declined."))
