"""Bank accounts through Plaid: the only module that imports ``plaid``.

The rest of the portal sees :class:`PlaidGateway`, the dataclasses below and
:class:`PlaidError` (with Plaid's ``error_code``, such as ``INVALID_PUBLIC_TOKEN`` or
``ITEM_LOGIN_REQUIRED``) and :class:`NotConfigured`; no plaid-python object leaves
this module.

How a bank account gets from Plaid Link to a Stripe ACH debit
(https://plaid.com/docs/auth/partnerships/stripe/):

1. :meth:`PlaidGateway.create_link_token` for the signed-in user; the page opens
   Plaid Link with it (script at :func:`link_js_url_for`).
2. Link's ``onSuccess`` hands the page a public token and the chosen ``account_id``;
   :meth:`PlaidGateway.exchange_public_token` turns the token (single use, valid 30
   minutes) into an access token, which the portal keeps encrypted
   (``PORTAL_BANK_TOKEN_KEY``): it reaches the customer's bank account.
3. :meth:`PlaidGateway.get_account` says what to show (name, mask, type), and
   :meth:`PlaidGateway.stripe_bank_account_token` has Plaid mint a Stripe bank
   account token (``btok_...``) for that account, for the Stripe side to attach.
4. :meth:`PlaidGateway.remove_item` revokes the access token when the customer
   removes the bank account.

The same code talks to Plaid (``PORTAL_PLAID_API_BASE`` empty: the host of
``PORTAL_PLAID_ENV``) and to the local stand-in used offline and in tests
(:mod:`portal.gateways.localplaid`): plaid-python's ``PlaidApi`` against
``configuration.host``, nothing else. The institution's name comes from the Item in
the ``/accounts/get`` answer (Plaid's ``item.institution_name``), so showing an
account costs one call; when Plaid leaves it null the name stays ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import plaid
import urllib3
from plaid.api import plaid_api
from plaid.model.accounts_get_request import AccountsGetRequest
from plaid.model.accounts_get_request_options import AccountsGetRequestOptions
from plaid.model.country_code import CountryCode
from plaid.model.item_public_token_exchange_request import ItemPublicTokenExchangeRequest
from plaid.model.item_remove_request import ItemRemoveRequest
from plaid.model.link_token_create_request import LinkTokenCreateRequest
from plaid.model.link_token_create_request_user import LinkTokenCreateRequestUser
from plaid.model.processor_stripe_bank_account_token_create_request import (
    ProcessorStripeBankAccountTokenCreateRequest,
)
from plaid.model.products import Products
from plaid.model.sandbox_public_token_create_request import SandboxPublicTokenCreateRequest

from portal.config import Config

LINK_JS_URL = "https://cdn.plaid.com/link/v2/stable/link-initialize.js"
LINK_JS_PATH = "/link/v2/stable/link-initialize.js"
HOSTS = {"sandbox": plaid.Environment.Sandbox, "production": plaid.Environment.Production}
PRODUCTS = ["auth"]  # account and routing numbers, for ACH through Stripe
SANDBOX_INSTITUTION_ID = "ins_109508"  # First Platypus Bank, in Plaid's sandbox and the stand-in
REQUEST_TIMEOUT_SECONDS = 30


class PlaidError(Exception):
    """Plaid refused a request or could not be reached; ``code`` is Plaid's ``error_code``."""

    def __init__(self, message: str, *, code: str | None = None, error_type: str | None = None,
                 http_status: int | None = None, display_message: str | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.error_type = error_type
        self.http_status = http_status
        # Plaid's text meant for the end user (English), when it has one.
        self.display_message = display_message
        # Quote it to Plaid's support.
        self.request_id = request_id


class NotConfigured(PlaidError):
    """No Plaid keys are configured, or the environment is unknown."""


@dataclass(frozen=True, slots=True)
class LinkToken:
    """What Plaid Link is opened with; good until ``expiration`` (4 hours at Plaid)."""

    link_token: str
    expiration: datetime


@dataclass(frozen=True, slots=True)
class Item:
    """A customer's login at one bank, as Plaid holds it; keep ``access_token`` secret."""

    access_token: str
    item_id: str


@dataclass(frozen=True, slots=True)
class BankAccount:
    """What may be shown of a bank account: never its number, only its ``mask``."""

    account_id: str
    name: str
    official_name: str | None
    mask: str | None  # the last 2-4 characters of the account number, as the bank gives them
    type: str  # depository, credit, loan, ...
    subtype: str | None  # checking, savings, ...
    institution_name: str | None


class PlaidGateway:
    """Plaid, as the portal uses it; build one with :meth:`from_config`."""

    def __init__(self, client: plaid_api.PlaidApi, *, link_js_url: str) -> None:
        self._client = client
        self.link_js_url = link_js_url

    @classmethod
    def from_config(cls, config: Config) -> PlaidGateway:
        """Build the gateway for ``config``: Plaid's host, or the local one if a base is set."""
        if not config.plaid_client_id or not config.plaid_secret:
            raise NotConfigured("PORTAL_PLAID_CLIENT_ID and PORTAL_PLAID_SECRET are not set")
        host = config.plaid_api_base.rstrip("/") or HOSTS.get(config.plaid_env)
        if not host:
            raise NotConfigured(f"PORTAL_PLAID_ENV must be one of {', '.join(HOSTS)}, "
                                f"not {config.plaid_env!r}")
        configuration = plaid.Configuration(host=host, api_key={
            "clientId": config.plaid_client_id, "secret": config.plaid_secret})
        client = plaid_api.PlaidApi(plaid.ApiClient(configuration))
        return cls(client, link_js_url=link_js_url_for(config))

    # Link ------------------------------------------------------------------------------

    def create_link_token(self, user_id: str, client_name: str, language: str,
                          country_codes: Sequence[str] = ("US",)) -> LinkToken:
        """Create the token that opens Plaid Link for ``user_id`` (the portal's own user id).

        ``client_name`` is what Link shows the user as the one asking (the vendor);
        ``language`` one of Plaid's Link languages (``en``, ``fr``, ``es``...).
        """
        with _arguments_checked():
            request = LinkTokenCreateRequest(
                client_name=client_name,
                language=language,
                country_codes=[CountryCode(code) for code in country_codes],
                user=LinkTokenCreateRequestUser(client_user_id=str(user_id)),
                products=[Products(product) for product in PRODUCTS],
            )
        with _translated_errors():
            response = self._client.link_token_create(
                request, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        return LinkToken(link_token=str(response.link_token),
                         expiration=response.expiration.astimezone(UTC))

    def exchange_public_token(self, public_token: str) -> Item:
        """Turn Link's public token (single use, 30 minutes) into the Item's access token."""
        request = ItemPublicTokenExchangeRequest(public_token=public_token)
        with _translated_errors():
            response = self._client.item_public_token_exchange(
                request, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        return Item(access_token=str(response.access_token), item_id=str(response.item_id))

    def create_sandbox_public_token(self, institution_id: str = SANDBOX_INSTITUTION_ID) -> str:
        """Link a sandbox Item without Link's browser flow (Plaid's sandbox and the stand-in).

        For demos and tests only: Plaid's production environment refuses it.
        https://plaid.com/docs/api/sandbox/#sandboxpublic_tokencreate
        """
        request = SandboxPublicTokenCreateRequest(
            institution_id=institution_id,
            initial_products=[Products(product) for product in PRODUCTS])
        with _translated_errors():
            response = self._client.sandbox_public_token_create(
                request, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        return str(response.public_token)

    # Accounts --------------------------------------------------------------------------

    def list_accounts(self, access_token: str) -> list[BankAccount]:
        """Return the Item's accounts (those the user shared in Link)."""
        return self._accounts(access_token, None)

    def get_account(self, access_token: str, account_id: str) -> BankAccount:
        """Return one account of the Item (Plaid answers ``INVALID_ACCOUNT_ID`` if unknown)."""
        accounts = self._accounts(access_token, [account_id])
        found = [account for account in accounts if account.account_id == account_id]
        if not found:
            raise PlaidError(f"account {account_id} is not in this Item",
                             code="INVALID_ACCOUNT_ID")
        return found[0]

    def _accounts(self, access_token: str, account_ids: list[str] | None) -> list[BankAccount]:
        request = AccountsGetRequest(access_token=access_token)
        if account_ids:
            request.options = AccountsGetRequestOptions(account_ids=account_ids)
        with _translated_errors():
            response = self._client.accounts_get(
                request, _request_timeout=REQUEST_TIMEOUT_SECONDS).to_dict()
        institution = (response.get("item") or {}).get("institution_name")
        return [_bank_account(account, institution) for account in response.get("accounts", [])]

    # Stripe ----------------------------------------------------------------------------

    def stripe_bank_account_token(self, access_token: str, account_id: str) -> str:
        """Have Plaid create a Stripe bank account token (``btok_...``, single use) for it.

        Plaid makes it with the vendor's Stripe account, linked to Plaid in Plaid's
        dashboard; the account and routing numbers never pass through the portal.
        """
        request = ProcessorStripeBankAccountTokenCreateRequest(
            access_token=access_token, account_id=account_id)
        with _translated_errors():
            response = self._client.processor_stripe_bank_account_token_create(
                request, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        return str(response.stripe_bank_account_token)

    # Items -----------------------------------------------------------------------------

    def remove_item(self, access_token: str) -> None:
        """Revoke the access token (and the Stripe tokens made from it) at Plaid."""
        with _translated_errors():
            self._client.item_remove(ItemRemoveRequest(access_token=access_token),
                                     _request_timeout=REQUEST_TIMEOUT_SECONDS)


def link_js_url_for(config: Config) -> str:
    """Return Plaid Link's script: as configured, else the local server's or Plaid's CDN."""
    if config.plaid_link_js_url:
        return config.plaid_link_js_url
    base = config.plaid_api_base.rstrip("/")
    return f"{base}{LINK_JS_PATH}" if base else LINK_JS_URL


# Objects in ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A nullable string field; plaid-python's enums (type, subtype) as their value."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _bank_account(data: dict[str, Any], institution_name: Any) -> BankAccount:
    return BankAccount(
        account_id=str(data["account_id"]),
        name=str(data["name"]),
        official_name=_text(data.get("official_name")),
        mask=_text(data.get("mask")),
        type=_text(data.get("type")) or "",
        subtype=_text(data.get("subtype")),
        institution_name=_text(institution_name),
    )


# Errors --------------------------------------------------------------------------------


@contextmanager
def _arguments_checked() -> Iterator[None]:
    """plaid-python checks a request as it is built: its complaint, as a plain ValueError."""
    try:
        yield
    except plaid.OpenApiException as error:
        raise ValueError(str(error)) from None


def _error_body(error: plaid.ApiException) -> dict[str, Any]:
    try:
        body = json.loads(error.body or b"{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn plaid-python's (and the network's) errors into :class:`PlaidError`."""
    try:
        yield
    except plaid.ApiException as error:
        body = _error_body(error)
        message = str(body.get("error_message") or error.reason or "Plaid refused the request")
        raise PlaidError(message, code=body.get("error_code"), error_type=body.get("error_type"),
                         http_status=error.status or None,
                         display_message=body.get("display_message"),
                         request_id=body.get("request_id")) from error
    except plaid.OpenApiException as error:  # an answer that is not what Plaid documents
        raise PlaidError(f"unexpected answer from Plaid: {error}") from error
    except urllib3.exceptions.HTTPError as error:
        raise PlaidError(f"Plaid could not be reached: {error}") from error
