"""ACH Direct Debit for the local Stripe: the ``us_bank_account`` localstripe 1.15 lacks.

Dev/test only, like :mod:`portal.gateways.localstripe`, whose ``_extend_localstripe()``
calls :func:`install` and whose application serves :func:`routes`. localstripe drops
``us_bank_account`` from ``payment_method_types`` and refuses bank payment methods;
here they are supplied the way Stripe documents them, so the adapter's production
calls (:class:`portal.gateways.stripe.StripeGateway`) run unchanged offline. Every
route is behind the idempotency layer of :mod:`portal.gateways.localstripe`. The
objects (tokens, bank accounts, mandates, charges, disputes, micro-deposits) are in
:mod:`portal.gateways.localstripe_bank`, SetupIntents in
:mod:`portal.gateways.localstripe_ach_setup`, the test controls in
:mod:`portal.gateways.localstripe_ach_controls`.

Supplied (https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment,
https://docs.stripe.com/payments/ach-direct-debit/set-up-payment,
https://docs.stripe.com/payments/ach-direct-debit/migrating-from-charges):

- ``POST /v1/tokens`` with ``bank_account[...]``: a single-use ``btok_``. Minted with a
  secret key it stands for Plaid's token, whose bank account is verified
  (https://plaid.com/docs/auth/partnerships/stripe/); with a publishable key
  (Stripe.js) its bank account is ``new`` (unverified).
- Customer sources: ``POST /v1/customers/:id/sources source=btok_`` (a ``ba_``; same
  bank account twice: ``bank_account_exists``; a token twice: ``token_already_used``),
  ``GET`` one, ``DELETE``, and the list (``object=bank_account``; localstripe's refuses
  ``limit`` and its filter overwrote the customer's sources).
- PaymentMethods of type ``us_bank_account`` (``billing_details[name]`` required;
  routing numbers must have nine digits and a right ABA check digit, else
  ``routing_number_invalid``), listed with ``type=us_bank_account``; Stripe's test
  PaymentMethods ``pm_usBankAccount_success`` etc. Attach and detach are localstripe's.
- SetupIntents with ``payment_method_types=[us_bank_account]``: confirming with
  ``mandate_data`` sends micro-deposits (``requires_action``, ``next_action``
  ``verify_with_microdeposits``; type ``amounts`` unless the test control chooses
  ``descriptor_code``). ``POST /v1/setup_intents/:id/verify_microdeposits`` with amounts
  32 and 45 or code SM11AA succeeds: the PaymentMethod is verified and attached and a
  multi-use Mandate made. Wrong values: ``..._amounts_mismatch`` /
  ``..._descriptor_code_mismatch``; the 3rd (amounts) or 10th (code) wrong attempt:
  ``..._attempts_exceeded``, and the SetupIntent goes back to
  ``requires_payment_method`` with ``last_setup_error``.
- PaymentIntents keep ``payment_method_types`` and take a ``pm_`` or a ``ba_`` with
  ``mandate_data``, or ``mandate``, or neither when the method has an active mandate
  (so ``off_session`` works). Confirmed, they are ``processing`` with a ``pending``
  latest charge whose ``payment_method_details.us_bank_account`` names the mandate. An
  unverified ``ba_`` is refused (``bank_account_declined``); an unverified ``pm_`` gets
  micro-deposits, verified with ``POST /v1/payment_intents/:id/verify_microdeposits``.
  Cancelling one that is processing: ``payment_intent_unexpected_state``.
- ``GET /v1/mandates/:id``, ``GET /v1/disputes`` and ``/v1/disputes/:id``.

Test controls: Stripe's test mode settles a debit by itself after a while; offline a
test or a demo decides when. Python: :class:`AchControls`, mixed into ``LocalStripe``;
HTTP (any secret key as Bearer, so a process holding the portal's key can use them):

- ``settle_ach(pi, outcome=None, failure_code=None)`` / ``POST
  /_ach/payment_intents/:id/settle``: as the account number's row in Stripe's test
  table says (000123456789 succeeds, 000222222227 ``insufficient_funds``,
  000111111113 ``account_closed``, 000111111116 ``no_account``, 000333333335
  ``debit_not_authorized``; other numbers succeed), or as ``outcome`` /
  ``failure_code`` say;
- ``return_ach(pi, reason="insufficient_funds")`` / ``POST
  /_ach/payment_intents/:id/return``: a succeeded debit comes back as a Dispute (status
  ``lost``: ACH disputes cannot be contested); ``debit_not_authorized`` ends the mandate;
- ``use_microdeposit_type(type)`` / ``POST /_ach/microdeposit_type``: ``amounts`` or
  ``descriptor_code`` for the verifications started next (reset clears it).

Events (signed and sent like localstripe's, a second later):

=====================================  ===================================================
transition                             events (``data.object``)
=====================================  ===================================================
token attached                         ``customer.source.created`` (bank account)
micro-deposits sent                    ``setup_intent.requires_action`` or
                                       ``payment_intent.requires_action``
micro-deposits matched                 ``payment_method.attached``, ``setup_intent.succeeded``
                                       (on a PaymentIntent: as "debit confirmed")
attempts exceeded                      ``setup_intent.setup_failed`` or
                                       ``payment_intent.payment_failed``
debit confirmed                        ``payment_intent.processing``, ``charge.pending``
settled                                ``charge.succeeded``, ``payment_intent.succeeded``
failed                                 ``charge.failed`` (``failure_code``),
                                       ``payment_intent.payment_failed``
                                       (``last_payment_error.code``)
returned after success                 ``charge.dispute.created`` (dispute)
=====================================  ===================================================

Still missing: Financial Connections (``verification_method=instant``, Stripe.js's
``collectBankAccountFor*``), the hosted verification page (its URL has Stripe's shape
and is not served), verifying legacy sources (``/sources/:id/verify``), micro-deposit
and mandate expiry, blocking bank accounts after returns (``status_details.blocked``),
``charge.dispute.closed`` and ``funds_withdrawn`` events, ``setup_future_usage`` beyond
attaching on success, ``payment_method_data`` for bank accounts, statement descriptors.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from localstripe.errors import UserError

from portal.gateways import localstripe_bank as bank
from portal.gateways.localstripe_ach_controls import (
    AchControlError,
    AchControls,
    return_debit,
    settle,
    use_microdeposit_type,
)
from portal.gateways.localstripe_ach_setup import extend_setup_intents, verify_setup_intent
from portal.gateways.localstripe_bank import BankAccount, BankPaymentMethod, Mandate, error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources, server

__all__ = ["AchControlError", "AchControls", "install", "routes"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action")
_installed = False


def install() -> None:
    """Teach localstripe's resources ``us_bank_account`` (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    _extend_payment_methods()
    _extend_sources()
    extend_setup_intents()
    _extend_payment_intents()


def routes() -> list[tuple[str, str, Handler]]:
    """The routes this adds to localstripe's, or serves in their place."""
    extra = server.api_extra
    return [
        ("POST", "/v1/tokens", _create_token),
        ("POST", "/v1/customers/{id}/sources", extra(_add_source, "")),
        ("GET", "/v1/customers/{id}/sources", extra(_list_sources, "")),
        ("GET", "/v1/customers/{id}/sources/{source_id}", extra(
            lambda **data: resources.Customer._api_retrieve_source(**data), "")),
        ("DELETE", "/v1/customers/{id}/sources/{source_id}", extra(_remove_source, "")),
        ("POST", "/v1/payment_intents/{id}/cancel", extra(_cancel_payment_intent, "")),
        ("POST", "/v1/payment_intents/{id}/verify_microdeposits",
         extra(_verify_payment_intent, "")),
        ("POST", "/v1/setup_intents/{id}/verify_microdeposits", extra(verify_setup_intent, "")),
        ("GET", "/v1/mandates/{id}", _async(server.api_retrieve(Mandate, ""))),
        ("GET", "/v1/disputes/{id}", _async(server.api_retrieve(bank.Dispute, ""))),
        ("GET", "/v1/disputes", _async(server.api_list_all(bank.Dispute, "/v1/disputes"))),
        ("POST", "/_ach/payment_intents/{id}/settle", extra(settle, "")),
        ("POST", "/_ach/payment_intents/{id}/return", extra(return_debit, "")),
        ("POST", "/_ach/microdeposit_type", use_microdeposit_type),
    ]


def _async(handler: Callable[[web.Request], web.StreamResponse]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return handle


# Tokens, sources, PaymentMethods ---------------------------------------------------------

_create_card_token = server.api_create(resources.Token, "/v1/tokens")


async def _create_token(request: web.Request) -> web.StreamResponse:
    data = await server.get_post_data(request) or {}
    if "bank_account" not in data:
        return await _create_card_token(request)
    expand = data.pop("expand", None)
    token = bank.BankToken(server.get_api_key(request) is not None, **data)
    return server.json_response(token._export(expand=expand))


def _add_source(id: str, source: Any = None, **kwargs: Any) -> resources.StripeObject:
    if isinstance(source, str) and source.startswith("btok_"):
        bank.unexpected(kwargs)
        return bank.attach_token(id, source)
    return resources.Customer._api_add_source(id, source=source, **kwargs)


def _list_sources(id: str, object: Any = None, limit: Any = None, starting_after: Any = None,
                  **kwargs: Any) -> resources.List:
    # localstripe's refuses limit, and its object filter overwrites the customer's list.
    bank.unexpected(kwargs)
    if object not in (None, "card", "bank_account"):
        raise UserError(400, "object must be card or bank_account", {"param": "object"})
    sources = resources.Customer._api_retrieve(id).sources
    found = resources.List(sources.url, limit=limit, starting_after=starting_after)
    found._list = [s for s in sources._list if object is None or s.object == object]
    return found


def _remove_source(id: str, source_id: str, **kwargs: Any) -> resources.StripeObject:
    removed = resources.Customer._api_remove_source(id, source_id, **kwargs)
    if source_id.startswith("ba_"):  # Stripe answers with the deleted bank account
        return resources.DeletedObject(source_id, BankAccount.object)
    return removed


def _extend_sources() -> None:
    customer = resources.Customer
    original = customer._api_retrieve_source

    def _api_retrieve_source(cls, id: str, source_id: Any, **kwargs: Any) -> Any:
        if isinstance(source_id, str) and source_id.startswith("ba_"):
            bank.unexpected(kwargs)
            return bank.owned_bank_account(id, source_id)
        return original(id, source_id, **kwargs)

    customer._api_retrieve_source = classmethod(_api_retrieve_source)


def _extend_payment_methods() -> None:
    method = resources.PaymentMethod
    original_create = method._api_create
    original_list = method._api_list_all
    original_article = method._try_get_canonical_test_article

    def _api_create(cls, type: Any = None, **data: Any) -> resources.PaymentMethod:
        if type == "us_bank_account":
            return BankPaymentMethod(**data)
        return original_create(type=type, **data)

    def _api_list_all(cls, url: str, customer: Any = None, type: Any = None,
                      limit: Any = None, starting_after: Any = None) -> resources.List:
        if type != "us_bank_account":
            return original_list(url, customer=customer, type=type, limit=limit,
                                 starting_after=starting_after)
        if not isinstance(customer, str):
            raise bank.missing("customer")
        resources.Customer._api_retrieve(customer)
        found = resources.List(url, limit=limit, starting_after=starting_after)
        found._list = [obj for obj in resources.store.values()
                       if isinstance(obj, BankPaymentMethod) and obj.customer == customer]
        return found

    def _try_get_canonical_test_article(cls, id: str) -> Any:
        return bank.testmode_method(id) or original_article(id)

    method._api_create = classmethod(_api_create)
    method._api_list_all = classmethod(_api_list_all)
    method._try_get_canonical_test_article = classmethod(_try_get_canonical_test_article)


# PaymentIntents -------------------------------------------------------------------------


def _extend_payment_intents() -> None:
    intent_class = resources.PaymentIntent
    original_init = intent_class.__init__
    original_create = intent_class._api_create
    original_confirm = intent_class._confirm
    original_error = intent_class.last_payment_error

    def __init__(self, *args: Any, payment_method: Any = None, payment_method_types: Any = None,
                 payment_method_options: Any = None, mandate_data: Any = None,
                 mandate: Any = None, **kwargs: Any) -> None:
        source = payment_method if str(payment_method).startswith("ba_") else None
        if source is not None and bank.bank_method(source) is None:
            raise error(404, "resource_missing", f"No such source: '{source}'",
                        param="payment_method")
        types = payment_method_types or ["card"]
        if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            raise UserError(400, "Invalid payment_method_types", {"param": "payment_method_types"})
        original_init(self, *args, payment_method=None if source else payment_method, **kwargs)
        self.payment_method = source or self.payment_method
        self.payment_method_types = types
        self.payment_method_options = payment_method_options or {}
        self._mandate_request = (mandate_data, mandate)

    def _api_create(cls, confirm: Any = None, off_session: Any = None, **data: Any) -> Any:
        method_id = data.get("payment_method")
        test = bank.testmode_method(method_id) if isinstance(method_id, str) else None
        if test is not None:
            data["payment_method"] = method_id = test.id
        method = bank.bank_method(method_id) if isinstance(method_id, str) else None
        if method is not None:
            _check_debit(method, data, resources.try_convert_to_bool(confirm) is True)
        return original_create(confirm=confirm, off_session=off_session, **data)

    def _confirm(self, on_failure_now: Any) -> None:
        method = bank.bank_method(self.payment_method or "")
        if method is None:
            original_confirm(self, on_failure_now)
            return
        _confirm_debit(self, method)

    def last_payment_error(self) -> dict[str, Any] | None:
        return getattr(self, "_ach_error", None) or original_error.fget(self)

    intent_class.__init__ = __init__
    intent_class._api_create = classmethod(_api_create)
    intent_class._confirm = _confirm
    intent_class.last_payment_error = property(last_payment_error)


def _check_debit(method: Any, data: dict[str, Any], confirm: bool) -> None:
    """Refuse, before anything is made, a debit Stripe would refuse."""
    types = data.get("payment_method_types") or ["card"]
    if "us_bank_account" not in types:
        raise error(400, "payment_intent_incompatible_payment_method", "The PaymentMethod "
                    "provided (us_bank_account) is not allowed for this PaymentIntent. Please "
                    f"attach a PaymentMethod of one of the following types: {', '.join(types)}.",
                    param="payment_method")
    currency = str(data.get("currency", "")).lower()
    if currency != "usd":
        raise error(400, "payment_intent_invalid_parameter", f"The currency provided "
                    f"({currency}) is invalid. Payments with us_bank_account support the "
                    "following currencies: usd.", param="currency")
    customer = data.get("customer")
    if (isinstance(method, BankAccount) or method.customer) and method.customer != customer:
        raise error(400, "missing", f"Customer {customer} does not have a linked payment "
                    f"method with ID {method.id}.", param="payment_method")
    if confirm:
        _mandate_source(method, data.get("mandate_data"), data.get("mandate"))
        _check_usable(method)


def _check_usable(method: Any) -> None:
    if isinstance(method, BankAccount) and not method._verified:
        raise error(400, "bank_account_declined", f"The bank account {method.id} can not be "
                    "used to charge: it is not verified.", param="payment_method")


def _mandate_source(method: Any, mandate_data: Any, mandate: Any) -> str | dict[str, Any]:
    """The mandate a debit runs under: an id, or an acceptance to make one from."""
    if mandate:
        found = resources.store.get(f"mandate:{mandate}")
        if not (isinstance(found, Mandate) and found.payment_method == method.id
                and found.status == "active"):
            raise error(400, "payment_intent_mandate_invalid", "The provided mandate is invalid "
                        "and can not be used for the payment intent.", param="mandate")
        return found.id
    if mandate_data is not None:
        return bank.acceptance(mandate_data)
    if method._mandate:
        return method._mandate
    raise bank.missing("mandate_data")


def _confirm_debit(intent: resources.PaymentIntent, method: Any) -> None:
    mandate_data, mandate = getattr(intent, "_mandate_request", (None, None))
    intent._mandate_request, intent._ach_error = (None, None), None
    source = _mandate_source(method, mandate_data, mandate)
    _check_usable(method)
    if method._verified:
        _debit(intent, method, source)
        return
    intent._microdeposits = bank.Microdeposits.send(bank.microdeposit_type())
    intent._pending_mandate = source
    intent.next_action = intent._microdeposits.next_action()
    bank.event("payment_intent.requires_action", intent)


def _debit(intent: resources.PaymentIntent, method: Any, source: str | dict[str, Any]) -> None:
    mandate = source if isinstance(source, str) else Mandate(method, source).id
    intent.next_action, intent._microdeposits = None, None
    intent.latest_charge = bank.AchCharge(intent, method, mandate)
    bank.event("payment_intent.processing", intent)
    bank.event("charge.pending", intent.latest_charge)


def _verify_payment_intent(id: str, amounts: Any = None, descriptor_code: Any = None,
                           client_secret: Any = None, **kwargs: Any) -> Any:
    bank.unexpected(kwargs)
    intent = resources.PaymentIntent._api_retrieve(id)
    deposits = getattr(intent, "_microdeposits", None)
    if client_secret and client_secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if deposits is None or (intent.status != "requires_action" and not deposits.exceeded):
        raise error(400, "payment_intent_unexpected_state", f"This PaymentIntent has a "
                    f"status of {intent.status}: there are no micro-deposits to verify.",
                    payment_intent=intent._export())
    method = bank.bank_method(intent.payment_method or "")
    if deposits.check(amounts, descriptor_code):
        method._is_verified = True
        _debit(intent, method, intent._pending_mandate)
        return intent
    if deposits.exceeded and intent.status == "requires_action":
        intent._ach_error = deposits.refusal(payment_method=method._export()).body["error"]
        intent.next_action, intent.payment_method = None, None
        bank.event("payment_intent.payment_failed", intent)
    raise deposits.refusal(payment_intent=intent._export())


def _cancel_payment_intent(id: str, **kwargs: Any) -> Any:
    intent = resources.PaymentIntent._api_retrieve(id)
    if intent.status not in CANCELABLE:
        raise error(400, "payment_intent_unexpected_state", f"You cannot cancel this "
                    f"PaymentIntent because it has a status of {intent.status}. Only a "
                    "PaymentIntent with one of the following statuses may be canceled: "
                    f"{', '.join(CANCELABLE)}.", payment_intent=intent._export())
    return resources.PaymentIntent._api_cancel(id, **kwargs)
