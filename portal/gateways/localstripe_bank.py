"""The bank-account objects localstripe 1.15 lacks, as Stripe documents them.

Part of the ACH stand-in (:mod:`portal.gateways.localstripe_ach` explains what it
supplies and why); this module holds the objects and their checks, that one the
routes and the payment lifecycle. Dev/test only, like all of localstripe.

- :class:`BankAccount` ``ba_`` — a customer's bank account source
  (https://docs.stripe.com/api/customer_bank_accounts/object), made by a
  :class:`BankToken` ``btok_`` (https://docs.stripe.com/api/tokens/create_bank_account);
- :class:`BankPaymentMethod` — a ``pm_`` of type ``us_bank_account``
  (https://docs.stripe.com/api/payment_methods/object#payment_method_object-us_bank_account);
- :class:`Mandate` (https://docs.stripe.com/api/mandates/object), :class:`AchCharge`
  and :class:`Dispute` (https://docs.stripe.com/api/disputes/object);
- :class:`Microdeposits` — a verification in progress on a SetupIntent or PaymentIntent
  (https://docs.stripe.com/payments/ach-direct-debit/set-up-payment#verify-with-microdeposits).

Account numbers are kept in ``_account_number`` (never exported, as with Stripe).
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

from localstripe.errors import UserError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from localstripe import resources

# Stripe's ACH test bank accounts (routing number 110000000) and what debiting them does:
# https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers.
# Any other account number succeeds.
TEST_ACCOUNTS: dict[str, str | None] = {
    "000123456789": None,
    "000111111113": "account_closed",
    "000111111116": "no_account",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
}
TEST_ROUTING_NUMBER = "110000000"
# The test PaymentMethods of the same table, usable without verification.
TEST_METHODS = {
    "pm_usBankAccount_success": "000123456789",
    "pm_usBankAccount_accountClosed": "000111111113",
    "pm_usBankAccount_noAccount": "000111111116",
    "pm_usBankAccount_insufficientFunds": "000222222227",
    "pm_usBankAccount_debitNotAuthorized": "000333333335",
}
# ACH failure codes and their messages (https://docs.stripe.com/error-codes).
FAILURES = {
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The bank account could not be located.",
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "debit_not_authorized": "The customer has notified their bank that this payment was "
                            "unauthorized.",
    "bank_account_restricted": "The customer's account cannot be used with the payment method.",
    "bank_account_unusable": "The bank account provided cannot be used. A different bank "
                             "account must be used.",
}
# Why Stripe opens a dispute on an ACH debit that had succeeded: a late failure from the
# bank, or the customer telling their bank it was not authorized
# (https://docs.stripe.com/payments/ach-direct-debit#disputed-payments).
RETURN_REASONS = ("insufficient_funds", "incorrect_account_details", "bank_cannot_process",
                  "debit_not_authorized")
BANK_NAMES = {TEST_ROUTING_NUMBER: "STRIPE TEST BANK", "021000021": "JPMORGAN CHASE BANK, NA"}

# Micro-deposits in test mode: amounts 32 and 45 cents, or descriptor code SM11AA; the
# customer has 3 attempts for amounts and 10 for a descriptor code
# (https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment, "Verification
# attempts have a limit of ten failures for descriptor-based microdeposits and three for
# amount-based ones").
MICRODEPOSIT_AMOUNTS = (32, 45)
DESCRIPTOR_CODE = "SM11AA"
ATTEMPTS = {"amounts": 3, "descriptor_code": 10}
ARRIVAL_SECONDS = 2 * 24 * 3600  # "1-2 business days"
MICRODEPOSIT_TYPE = "portal_ach:microdeposit_type"  # kept in localstripe's store


def error(status: int, code: str, message: str, **fields: Any) -> UserError:
    """A Stripe error (https://docs.stripe.com/api/errors) of type invalid_request_error."""
    return UserError(status, message, {
        "code": code, "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        **fields})


def missing(param: str) -> UserError:
    return error(400, "parameter_missing", f"Missing required param: {param}.", param=param)


def unexpected(params: dict[str, Any]) -> None:
    """Refuse parameters nobody handles, as localstripe does."""
    if params:
        raise UserError(400, "Unexpected " + ", ".join(params))


def event(kind: str, obj: resources.StripeObject) -> None:
    """Send ``kind`` about ``obj`` to the registered webhooks (a second later)."""
    resources.schedule_webhook(resources.Event(kind, obj))


def microdeposit_type() -> str:
    """The type of the micro-deposits sent next (a test control; reset clears it)."""
    return resources.store.get(MICRODEPOSIT_TYPE, "amounts")


# Numbers -------------------------------------------------------------------------------


def routing_number(value: Any, param: str) -> str:
    """A US routing number: nine digits whose ABA check digit is right."""
    digits = str(value or "")
    weights = (3, 7, 1) * 3
    if not re.fullmatch(r"\d{9}", digits) or sum(
            int(d) * w for d, w in zip(digits, weights, strict=True)) % 10:
        raise error(400, "routing_number_invalid", "The bank routing number provided is "
                    "invalid.", param=param)
    return digits


def account_number(value: Any, param: str) -> str:
    """A US account number: 4 to 17 digits (the NACHA field is 17 long)."""
    digits = str(value or "")
    if not re.fullmatch(r"\d{4,17}", digits):
        raise error(400, "account_number_invalid", "The bank account number provided is "
                    "invalid (e.g., missing digits).", param=param)
    return digits


def _choice(value: Any, allowed: tuple[str, ...], param: str, default: str | None) -> str | None:
    if value in (None, ""):
        return default
    if value not in allowed:
        raise UserError(400, f"Invalid {param}: must be one of {' or '.join(allowed)}",
                        {"param": param})
    return str(value)


def outcome(account: str) -> str | None:
    """The failure code debiting ``account`` ends in, or None: it succeeds."""
    return TEST_ACCOUNTS.get(account)


class _Bank:
    """What a bank account source and a us_bank_account PaymentMethod share."""

    _account_number: str
    _mandate: str | None = None  # an active multi-use mandate, once one is accepted

    def _bank(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def _verified(self) -> bool:
        raise NotImplementedError

    def _details(self, mandate: str | None) -> dict[str, Any]:
        """``payment_method_details.us_bank_account`` of a charge debiting it."""
        bank = self._bank()
        return {key: bank.get(key) for key in ("account_holder_type", "account_type",
                                               "bank_name", "fingerprint", "last4",
                                               "routing_number")} | {
            "expected_debit_date": None, "mandate": mandate, "payment_reference": None}


# Tokens and sources --------------------------------------------------------------------


class BankAccount(resources.StripeObject, _Bank):
    """A customer's bank account, made from a token (status ``new`` until verified)."""

    object = "bank_account"
    _id_prefix = "ba_"

    def __init__(self, details: Any) -> None:
        if not isinstance(details, dict):
            raise missing("bank_account")
        if details.get("country", "US") != "US" or details.get("currency", "usd") != "usd":
            raise UserError(400, "Only US bank accounts in usd are supported here.",
                            {"param": "bank_account[country]"})
        number = account_number(details.get("account_number"), "bank_account[account_number]")
        routing = routing_number(details.get("routing_number"), "bank_account[routing_number]")
        holder = _choice(details.get("account_holder_type"), ("individual", "company"),
                         "bank_account[account_holder_type]", None)
        kind = _choice(details.get("account_type"), ("checking", "savings"),
                       "bank_account[account_type]", "checking")
        super().__init__()
        self._account_number = number
        self.account_holder_name = details.get("account_holder_name")
        self.account_holder_type = holder
        self.account_type = kind
        self.bank_name = BANK_NAMES.get(routing)
        self.country = "US"
        self.currency = "usd"
        self.customer: str | None = None
        self.fingerprint = resources.fingerprint(routing + number)
        self.last4 = number[-4:]
        self.metadata: dict[str, str] = {}
        self.routing_number = routing
        self.status = "new"

    def _bank(self) -> dict[str, Any]:
        return vars(self)

    @property
    def _verified(self) -> bool:
        return self.status == "verified"


class BankToken(resources.Token):
    """A single-use bank account token.

    One minted with a secret key stands for Plaid's: Plaid creates it in the vendor's
    Stripe account after the customer logged in to their bank, so the bank account it
    makes is ``verified`` (https://plaid.com/docs/auth/partnerships/stripe/). One made
    with a publishable key (Stripe.js, numbers typed in) makes a ``new`` one.
    """

    _id_prefix = "btok_"

    def __init__(self, verified: bool, bank_account: Any = None, **kwargs: Any) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        bank = BankAccount(bank_account)
        resources.StripeObject.__init__(self)
        self._verified = verified
        self.bank_account = bank
        self.client_ip = None
        self.type = "bank_account"
        self.used = False


def attach_token(customer_id: str, token_id: str) -> BankAccount:
    """``POST /v1/customers/:id/sources source=btok_...``: the token's bank account, saved."""
    customer = resources.Customer._api_retrieve(customer_id)
    token = resources.store.get("token:" + token_id)
    if not isinstance(token, BankToken):
        raise error(400, "resource_missing", f"No such token: '{token_id}'", param="source")
    if token.used:
        raise error(400, "token_already_used", f"You cannot use a Stripe token more than "
                    f"once: {token_id}.", param="source")
    bank = token.bank_account
    if any(getattr(s, "fingerprint", None) == bank.fingerprint for s in customer.sources._list):
        raise error(400, "bank_account_exists", "A bank account with that routing number and "
                    "account number already exists for this customer.", param="source")
    token.used = True
    bank.customer = customer_id
    bank.status = "verified" if token._verified else "new"
    customer.sources._list.append(bank)
    if customer.default_source is None:
        customer.default_source = bank.id
    resources.schedule_webhook(resources.Event("customer.source.created", bank))
    return bank


def owned_bank_account(customer_id: str, bank_id: str) -> BankAccount:
    """The customer's bank account ``bank_id``, else Stripe's 404."""
    resources.Customer._api_retrieve(customer_id)
    bank = resources.store.get("bank_account:" + bank_id)
    if not isinstance(bank, BankAccount) or bank.customer != customer_id:
        raise error(404, "resource_missing", f"No such source: '{bank_id}'", param="id")
    return bank


# PaymentMethods -------------------------------------------------------------------------


class BankPaymentMethod(resources.PaymentMethod, _Bank):
    """A ``us_bank_account`` PaymentMethod; verified by micro-deposits (or a test one)."""

    def __init__(self, us_bank_account: Any = None, billing_details: Any = None,
                 metadata: Any = None, verified: bool = False, **kwargs: Any) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        details = us_bank_account if isinstance(us_bank_account, dict) else {}
        billing = billing_details if isinstance(billing_details, dict) else {}
        if not billing.get("name"):  # required for ACH Direct Debit
            raise missing("billing_details[name]")
        number = account_number(details.get("account_number"),
                                "us_bank_account[account_number]")
        routing = routing_number(details.get("routing_number"),
                                 "us_bank_account[routing_number]")
        holder = _choice(details.get("account_holder_type"), ("individual", "company"),
                         "us_bank_account[account_holder_type]", None)
        kind = _choice(details.get("account_type"), ("checking", "savings"),
                       "us_bank_account[account_type]", "checking")
        resources.StripeObject.__init__(self)
        self._account_number = number
        self._is_verified = verified
        self.type = "us_bank_account"
        self.billing_details = {"address": billing.get("address"), "email": billing.get("email"),
                                "name": billing["name"], "phone": billing.get("phone")}
        self.customer: str | None = None
        self.metadata = metadata if isinstance(metadata, dict) else {}
        self.us_bank_account = {
            "account_holder_type": holder, "account_type": kind,
            "bank_name": BANK_NAMES.get(routing), "financial_connections_account": None,
            "fingerprint": resources.fingerprint(routing + number), "last4": number[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": routing, "status_details": {},
        }

    def _bank(self) -> dict[str, Any]:
        return self.us_bank_account

    @property
    def _verified(self) -> bool:
        return self._is_verified

    def _requires_authentication(self) -> bool:
        return False

    def _attaching_is_declined(self) -> bool:
        return False

    def _charging_is_declined(self) -> bool:
        return False


def testmode_method(method_id: str) -> BankPaymentMethod | None:
    """``pm_usBankAccount_success`` and the like: a new, verified PaymentMethod."""
    number = TEST_METHODS.get(method_id)
    if number is None:
        return None
    return BankPaymentMethod(
        us_bank_account={"routing_number": TEST_ROUTING_NUMBER, "account_number": number,
                         "account_holder_type": "company"},
        billing_details={"name": "Test Customer"}, verified=True)


def bank_method(method_id: str) -> BankAccount | BankPaymentMethod | None:
    """The bank account a ``payment_method`` names (a ``ba_`` or a ``us_bank_account`` pm)."""
    found = resources.store.get(("bank_account:" if method_id.startswith("ba_")
                                 else "payment_method:") + method_id)
    return found if isinstance(found, BankAccount | BankPaymentMethod) else None


# Mandates, charges, disputes -------------------------------------------------------------


def acceptance(mandate_data: Any) -> dict[str, Any]:
    """``mandate_data[customer_acceptance]`` checked, as the Mandate will record it."""
    accepted = mandate_data.get("customer_acceptance") if isinstance(mandate_data, dict) else None
    if not isinstance(accepted, dict) or accepted.get("type") not in ("online", "offline"):
        raise missing("mandate_data[customer_acceptance][type]")
    online = accepted.get("online")
    if accepted["type"] == "online":
        for field in ("ip_address", "user_agent"):
            if not isinstance(online, dict) or not online.get(field):
                raise missing(f"mandate_data[customer_acceptance][online][{field}]")
    when = resources.try_convert_to_int(accepted.get("accepted_at") or int(time.time()))
    if not isinstance(when, int):
        raise error(400, "parameter_invalid_integer", "Invalid integer",
                    param="mandate_data[customer_acceptance][accepted_at]")
    return {"accepted_at": when, "type": accepted["type"],
            "online": ({"ip_address": online["ip_address"], "user_agent": online["user_agent"]}
                       if accepted["type"] == "online" else None),
            "offline": {} if accepted["type"] == "offline" else None}


class Mandate(resources.StripeObject):
    """A multi-use ACH debit authorization, active until a dispute invalidates it."""

    object = "mandate"
    _id_prefix = "mandate_"

    def __init__(self, method: BankAccount | BankPaymentMethod, accepted: dict[str, Any]) -> None:
        super().__init__()
        self.customer_acceptance = accepted
        self.multi_use: dict[str, Any] = {}
        self.on_behalf_of = None
        self.payment_method = method.id
        self.payment_method_details = {"type": "us_bank_account",
                                       "us_bank_account": {"collection_method": None}}
        self.single_use = None
        self.status = "active"
        self.type = "multi_use"
        method._mandate = self.id


class AchCharge(resources.Charge):
    """The charge of an ACH debit: ``pending`` until the bank answers (see settle)."""

    def __init__(self, intent: Any, method: BankAccount | BankPaymentMethod,
                 mandate: str) -> None:
        resources.StripeObject.__init__(self)
        self._authorized = True
        self.amount = intent.amount
        self.balance_transaction = None
        self.captured = True
        self.currency = intent.currency
        self.customer = intent.customer
        self.description = None
        self.disputed = False
        self.failure_code: str | None = None
        self.failure_message: str | None = None
        self.invoice = None
        self.metadata: dict[str, str] = {}
        self.payment_intent = intent.id
        self.payment_method = method.id
        self.payment_method_details = {"type": "us_bank_account",
                                       "us_bank_account": method._details(mandate)}
        self.receipt_email = None
        self.receipt_number = None
        self.statement_descriptor = None
        self.status = "pending"


class Dispute(resources.StripeObject):
    """An ACH return after success. ACH disputes cannot be contested: it is ``lost`` at once
    (https://docs.stripe.com/payments/ach-direct-debit#disputed-payments)."""

    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: resources.Charge, reason: str) -> None:
        super().__init__()
        self.amount = charge.amount
        self.balance_transactions: list[Any] = []
        self.charge = charge.id
        self.currency = charge.currency
        self.evidence: dict[str, Any] = {}
        self.evidence_details = {"due_by": None, "has_evidence": False, "past_due": False,
                                 "submission_count": 0}
        self.is_charge_refundable = False
        self.metadata: dict[str, str] = {}
        self.network_reason_code = None
        self.payment_intent = charge.payment_intent
        self.payment_method_details = None
        self.reason = reason
        self.status = "lost"


# Micro-deposits --------------------------------------------------------------------------


@dataclass
class Microdeposits:
    """Micro-deposits sent to a bank account, and the customer's attempts to match them."""

    type: str  # amounts | descriptor_code
    arrival_date: int
    hosted_verification_url: str
    failures: int = 0

    @classmethod
    def send(cls, microdeposit_type: str) -> Microdeposits:
        return cls(microdeposit_type, int(time.time()) + ARRIVAL_SECONDS,
                   "https://payments.stripe.com/microdeposit/sacs_test_"
                   + resources.random_id(24))

    def next_action(self) -> dict[str, Any]:
        return {"type": "verify_with_microdeposits", "verify_with_microdeposits": {
            "arrival_date": self.arrival_date,
            "hosted_verification_url": self.hosted_verification_url,
            "microdeposit_type": self.type}}

    @property
    def exceeded(self) -> bool:
        return self.failures >= ATTEMPTS[self.type]

    def check(self, amounts: Any, descriptor_code: Any) -> bool:
        """True if they match; a wrong attempt counts (see :attr:`exceeded`)."""
        if self.exceeded:
            return False
        if self.type == "amounts":
            values = [resources.try_convert_to_int(a)
                      for a in (amounts if isinstance(amounts, list) else [])]
            if (descriptor_code is not None or len(values) != 2
                    or not all(isinstance(v, int) for v in values)):
                raise error(400, "payment_method_microdeposit_verification_amounts_invalid",
                            "You must provide exactly two microdeposit amounts.",
                            param="amounts")
            matched = sorted(values) == sorted(MICRODEPOSIT_AMOUNTS)
        else:
            if amounts is not None or not descriptor_code:
                raise missing("descriptor_code")
            matched = descriptor_code == DESCRIPTOR_CODE
        self.failures += 0 if matched else 1
        return matched

    def refusal(self, **fields: Any) -> UserError:
        """The error of a wrong attempt: a mismatch, or attempts exceeded."""
        if self.exceeded:
            code, message = ("payment_method_microdeposit_verification_attempts_exceeded",
                             "You have exceeded the number of allowed verification attempts.")
        elif self.type == "amounts":
            code, message = ("payment_method_microdeposit_verification_amounts_mismatch",
                             "The amounts provided do not match the amounts that were sent "
                             "to the bank account.")
        else:
            code, message = ("payment_method_microdeposit_verification_descriptor_code_"
                             "mismatch", "The verification code provided does not match the "
                             "one sent to the bank account.")
        return error(400, code, message, **fields)
