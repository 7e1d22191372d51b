"""SetupIntents that save a ``us_bank_account`` PaymentMethod, verified by micro-deposits.

Part of the ACH stand-in: :mod:`portal.gateways.localstripe_ach` says what it supplies
(https://docs.stripe.com/payments/ach-direct-debit/set-up-payment). Confirming one with
``mandate_data`` sends micro-deposits; matching them verifies and attaches the
PaymentMethod and makes a multi-use Mandate.
"""

from __future__ import annotations

import warnings
from typing import Any

from localstripe.errors import UserError

from portal.gateways import localstripe_bank as bank
from portal.gateways.localstripe_bank import BankPaymentMethod, Mandate, error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources


class AchSetupIntent(resources.SetupIntent):
    """A SetupIntent that may save a ``us_bank_account`` PaymentMethod."""

    def __init__(self, payment_method_types: list[str], payment_method_options: Any = None,
                 **data: Any) -> None:
        options = (payment_method_options or {}).get("us_bank_account") or {}
        verification = options.get("verification_method") or "automatic"
        if verification not in ("automatic", "instant", "microdeposits"):
            raise UserError(400, "Invalid verification_method", {"param": (
                "payment_method_options[us_bank_account][verification_method]")})
        if not set(payment_method_types) <= {"card", "sepa_debit", "ideal", "us_bank_account"}:
            raise UserError(400, "Invalid payment_method_types", {"param": "payment_method_types"})
        super().__init__(**data)
        self.payment_method_types = list(payment_method_types)
        self.payment_method_options = {"us_bank_account": {"verification_method": verification}}
        self.mandate: str | None = None
        self.last_setup_error: dict[str, Any] | None = None
        self._microdeposits: bank.Microdeposits | None = None
        self._accepted: dict[str, Any] | None = None
        self._verifying: str | None = None


def payment_method_named(method_id: Any, param: str = "payment_method") -> Any:
    """The bank account ``method_id`` names (Stripe's test ones made on the spot), else 400."""
    method = bank.testmode_method(method_id) if isinstance(method_id, str) else None
    method = method or (bank.bank_method(method_id) if isinstance(method_id, str) else None)
    if method is None:
        raise error(400, "resource_missing", f"No such PaymentMethod: '{method_id}'", param=param)
    return method


def extend_setup_intents() -> None:
    """Let localstripe's SetupIntents take ``us_bank_account`` (see the module docstring)."""
    setup = resources.SetupIntent
    original_create = setup._api_create
    original_confirm = setup._api_confirm

    def _api_create(cls, payment_method_types: Any = None, payment_method: Any = None,
                    mandate_data: Any = None, confirm: Any = None, **data: Any) -> Any:
        if not (isinstance(payment_method_types, list)
                and "us_bank_account" in payment_method_types):
            given = {"payment_method": payment_method, "mandate_data": mandate_data,
                     "confirm": confirm}  # which localstripe refuses, as before
            return original_create(payment_method_types=payment_method_types, **data,
                                   **{k: v for k, v in given.items() if v is not None})
        method = payment_method_named(payment_method) if payment_method else None
        confirm = resources.try_convert_to_bool(confirm)
        if confirm and mandate_data is None:
            raise bank.missing("mandate_data")
        intent = AchSetupIntent(payment_method_types, **data)
        if method is not None:
            intent.payment_method, intent.status = method.id, "requires_confirmation"
        if confirm:
            _confirm_setup(intent, mandate_data)
        return intent

    def _api_confirm(cls, id: str, payment_method: Any = None, mandate_data: Any = None,
                     client_secret: Any = None, **kwargs: Any) -> Any:
        intent = cls._api_retrieve(id)
        chosen = payment_method or intent.payment_method
        if not (isinstance(intent, AchSetupIntent) and isinstance(chosen, str)
                and (chosen in bank.TEST_METHODS or bank.bank_method(chosen))):
            if mandate_data is not None:
                kwargs["mandate_data"] = mandate_data  # which localstripe refuses
            return original_confirm(id=id, payment_method=payment_method,
                                    client_secret=client_secret, **kwargs)
        if client_secret and client_secret != intent.client_secret:
            raise UserError(401, "Unauthorized")
        kwargs.pop("use_stripe_sdk", None)
        bank.unexpected(kwargs)
        intent.payment_method = payment_method_named(chosen).id
        _confirm_setup(intent, mandate_data)
        return intent

    setup._api_create = classmethod(_api_create)
    setup._api_confirm = classmethod(_api_confirm)


def _confirm_setup(intent: AchSetupIntent, mandate_data: Any) -> None:
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise error(400, "setup_intent_unexpected_state", f"You cannot confirm this SetupIntent "
                    f"because it has a status of {intent.status}.", setup_intent=intent._export())
    if not intent.payment_method:
        raise bank.missing("payment_method")
    method = payment_method_named(intent.payment_method)
    if not isinstance(method, BankPaymentMethod):
        raise error(400, "payment_method_unexpected_state", "A SetupIntent saves a "
                    "us_bank_account PaymentMethod, not a bank account source.",
                    param="payment_method")
    if mandate_data is None:
        raise bank.missing("mandate_data")
    intent._accepted = bank.acceptance(mandate_data)
    intent._verifying, intent.last_setup_error = method.id, None
    if method._verified:
        _setup_succeeded(intent, method)
        return
    if intent.payment_method_options["us_bank_account"]["verification_method"] == "instant":
        raise UserError(400, "Instant verification needs Financial Connections, which this "
                        "local Stripe does not have: use microdeposits.", {"param": (
                            "payment_method_options[us_bank_account][verification_method]")})
    intent._microdeposits = bank.Microdeposits.send(bank.microdeposit_type())
    intent.status, intent.next_action = "requires_action", intent._microdeposits.next_action()
    bank.event("setup_intent.requires_action", intent)


def _setup_succeeded(intent: AchSetupIntent, method: BankPaymentMethod) -> None:
    method._is_verified = True
    intent.mandate = Mandate(method, intent._accepted or {}).id
    intent.status, intent.next_action, intent._microdeposits = "succeeded", None, None
    if intent.customer and method.customer != intent.customer:
        method.customer = intent.customer
        bank.event("payment_method.attached", method)
    bank.event("setup_intent.succeeded", intent)


def verify_setup_intent(id: str, amounts: Any = None, descriptor_code: Any = None,
                        client_secret: Any = None, **kwargs: Any) -> AchSetupIntent:
    """``POST /v1/setup_intents/:id/verify_microdeposits``: amounts, or a descriptor code."""
    bank.unexpected(kwargs)
    intent = resources.SetupIntent._api_retrieve(id)
    deposits = getattr(intent, "_microdeposits", None)
    if client_secret and client_secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if deposits is None or (intent.status != "requires_action" and not deposits.exceeded):
        raise error(400, "setup_intent_unexpected_state", f"This SetupIntent has a status of "
                    f"{intent.status}: there are no micro-deposits to verify.",
                    setup_intent=intent._export())
    method = bank.bank_method(intent._verifying)
    if deposits.check(amounts, descriptor_code):
        _setup_succeeded(intent, method)
        return intent
    if deposits.exceeded and intent.status == "requires_action":
        failure = deposits.refusal(payment_method=method._export()).body["error"]
        intent.last_setup_error = failure
        intent.status, intent.next_action, intent.payment_method = (
            "requires_payment_method", None, None)
        bank.event("setup_intent.setup_failed", intent)
    raise deposits.refusal(setup_intent=intent._export())
