"""A local Plaid for development and tests: the few endpoints the portal uses, and Link.

Only the dev/test set-up (test fixtures, ``portal demo``) imports this module;
production talks to Plaid through :mod:`portal.gateways.plaid` and never loads it.

Why a server and not a fake: Plaid's sandbox needs the internet and keys, and the
portal must run offline. So this answers plaid-python exactly as Plaid does, over
HTTP, and the adapter runs its production path (``PlaidApi`` against another host).
plaid-python refuses an answer that lacks any field its models mark required, so
every answer carries them all, ``null`` where Plaid has nothing (``official_name``,
``mask``, balances' ``limit``...), and ``request_id``. Fields the models type as a
plain string without ``null`` (``verification_status``, ``persistent_account_id``)
are left out rather than sent as ``null``: plaid-python 46 rejects ``null`` there.

Like the local Stripe (:mod:`portal.gateways.localstripe`) it runs in a daemon
thread of the current process, bound to 127.0.0.1 on a free (or given) port, with
its state in memory (one per server): :func:`start` it once per process and
:meth:`LocalPlaid.reset` between tests.

The API (https://plaid.com/docs/api/), with the client id and secret of the server
(:attr:`LocalPlaid.client_id`, :attr:`LocalPlaid.secret`) in the body or in the
``PLAID-CLIENT-ID`` / ``PLAID-SECRET`` headers:

- ``/link/token/create`` — link tokens live 4 hours;
- ``/sandbox/public_token/create`` — an Item with every account of the institution,
  without Link, as Plaid's sandbox does;
- ``/item/public_token/exchange`` — public tokens are single use and expire after
  30 minutes; access tokens and ids are random;
- ``/accounts/get`` (``options.account_ids`` filters), ``/item/remove``;
- ``/processor/stripe/bank_account_token/create`` — real Plaid mints the token with
  the vendor's Stripe account; this one likewise calls the Stripe API it is
  connected to (``POST /v1/tokens`` with the account's numbers, the secret key as
  Bearer), so the local Stripe decides what the bank account does. Unconnected, it
  answers ``STRIPE_NOT_CONNECTED`` (the stand-in's own code).

Errors are Plaid's shape and statuses (https://plaid.com/docs/errors/): 400 with
``INVALID_API_KEYS``, ``INVALID_PUBLIC_TOKEN``, ``INVALID_ACCESS_TOKEN``,
``INVALID_ACCOUNT_ID``, ``INVALID_LINK_TOKEN``, ``INVALID_INSTITUTION``,
``MISSING_FIELDS``, ``INVALID_FIELD`` or ``INVALID_BODY``; 500 ``API_ERROR`` when
Stripe refuses. (Plaid documents wrong keys as 400 ``INVALID_API_KEYS``, not 401.)

Link: ``GET /link/v2/stable/link-initialize.js`` (:attr:`LocalPlaid.link_js_url`)
defines ``Plaid.create({token, onSuccess, onExit, onEvent, onLoad})`` returning
``{open, exit, destroy}``, like Plaid's (https://plaid.com/docs/link/web/). Its
dialog lists the institution's accounts; Continue asks ``POST /_link/public_token``
(the stand-in's own endpoint, open to any origin) for a public token of an Item
holding the chosen account, and calls ``onSuccess(public_token, metadata)`` with
Plaid's metadata. An unknown or expired link token ends in ``onExit(error, ...)``.
Styles are set through the DOM, not a ``<style>`` element, so the portal's
Content-Security-Policy (``style-src 'self'``) lets them apply.

The one institution, First Platypus Bank (``ins_109508``, as in Plaid's sandbox),
and its accounts. Their numbers are Stripe's ACH test numbers, so the local (or
test-mode) Stripe decides the outcome
(https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers);
masks are the numbers' last four digits, so what Plaid shows matches Stripe's
``last4`` (Plaid's own sandbox says 0000 and 1111):

=========================  ========  =====  =========  ============  =====================
account                    subtype   mask   routing    account       at Stripe
=========================  ========  =====  =========  ============  =====================
Plaid Checking             checking  6789   110000000  000123456789  succeeds
Plaid Saving               savings   2227   110000000  000222222227  fails: insufficient
                                                                     funds
Plaid Closed Checking      checking  1113   110000000  000111111113  fails: account closed
Plaid Unknown Checking     checking  1116   110000000  000111111116  fails: no account
Plaid Business Checking    checking  3335   110000000  000333333335  fails: debit not
                                                                     authorized
=========================  ========  =====  =========  ============  =====================

What it does not do: other endpoints and products (no ``/auth/get``, balances are
fixed, no transactions or identity), webhooks, Item errors such as
``ITEM_LOGIN_REQUIRED`` (no ``/sandbox/item/reset_login``), update mode, OAuth
institutions, institution search in Link, Account Select of several accounts,
micro-deposits, rate limits, and link tokens are not single use. Link's text is in
English whatever ``language`` the link token names.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from portal.gateways import local_server

STRIPE_TIMEOUT_SECONDS = 10
LINK_TOKEN_SECONDS = 4 * 3600
PUBLIC_TOKEN_SECONDS = 30 * 60
LINK_JS_PATH = "/link/v2/stable/link-initialize.js"
LINK_JS = Path(__file__).with_name("localplaid_link.js")  # the Link stand-in's script
ACCOUNT_HOLDER_NAME = "Alberta Bobbeth Charleson"  # the owner in Plaid's sandbox data
# https://plaid.com/docs/api/link/#link-token-create-request-language
LANGUAGES = {"da", "de", "en", "es", "et", "fr", "hi", "it", "lt", "lv", "nl", "no", "pl",
             "pt", "ro", "sv", "vi"}
COUNTRIES = {"US", "CA", "GB", "IE", "FR", "ES", "NL", "DE", "IT", "PL", "BE", "AT", "DK",
             "FI", "NO", "SE", "EE", "LT", "LV", "PT"}
_ALPHANUMERIC = string.ascii_letters + string.digits
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxAccount:
    """One account of the institution, with the numbers Plaid would hand Stripe."""

    name: str
    official_name: str | None
    subtype: str
    routing_number: str
    account_number: str
    available: int  # whole dollars: Plaid's JSON numbers, never floats here
    current: int

    @property
    def mask(self) -> str:
        return self.account_number[-4:]


INSTITUTION_ID = "ins_109508"
INSTITUTION_NAME = "First Platypus Bank"
ACCOUNTS = (
    SandboxAccount("Plaid Checking", "Plaid Gold Standard 0% Interest Checking", "checking",
                   "110000000", "000123456789", 100, 110),
    SandboxAccount("Plaid Saving", "Plaid Silver Standard 0.1% Interest Saving", "savings",
                   "110000000", "000222222227", 200, 210),
    SandboxAccount("Plaid Closed Checking", None, "checking", "110000000", "000111111113", 0, 0),
    SandboxAccount("Plaid Unknown Checking", None, "checking", "110000000", "000111111116",
                   50, 50),
    SandboxAccount("Plaid Business Checking", "Plaid Business Checking", "checking",
                   "110000000", "000333333335", 1000, 1000),
)


# State ---------------------------------------------------------------------------------


@dataclass
class _Item:
    item_id: str
    client_id: str
    products: list[str]
    accounts: dict[str, SandboxAccount]  # by account_id, random per Item as at Plaid


@dataclass
class _LinkToken:
    client_id: str
    products: list[str]
    expires: float


@dataclass
class _PublicToken:
    item: _Item
    expires: float


@dataclass
class _State:
    """Everything the server knows; guarded by ``lock`` (the loop and tests both touch it)."""

    client_id: str
    secret: str
    stripe_api_base: str | None = None
    stripe_secret_key: str | None = None
    clock_offset: float = 0.0
    link_tokens: dict[str, _LinkToken] = field(default_factory=dict)
    public_tokens: dict[str, _PublicToken] = field(default_factory=dict)
    items: dict[str, _Item] = field(default_factory=dict)  # by access token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() + self.clock_offset


STATE = web.AppKey("localplaid_state", _State)
REQUEST_ID = web.RequestKey("localplaid_request_id", str)


@dataclass
class LocalPlaid(local_server.Served):
    """A running local Plaid; :func:`start` makes one. Its ``url`` is the API base, for
    ``PORTAL_PLAID_API_BASE``."""

    _state: _State = field(default_factory=lambda: _State("", ""))

    @property
    def link_js_url(self) -> str:
        """Link's script, for ``PORTAL_PLAID_LINK_JS_URL``."""
        return f"{self.url}{LINK_JS_PATH}"

    @property
    def client_id(self) -> str:
        return self._state.client_id

    @property
    def secret(self) -> str:
        return self._state.secret

    def connect_stripe(self, api_base: str, secret_key: str) -> None:
        """Mint Stripe bank account tokens with this Stripe API and secret key."""
        with self._state.lock:
            self._state.stripe_api_base = api_base.rstrip("/")
            self._state.stripe_secret_key = secret_key

    def advance_clock(self, seconds: float) -> None:
        """Move the server's time forward, to expire tokens without waiting."""
        with self._state.lock:
            self._state.clock_offset += seconds

    def reset(self) -> None:
        """Forget every token and Item and undo :meth:`advance_clock` (keys and Stripe stay)."""
        with self._state.lock:
            self._state.link_tokens.clear()
            self._state.public_tokens.clear()
            self._state.items.clear()
            self._state.clock_offset = 0.0


def start(host: str = "127.0.0.1", port: int = 0, *, client_id: str | None = None,
          secret: str | None = None, stripe_api_base: str | None = None,
          stripe_secret_key: str | None = None) -> LocalPlaid:
    """Start a local Plaid on ``host``:``port`` (0: a free port) in a daemon thread.

    Its keys are ``client_id`` and ``secret`` (random when not given); Stripe bank
    account tokens come from ``stripe_api_base`` (see :meth:`LocalPlaid.connect_stripe`).
    """
    state = _State(client_id=client_id or secrets.token_hex(12),
                   secret=secret or secrets.token_hex(15))
    served = local_server.serve(lambda: _application(state), host=host, port=port,
                                name="localplaid")
    server = LocalPlaid(served.host, served.port, served._loop, served._thread, state)
    if stripe_api_base and stripe_secret_key:
        server.connect_stripe(stripe_api_base, stripe_secret_key)
    return server


# The application -----------------------------------------------------------------------


class _Refused(Exception):
    """A Plaid error answer: https://plaid.com/docs/errors/."""

    def __init__(self, error_type: str, code: str, message: str, status: int = 400,
                 display_message: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.code = code
        self.message = message
        self.status = status
        self.display_message = display_message


def _application(state: _State) -> web.Application:
    app = web.Application(middlewares=[_cors, _plaid_answers])
    app[STATE] = state
    api = [
        ("/link/token/create", _link_token_create),
        ("/sandbox/public_token/create", _sandbox_public_token_create),
        ("/item/public_token/exchange", _public_token_exchange),
        ("/accounts/get", _accounts_get),
        ("/item/remove", _item_remove),
        ("/processor/stripe/bank_account_token/create", _stripe_token_create),
    ]
    for path, handler in api:
        app.router.add_post(path, _authenticated(handler))
    # What the Link stand-in asks from the browser: its own routes, no API keys.
    app.router.add_post("/_link/session", _link_session)
    app.router.add_post("/_link/public_token", _link_public_token)
    app.router.add_get(LINK_JS_PATH, _link_js)
    return app


def _request_id() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(15))


def _random_id() -> str:
    """An Item or account id: 37 letters and digits, as Plaid's look."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(37))


def _error_body(error: _Refused, request_id: str) -> dict[str, Any]:
    return {"error_type": error.error_type, "error_code": error.code,
            "error_code_reason": None, "error_message": error.message,
            "display_message": error.display_message, "request_id": request_id,
            "causes": [], "status": error.status, "suggested_action": None,
            "documentation_url": "https://plaid.com/docs/errors/"}


@web.middleware
async def _plaid_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every JSON answer gets a ``request_id``; refusals and unknown paths, Plaid's shape."""
    request[REQUEST_ID] = request_id = _request_id()
    try:
        return await handler(request)
    except _Refused as error:
        return web.json_response(_error_body(error, request_id), status=error.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        refused = _Refused("INVALID_REQUEST", "NOT_FOUND" if error.status == 404 else
                           "INVALID_HTTP_METHOD", f"{request.method} {request.path}: "
                           f"{error.reason}", status=error.status)
        return web.json_response(_error_body(refused, request_id), status=error.status)
    except Exception:  # a bug here: said in the log, and answered as Plaid's API_ERROR
        logger.exception("local Plaid failed on %s %s", request.method, request.path)
        refused = _Refused("API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred",
                           status=500)
        return web.json_response(_error_body(refused, request_id), status=500)


def _reply(request: web.Request, body: dict[str, Any]) -> web.Response:
    """A JSON answer with its ``request_id``, as every Plaid answer has."""
    return web.json_response({**body, "request_id": request[REQUEST_ID]})


@web.middleware
async def _cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The Link stand-in's routes answer pages of any origin (the portal is another port)."""
    if not request.path.startswith("/_link/"):
        return await handler(request)
    headers = {"Access-Control-Allow-Origin": "*",
               "Access-Control-Allow-Methods": "POST, OPTIONS",
               "Access-Control-Allow-Headers": "Content-Type",
               "Access-Control-Max-Age": "600"}
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=headers)
    response = await handler(request)
    response.headers.update(headers)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refused("INVALID_REQUEST", "INVALID_BODY",
                       "body could not be parsed as a JSON object")
    return body


def _authenticated(handler: Callable[[web.Request, _State, dict[str, Any], str],
                                     Awaitable[web.Response]]) -> Handler:
    """Check the keys (body or headers), then call ``handler(request, state, body, client)``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        client_id = body.pop("client_id", None) or request.headers.get("PLAID-CLIENT-ID")
        secret = body.pop("secret", None) or request.headers.get("PLAID-SECRET")
        missing = [name for name, value in (("client_id", client_id), ("secret", secret))
                   if not value]
        if missing:
            raise _Refused("INVALID_REQUEST", "MISSING_FIELDS", "the following required "
                           f"fields are missing: {', '.join(missing)}")
        state = request.app[STATE]
        if not (secrets.compare_digest(str(client_id), state.client_id)
                and secrets.compare_digest(str(secret), state.secret)):
            raise _Refused("INVALID_INPUT", "INVALID_API_KEYS",
                           "invalid client_id or secret provided")
        return await handler(request, state, body, str(client_id))

    return handle


def _required(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "", [])]
    if missing:
        raise _Refused("INVALID_REQUEST", "MISSING_FIELDS",
                       f"the following required fields are missing: {', '.join(missing)}")


def _invalid(field_name: str, problem: str) -> _Refused:
    return _Refused("INVALID_REQUEST", "INVALID_FIELD", f"{field_name} {problem}")


def _products(value: Any, field_name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise _invalid(field_name, "must be a list of products")
    return list(dict.fromkeys(value))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# API endpoints -------------------------------------------------------------------------


async def _link_token_create(request: web.Request, state: _State, body: dict[str, Any],
                             client_id: str) -> web.Response:
    _required(body, "client_name", "language", "country_codes", "user")
    if not isinstance(body["client_name"], str) or len(body["client_name"]) > 30:
        raise _invalid("client_name", "must be a string of at most 30 characters")
    if body["language"] not in LANGUAGES:
        raise _invalid("language", f"must be one of {', '.join(sorted(LANGUAGES))}")
    codes = body["country_codes"]
    if not isinstance(codes, list) or not codes or any(code not in COUNTRIES for code in codes):
        raise _invalid("country_codes", "must be a list of supported country codes")
    user = body["user"]
    if not isinstance(user, dict) or not user.get("client_user_id"):
        raise _Refused("INVALID_REQUEST", "MISSING_FIELDS", "the following required fields "
                       "are missing: user.client_user_id")
    products = _products(body.get("products") or ["auth"], "products")
    token = f"link-sandbox-{uuid.uuid4()}"
    with state.lock:
        expires = state.now() + LINK_TOKEN_SECONDS
        state.link_tokens[token] = _LinkToken(client_id, products, expires)
    return _reply(request, {"link_token": token, "expiration": _iso(expires)})


async def _sandbox_public_token_create(request: web.Request, state: _State,
                                       body: dict[str, Any], client_id: str) -> web.Response:
    _required(body, "institution_id", "initial_products")
    if body["institution_id"] != INSTITUTION_ID:
        raise _Refused("INVALID_INPUT", "INVALID_INSTITUTION",
                       f"invalid institution_id provided: {body['institution_id']}")
    products = _products(body["initial_products"], "initial_products")
    with state.lock:
        token = _new_public_token(state, client_id, products, ACCOUNTS)
    return _reply(request, {"public_token": token})


def _new_public_token(state: _State, client_id: str, products: list[str],
                      accounts: tuple[SandboxAccount, ...]) -> str:
    """Make an Item holding ``accounts`` and a public token for it (``state.lock`` held)."""
    item = _Item(item_id=_random_id(), client_id=client_id, products=products,
                 accounts={_random_id(): account for account in accounts})
    token = f"public-sandbox-{uuid.uuid4()}"
    state.public_tokens[token] = _PublicToken(item, state.now() + PUBLIC_TOKEN_SECONDS)
    return token


async def _public_token_exchange(request: web.Request, state: _State, body: dict[str, Any],
                                 client_id: str) -> web.Response:
    _required(body, "public_token")
    with state.lock:
        # Single use: taken out before any check, as a token that failed is spent too.
        found = state.public_tokens.pop(str(body["public_token"]), None)
        if found is None or found.item.client_id != client_id:
            raise _Refused("INVALID_INPUT", "INVALID_PUBLIC_TOKEN",
                           "could not find matching public token")
        if found.expires < state.now():
            raise _Refused("INVALID_INPUT", "INVALID_PUBLIC_TOKEN",
                           "provided public token is expired. Public tokens expire 30 "
                           "minutes after creation at which point they can no longer be "
                           "exchanged")
        access_token = f"access-sandbox-{uuid.uuid4()}"
        state.items[access_token] = found.item
    return _reply(request, {"access_token": access_token, "item_id": found.item.item_id})


def _item(state: _State, body: dict[str, Any], client_id: str) -> _Item:
    """The Item of the request's access token (``state.lock`` held)."""
    _required(body, "access_token")
    item = state.items.get(str(body["access_token"]))
    if item is None or item.client_id != client_id:
        raise _Refused("INVALID_INPUT", "INVALID_ACCESS_TOKEN",
                       "could not find matching access token")
    return item


def _account_json(account_id: str, account: SandboxAccount) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "balances": {"available": account.available, "current": account.current,
                     "limit": None, "iso_currency_code": "USD",
                     "unofficial_currency_code": None, "last_updated_datetime": None},
        "mask": account.mask,
        "name": account.name,
        "official_name": account.official_name,
        "type": "depository",
        "subtype": account.subtype,
        "holder_category": "personal",
    }


def _item_json(item: _Item) -> dict[str, Any]:
    others = [p for p in ("auth", "balance", "identity", "transactions") if p not in item.products]
    return {"item_id": item.item_id, "webhook": None, "error": None,
            "available_products": others, "billed_products": item.products,
            "products": item.products, "consented_products": item.products,
            "consent_expiration_time": None, "update_type": "background",
            "institution_id": INSTITUTION_ID, "institution_name": INSTITUTION_NAME,
            "auth_method": "INSTANT_AUTH"}


async def _accounts_get(request: web.Request, state: _State, body: dict[str, Any],
                        client_id: str) -> web.Response:
    with state.lock:
        item = _item(state, body, client_id)
        wanted = (body.get("options") or {}).get("account_ids")
        if wanted is not None and (not isinstance(wanted, list)
                                   or any(i not in item.accounts for i in wanted)):
            raise _Refused("INVALID_INPUT", "INVALID_ACCOUNT_ID",
                           "one or more of the account IDs is invalid")
        accounts = [_account_json(account_id, account)
                    for account_id, account in item.accounts.items()
                    if wanted is None or account_id in wanted]
        return _reply(request, {"accounts": accounts, "item": _item_json(item)})


async def _item_remove(request: web.Request, state: _State, body: dict[str, Any],
                       client_id: str) -> web.Response:
    with state.lock:
        _item(state, body, client_id)
        del state.items[str(body["access_token"])]
    return _reply(request, {})


async def _stripe_token_create(request: web.Request, state: _State, body: dict[str, Any],
                               client_id: str) -> web.Response:
    _required(body, "account_id")
    with state.lock:
        account = _item(state, body, client_id).accounts.get(str(body["account_id"]))
        stripe_base, stripe_key = state.stripe_api_base, state.stripe_secret_key
    if account is None:
        raise _Refused("INVALID_INPUT", "INVALID_ACCOUNT_ID",
                       "one or more of the account IDs is invalid")
    if not stripe_base or not stripe_key:
        raise _Refused("INVALID_INPUT", "STRIPE_NOT_CONNECTED",
                       "this local Plaid is not connected to a Stripe account: call "
                       "LocalPlaid.connect_stripe(api_base, secret_key)")
    return _reply(request, {"stripe_bank_account_token":
                    await _stripe_bank_account_token(stripe_base, stripe_key, account)})


async def _stripe_bank_account_token(api_base: str, secret_key: str,
                                     account: SandboxAccount) -> str:
    """Create the token at Stripe: https://docs.stripe.com/api/tokens/create_bank_account."""
    form = {
        "bank_account[country]": "US",
        "bank_account[currency]": "usd",
        "bank_account[routing_number]": account.routing_number,
        "bank_account[account_number]": account.account_number,
        "bank_account[account_holder_name]": ACCOUNT_HOLDER_NAME,
        "bank_account[account_holder_type]": "company",
    }
    timeout = aiohttp.ClientTimeout(total=STRIPE_TIMEOUT_SECONDS)
    try:
        async with (aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(f"{api_base}/v1/tokens", data=form,
                                 headers={"Authorization": f"Bearer {secret_key}"}) as response):
            answer = await response.json(content_type=None)
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise _Refused("API_ERROR", "INTERNAL_SERVER_ERROR",
                       f"Stripe could not be reached: {error}", status=500) from None
    token = answer.get("id") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(token, str) or not token.startswith("btok_"):
        error = (answer.get("error") or {}) if isinstance(answer, dict) else {}
        raise _Refused("API_ERROR", "INTERNAL_SERVER_ERROR", "Stripe refused the bank "
                       f"account ({status}): {error.get('message') or answer!r}", status=500)
    return token


# The Link stand-in ---------------------------------------------------------------------


def _live_link_token(state: _State, token: Any) -> _LinkToken:
    """The link token, if this server made it and it has not expired (``state.lock`` held)."""
    found = state.link_tokens.get(str(token))
    if found is None or found.expires < state.now():
        raise _Refused("INVALID_INPUT", "INVALID_LINK_TOKEN",
                       "link token is invalid or has expired",
                       display_message="This session has expired. Start again.")
    return found


def _link_account_json(key: int, account: SandboxAccount) -> dict[str, Any]:
    return {"key": key, "name": account.name, "mask": account.mask, "type": "depository",
            "subtype": account.subtype}


async def _link_session(request: web.Request) -> web.Response:
    """What the dialog shows: the institution and its accounts (no ids yet: no Item)."""
    body = await _json_body(request)
    state = request.app[STATE]
    with state.lock:
        _live_link_token(state, body.get("link_token"))
    return _reply(request, {
        "link_session_id": str(uuid.uuid4()),
        "institution": {"name": INSTITUTION_NAME, "institution_id": INSTITUTION_ID},
        "accounts": [_link_account_json(key, account) for key, account in enumerate(ACCOUNTS)],
    })


async def _link_public_token(request: web.Request) -> web.Response:
    """Continue: an Item holding the chosen account, its public token, Link's metadata."""
    body = await _json_body(request)
    state = request.app[STATE]
    key = body.get("account")
    if not isinstance(key, int) or not 0 <= key < len(ACCOUNTS):
        raise _invalid("account", "must be one of the institution's accounts")
    with state.lock:
        link_token = _live_link_token(state, body.get("link_token"))
        public_token = _new_public_token(state, link_token.client_id, link_token.products,
                                         (ACCOUNTS[key],))
        item = state.public_tokens[public_token].item
    (account_id, account), = item.accounts.items()
    # https://plaid.com/docs/link/web/#onsuccess
    chosen = {"id": account_id, "name": account.name, "mask": account.mask,
              "type": "depository", "subtype": account.subtype, "verification_status": None,
              "class_type": None}
    return _reply(request, {"public_token": public_token, "metadata": {
        "institution": {"name": INSTITUTION_NAME, "institution_id": INSTITUTION_ID},
        "accounts": [chosen], "account": chosen, "account_id": account_id,
        "link_session_id": str(body.get("link_session_id") or uuid.uuid4()),
        "public_token": public_token, "transfer_status": None,
    }})


async def _link_js(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}"
    return web.Response(text=LINK_JS.read_text().replace("__LOCALPLAID_BASE__", base),
                        content_type="application/javascript",
                        headers={"Cache-Control": "no-store"})
