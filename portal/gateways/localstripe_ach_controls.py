"""The bank's answers to ACH debits, decided by tests and demos: settle, return.

Part of the ACH stand-in: :mod:`portal.gateways.localstripe_ach` says what they do and
which events they send. Stripe's test mode settles a debit by itself after a while;
offline, :class:`AchControls` (mixed into ``LocalStripe``) or the ``/_ach/`` routes decide
when, and how: by Stripe's ACH test account numbers
(https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers)
unless told otherwise.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

from aiohttp import web
from localstripe.errors import UserError

from portal.gateways import localstripe_bank as bank
from portal.gateways.localstripe_bank import BankPaymentMethod, Mandate, error

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources, server

CONTROL_KEY = "sk_test_local_ach_controls"  # localstripe takes any secret key


def settle(id: str, outcome: Any = None, failure_code: Any = None, **kwargs: Any) -> Any:
    """The bank answers a processing debit: by its test account number, or as told."""
    bank.unexpected(kwargs)
    intent = resources.PaymentIntent._api_retrieve(id)
    charge = intent.latest_charge
    if intent.status != "processing" or not isinstance(charge, bank.AchCharge):
        raise error(400, "payment_intent_unexpected_state", f"PaymentIntent {id} has a status "
                    f"of {intent.status}: only a processing ACH debit settles.")
    if outcome not in (None, "succeeded", "failed"):
        raise UserError(400, "outcome must be succeeded or failed", {"param": "outcome"})
    if failure_code is not None and (failure_code not in bank.FAILURES
                                     or outcome == "succeeded"):
        raise UserError(400, f"failure_code must be one of {', '.join(bank.FAILURES)}, "
                        "with no outcome or outcome=failed", {"param": "failure_code"})
    method = bank.bank_method(charge.payment_method)  # None once deleted
    code = None if outcome == "succeeded" else (
        failure_code or bank.outcome(method._account_number if method else ""))
    if outcome == "failed" and code is None:
        raise UserError(400, "This account number succeeds: name the failure_code",
                        {"param": "failure_code"})
    if code is None:
        _succeed(intent, charge, method)
    else:
        _fail(intent, charge, method, code)
    return intent


def _succeed(intent: resources.PaymentIntent, charge: bank.AchCharge, method: Any) -> None:
    charge.balance_transaction = resources.BalanceTransaction(
        amount=charge.amount, currency=charge.currency, exchange_rate=1.0,
        reporting_category="charge", source=charge.id, type="charge").id
    charge.status = "succeeded"
    if getattr(intent, "setup_future_usage", None) and isinstance(method, BankPaymentMethod):
        method.customer = method.customer or intent.customer
    bank.event("charge.succeeded", charge)
    bank.event("payment_intent.succeeded", intent)


def _fail(intent: resources.PaymentIntent, charge: bank.AchCharge, method: Any,
          code: str) -> None:
    charge.status, charge.failure_code, charge.failure_message = (
        "failed", code, bank.FAILURES[code])
    # As Stripe reports an ACH failure: the PaymentIntent needs a new payment method, and
    # the error names the one that failed (https://docs.stripe.com/api/errors).
    failure = error(402, code, bank.FAILURES[code]).body["error"]
    intent._ach_error = {**failure, "charge": charge.id, "payment_method_type": "us_bank_account",
                         "payment_method": method._export() if method else None}
    intent.payment_method = None
    bank.event("charge.failed", charge)
    bank.event("payment_intent.payment_failed", intent)


def return_debit(id: str, reason: Any = "insufficient_funds", **kwargs: Any) -> bank.Dispute:
    """A succeeded debit comes back: Stripe opens a (lost) dispute on its charge."""
    bank.unexpected(kwargs)
    intent = resources.PaymentIntent._api_retrieve(id)
    charge = intent.latest_charge
    if intent.status != "succeeded" or not isinstance(charge, bank.AchCharge):
        raise error(400, "payment_intent_unexpected_state", f"PaymentIntent {id} has a status "
                    f"of {intent.status}: only a succeeded ACH debit can be returned.")
    if reason not in bank.RETURN_REASONS:
        raise UserError(400, f"reason must be one of {', '.join(bank.RETURN_REASONS)}",
                        {"param": "reason"})
    if charge.disputed:
        raise error(400, "charge_disputed", f"Charge {charge.id} has already been disputed.")
    dispute = bank.Dispute(charge, reason)
    charge.disputed = True
    if reason == "debit_not_authorized":  # a customer's dispute ends the mandate
        mandate = resources.store.get(
            f"mandate:{charge.payment_method_details['us_bank_account']['mandate']}")
        method = bank.bank_method(charge.payment_method)
        if isinstance(mandate, Mandate):
            mandate.status = "inactive"
        if method is not None and mandate is not None and method._mandate == mandate.id:
            method._mandate = None
    bank.event("charge.dispute.created", dispute)
    return dispute


async def use_microdeposit_type(request: web.Request) -> web.StreamResponse:
    data = await server.get_post_data(request) or {}
    chosen = data.get("type")
    if chosen not in bank.ATTEMPTS:
        raise UserError(400, "type must be amounts or descriptor_code", {"param": "type"})
    resources.store[bank.MICRODEPOSIT_TYPE] = chosen
    return server.json_response({"microdeposit_type": chosen})


class AchControlError(Exception):
    """A test control was refused (the stand-in's answer is in ``body``)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error', {}).get('message', body)}")
        self.status = status
        self.body = body


class AchControls:
    """The ACH test controls of a running local Stripe (mixed into ``LocalStripe``)."""

    def settle_ach(self, payment_intent_id: str, outcome: str | None = None,
                   failure_code: str | None = None) -> dict[str, Any]:
        """Answer a processing debit as its test account number says, or as told; return it."""
        fields = {"outcome": outcome, "failure_code": failure_code}
        return self._ach_control(f"payment_intents/{payment_intent_id}/settle", fields)

    def return_ach(self, payment_intent_id: str,
                   reason: str = "insufficient_funds") -> dict[str, Any]:
        """Return a succeeded debit: the Dispute Stripe opens, as JSON."""
        return self._ach_control(f"payment_intents/{payment_intent_id}/return",
                                 {"reason": reason})

    def use_microdeposit_type(self, microdeposit_type: str) -> None:
        """Send ``amounts`` or ``descriptor_code`` micro-deposits from now on (until reset)."""
        self._ach_control("microdeposit_type", {"type": microdeposit_type})

    def _ach_control(self, path: str, fields: dict[str, str | None]) -> dict[str, Any]:
        body = urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None})
        request = urllib.request.Request(
            f"{self.url}/_ach/{urllib.parse.quote(path)}", data=body.encode(), method="POST",
            headers={"Authorization": f"Bearer {CONTROL_KEY}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as refused:
            raise AchControlError(refused.code, json.loads(refused.read() or b"{}")) from None
