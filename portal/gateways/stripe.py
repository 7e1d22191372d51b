"""Cards and ACH Direct Debit through Stripe: the only module that imports ``stripe``.

The rest of the portal sees :class:`StripeGateway`, the dataclasses below and
:class:`GatewayError` and its subclasses; no stripe-python object leaves this
module. Amounts are integer minor units, currencies ISO 4217 upper case (Stripe's
are lower case: converted here, at this one place).

The same code talks to the real Stripe API (``PORTAL_STRIPE_API_BASE`` empty) and
to the local stand-in used offline and in tests (localstripe 1.15, started by
:mod:`portal.gateways.localstripe`). The interface keeps to what both serve, in
the way both serve it, so the stand-in runs the production path:

- PaymentIntents are created with ``payment_method_types=["card"]`` and no
  ``automatic_payment_methods``: localstripe rejects the latter, and naming the
  card type also means a server-side confirmation needs no ``return_url`` (also
  rejected by localstripe) on Stripe's newer API versions.
- A saved card is charged by creating the PaymentIntent with ``confirm=true`` and
  the ``payment_method`` (Stripe's "finalize payments on the server" flow):
  localstripe cannot confirm with a ``payment_method`` on ``/confirm``, and its
  Stripe.js stand-in's ``confirmCardPayment`` only performs the 3-D Secure step
  of a PaymentIntent already confirmed. A card that needs 3-D Secure comes back
  ``requires_action``; the browser then calls ``stripe.confirmCardPayment(
  client_secret)``, which real Stripe.js and the stand-in both support.
- ``description``, ``receipt_email`` and ``statement_descriptor`` are never sent
  (localstripe rejects them; the portal keeps its own records and sends its own
  receipts). What the portal needs to find again rides in ``metadata``.
- ``save_card`` sends ``setup_future_usage=off_session``: localstripe rejects it,
  so the dev/test set-up extends it to Stripe's documented behaviour (the card is
  attached to the customer when the payment succeeds) rather than this module
  doing something else locally.
- Idempotency keys go in the ``Idempotency-Key`` header (stripe-python's
  ``idempotency_key`` option); localstripe ignores the header, so the dev/test
  set-up adds Stripe's idempotency layer in front of it.
- Saved cards are listed with ``GET /v1/payment_methods?customer=&type=card``
  (localstripe has no ``/v1/customers/{id}/payment_methods``), and there is no
  search: the Stripe customer of an account is found through the id the portal
  stores, not through a query on metadata.
- Webhooks are verified with the signing secret and a timestamp tolerance
  (``stripe.WebhookSignature``), then parsed as plain JSON.

ACH Direct Debit (``us_bank_account``; the stand-in is
:mod:`portal.gateways.localstripe_ach`):

- A bank account linked with Plaid arrives as a ``btok_`` bank account token, minted
  by Plaid in the vendor's Stripe account; it is saved on the customer as a source
  (``POST /v1/customers/:id/sources``), a verified ``ba_``, which a PaymentIntent then
  takes as its ``payment_method`` (https://plaid.com/docs/auth/partnerships/stripe/,
  https://docs.stripe.com/payments/ach-direct-debit/migrating-from-charges).
- Numbers typed in become a ``us_bank_account`` PaymentMethod, verified by
  micro-deposits through a SetupIntent confirmed with the payer's mandate acceptance;
  the SetupIntent attaches it to the customer when the deposits are matched
  (https://docs.stripe.com/payments/ach-direct-debit/set-up-payment).
- A debit is a PaymentIntent with ``payment_method_types=["us_bank_account"]``,
  confirmed at once (as saved cards are) with ``mandate_data`` for the first debit;
  later debits use the active mandate, off session too. It stays ``processing`` until
  the bank answers (``payment_intent.succeeded`` / ``payment_failed``); a return after
  success is a dispute (``charge.dispute.created``)
  (https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment).

See https://docs.stripe.com/payments/finalize-payments-on-the-server and
https://docs.stripe.com/api/idempotent_requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

from portal.config import Config

STRIPE_JS_URL = "https://js.stripe.com/v3/"
WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's default: five minutes
NETWORK_RETRIES = 2  # safe: every POST carries an idempotency key

META_CUSTOMER_ID = "portal_customer_id"
META_PAYMENT_ID = "portal_payment_id"
META_INVOICES = "portal_invoice_numbers"
META_INVOICE_COUNT = "portal_invoice_count"
META_VALUE_LIMIT = 500  # Stripe's limit on one metadata value
META_STRIPE_CUSTOMER = "portal_stripe_customer"  # on a bank PaymentMethod not yet attached
_EXPAND = ["payment_method", "latest_charge"]
CARD = "card"
US_BANK_ACCOUNT = "us_bank_account"


class GatewayError(Exception):
    """Stripe refused a request or could not be reached."""

    def __init__(self, message: str, *, code: str | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


class NotConfigured(GatewayError):
    """No Stripe secret key is configured."""


class NotFound(GatewayError):
    """The object does not exist at Stripe (or is not this customer's)."""


class IdempotencyConflict(GatewayError):
    """An idempotency key was reused with different parameters."""


class CardDeclined(GatewayError):
    """The card was refused before any PaymentIntent recorded the attempt."""

    def __init__(self, message: str, *, code: str | None = None,
                 decline_code: str | None = None) -> None:
        super().__init__(message, code=code, http_status=402)
        self.decline_code = decline_code


class WebhookSignatureError(GatewayError):
    """A webhook whose signature or timestamp does not verify; refuse it."""


class MicrodepositsRejected(GatewayError):
    """Micro-deposits did not match, or too many attempts: ``code`` says which
    (``payment_method_microdeposit_verification_amounts_mismatch``,
    ``..._descriptor_code_mismatch``, ``..._attempts_exceeded``)."""


@dataclass(frozen=True, slots=True)
class StripeCustomer:
    id: str
    portal_customer_id: str
    name: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class CardSummary:
    """What may be shown of a card: never its number."""

    payment_method_id: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True, slots=True)
class BankAccountSummary:
    """What may be shown of a bank account: never its number.

    ``id`` is a source (``ba_``, linked with Plaid) or a PaymentMethod (``pm_``, numbers
    typed in). ``status`` is the source's (``new``, ``verified``, ``verification_failed``,
    ``errored``); a PaymentMethod has none at Stripe, and is attached to its customer
    only once verified, so it is ``verified`` when attached, else ``new``.
    """

    id: str
    bank_name: str | None
    last4: str
    routing_number: str | None
    status: str
    holder_name: str | None = None
    holder_type: str | None = None  # company, individual
    account_type: str | None = None  # checking, savings
    fingerprint: str | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True, slots=True)
class MandateAcceptance:
    """The payer's acceptance of the ACH debit authorization, as Stripe records it."""

    accepted_at: datetime  # aware
    ip_address: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class MicrodepositSetup:
    """A SetupIntent verifying a bank account by micro-deposits."""

    setup_intent_id: str
    status: str  # requires_action while waiting; succeeded if no deposits were needed
    payment_method_id: str | None
    arrival_date: datetime | None = None
    microdeposit_type: str | None = None  # amounts, descriptor_code
    hosted_verification_url: str | None = None
    mandate_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentError:
    """Why the last attempt failed: ``card_declined`` (with a ``decline_code``), or an ACH
    failure code such as ``insufficient_funds``, ``account_closed``, ``no_account``."""

    code: str | None
    decline_code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    id: str
    status: str  # requires_payment_method, requires_action, processing, succeeded, canceled, ...
    amount_minor: int
    amount_received_minor: int
    currency: str  # ISO 4217, upper case
    client_secret: str | None
    customer_id: str | None
    payment_id: str | None  # the portal's payment id, from metadata
    invoice_numbers: tuple[str, ...] = ()
    last_error: PaymentError | None = None
    card: CardSummary | None = None
    charge_id: str | None = None
    payment_method_type: str | None = None  # card, us_bank_account
    bank_account: BankAccountSummary | None = None
    mandate_id: str | None = None

    @property
    def requires_action(self) -> bool:
        """True when the payer must act: 3-D Secure, or (ACH) verify micro-deposits."""
        return self.status == "requires_action"

    @property
    def is_ach(self) -> bool:
        """True for an ACH Direct Debit: ``processing`` for days, returnable after success."""
        return self.payment_method_type == US_BANK_ACCOUNT


@dataclass(frozen=True, slots=True)
class SetupIntent:
    id: str
    status: str
    client_secret: str | None
    customer_id: str | None
    payment_method_id: str | None = None
    mandate_id: str | None = None
    last_error: PaymentError | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified event; ``object`` is ``data.object`` as plain JSON, for the caller to check."""

    id: str
    type: str
    created: int
    livemode: bool
    object: dict[str, Any] = field(default_factory=dict)


class StripeGateway:
    """Stripe, as the portal uses it; build one with :meth:`from_config`."""

    def __init__(self, client: stripe.StripeClient, *, publishable_key: str, js_url: str,
                 webhook_secret: str) -> None:
        self._client = client
        self.publishable_key = publishable_key
        self.js_url = js_url
        self._webhook_secret = webhook_secret

    @classmethod
    def from_config(cls, config: Config) -> StripeGateway:
        """Build the gateway for ``config``: Stripe's API, or the local one if a base is set."""
        if not config.stripe_secret_key:
            raise NotConfigured("PORTAL_STRIPE_SECRET_KEY is not set")
        base = config.stripe_api_base.rstrip("/")
        client = stripe.StripeClient(
            config.stripe_secret_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=NETWORK_RETRIES,
        )
        return cls(client, publishable_key=config.stripe_publishable_key,
                   js_url=js_url_for(config), webhook_secret=config.stripe_webhook_secret)

    # Customers -------------------------------------------------------------------------

    def ensure_customer(self, portal_customer_id: int | str, *, name: str,
                        email: str | None = None, known_id: str | None = None) -> StripeCustomer:
        """Return the Stripe customer of a portal customer account, creating it once.

        ``known_id`` is the id the portal stored from an earlier call; without it the
        creation's idempotency key (from the portal's id) makes a retry return the same
        customer, so a crash between creating and storing does not make a second one.
        """
        portal_id = str(portal_customer_id)
        key = f"portal-customer-{portal_id}"
        if known_id:
            found = self._existing_customer(known_id, portal_id)
            if found is not None:
                return found
            key = f"{key}-replacing-{known_id}"
        params: dict[str, Any] = {"name": name, "metadata": {META_CUSTOMER_ID: portal_id}}
        if email:
            params["email"] = email
        with _translated_errors():
            customer = self._client.v1.customers.create(params, {"idempotency_key": key})
        return _customer(customer.to_dict())

    def _existing_customer(self, customer_id: str, portal_id: str) -> StripeCustomer | None:
        try:
            with _translated_errors():
                data = self._client.v1.customers.retrieve(customer_id).to_dict()
        except NotFound:
            return None
        if data.get("deleted"):
            return None
        found = _customer(data)
        if found.portal_customer_id != portal_id:
            raise GatewayError(f"Stripe customer {customer_id} belongs to portal customer "
                               f"{found.portal_customer_id!r}, not {portal_id!r}")
        return found

    # PaymentIntents --------------------------------------------------------------------

    def create_payment_intent(self, amount_minor: int, currency: str, customer: str,
                              payment_id: int | str, invoice_numbers: Sequence[str],
                              idempotency_key: str, payment_method: str | None = None,
                              off_session: bool = False, save_card: bool = False,
                              ) -> PaymentIntent:
        """Create the PaymentIntent of a portal payment; confirm it at once with a saved card.

        A decline is an outcome, not an error: the PaymentIntent comes back with
        ``status="requires_payment_method"`` and :attr:`PaymentIntent.last_error`.
        """
        params = _payment_intent_params(amount_minor, currency, customer, payment_id,
                                        invoice_numbers, payment_method, off_session, save_card)
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        try:
            with _translated_errors(card_errors=False):
                intent = self._client.v1.payment_intents.create(params, options)
        except stripe.CardError as error:
            declined = _error_body(error).get("payment_intent") or {}
            if not declined.get("id"):
                raise _card_declined(error) from error
            return self.retrieve_payment_intent(declined["id"])
        return _payment_intent(intent.to_dict())

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        """Ask Stripe for a PaymentIntent's current state (return page, reconciliation)."""
        with _translated_errors():
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent_id, {"expand": _EXPAND})
        return _payment_intent(intent.to_dict())

    def cancel_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        """Cancel a PaymentIntent that has not succeeded."""
        with _translated_errors():
            intent = self._client.v1.payment_intents.cancel(
                payment_intent_id, {"expand": _EXPAND})
        return _payment_intent(intent.to_dict())

    # Saved cards -----------------------------------------------------------------------

    def create_setup_intent(self, customer: str, idempotency_key: str | None = None,
                            ) -> SetupIntent:
        """Start saving a card for ``customer``; the browser confirms it with Stripe.js.

        The key is optional: a SetupIntent moves no money, and an unconfirmed one is
        harmless (stripe-python still sends a random key so its retries are safe).
        """
        params: dict[str, Any] = {"customer": customer, "usage": "off_session",
                                  "payment_method_types": ["card"]}
        options: stripe.RequestOptions = (
            {"idempotency_key": idempotency_key} if idempotency_key else {})
        with _translated_errors():
            intent = self._client.v1.setup_intents.create(params, options)
        return _setup_intent(intent.to_dict())

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """The SetupIntent as Stripe has it now (the browser confirmed it with Stripe.js)."""
        with _translated_errors():
            intent = self._client.v1.setup_intents.retrieve(setup_intent_id)
        return _setup_intent(intent.to_dict())

    def list_saved_cards(self, customer: str) -> list[CardSummary]:
        """Return the cards saved for ``customer`` (at most 100: more is not a real case)."""
        with _translated_errors():
            page = self._client.v1.payment_methods.list(
                {"customer": customer, "type": "card", "limit": 100})
        return [_card(item) for item in page.to_dict().get("data", [])]

    def detach_card(self, payment_method_id: str, customer: str) -> None:
        """Remove a saved card, if it is ``customer``'s (else :class:`NotFound`)."""
        with _translated_errors():
            method = self._client.v1.payment_methods.retrieve(payment_method_id).to_dict()
            if _id_of(method.get("customer")) != customer:
                raise NotFound(f"card {payment_method_id} is not saved for {customer}")
            self._client.v1.payment_methods.detach(payment_method_id)

    # Bank accounts and ACH debits -----------------------------------------------------

    def attach_bank_token(self, customer: str, token: str,
                          idempotency_key: str) -> BankAccountSummary:
        """Save a bank account token (``btok_``, minted by Plaid) on ``customer``.

        Plaid verified the account, so the bank account comes back ``verified``; a
        token is single use (``token_already_used``), and the same account twice is
        ``bank_account_exists``.
        """
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        with _translated_errors():
            source = self._client.v1.customers.payment_sources.create(
                customer, {"source": token}, options)
        return _bank_account(source.to_dict())

    def create_bank_payment_method(self, customer: str, routing_number: str,
                                   account_number: str, holder_name: str,
                                   holder_type: str = "company",
                                   account_type: str = "checking",
                                   idempotency_key: str | None = None) -> BankAccountSummary:
        """Create a ``us_bank_account`` PaymentMethod from numbers the payer typed in.

        It is not attached yet: :meth:`start_microdeposits` verifies it and attaches it
        to ``customer`` (named in its metadata until then, so only that customer can
        remove it). A bad routing number is ``routing_number_invalid``. The key is
        optional, as for :meth:`create_setup_intent`: an unused PaymentMethod is harmless.
        """
        params: dict[str, Any] = {
            "type": US_BANK_ACCOUNT,
            "us_bank_account": {"routing_number": routing_number,
                                "account_number": account_number,
                                "account_holder_type": holder_type,
                                "account_type": account_type},
            "billing_details": {"name": holder_name},  # required for ACH Direct Debit
            "metadata": {META_STRIPE_CUSTOMER: customer},
        }
        options: stripe.RequestOptions = (
            {"idempotency_key": idempotency_key} if idempotency_key else {})
        with _translated_errors():
            method = self._client.v1.payment_methods.create(params, options)
        return _bank_account(method.to_dict())

    def start_microdeposits(self, customer: str, payment_method: str,
                            acceptance: MandateAcceptance,
                            idempotency_key: str) -> MicrodepositSetup:
        """Confirm a SetupIntent for ``payment_method`` with the payer's mandate acceptance:
        Stripe sends micro-deposits (``requires_action``) unless it is verified already."""
        params: dict[str, Any] = {
            "customer": customer,
            "payment_method": payment_method,
            "payment_method_types": [US_BANK_ACCOUNT],
            "payment_method_options": {US_BANK_ACCOUNT: {"verification_method":
                                                         "microdeposits"}},
            "mandate_data": _mandate_data(acceptance),
            "usage": "off_session",  # later debits (autopay) run under this mandate
            "confirm": True,
        }
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        with _translated_errors():
            data = self._client.v1.setup_intents.create(params, options).to_dict()
        action = (data.get("next_action") or {}).get("verify_with_microdeposits") or {}
        arrival = action.get("arrival_date")
        return MicrodepositSetup(
            setup_intent_id=data["id"], status=data["status"],
            payment_method_id=_id_of(data.get("payment_method")),
            arrival_date=datetime.fromtimestamp(arrival, UTC) if arrival else None,
            microdeposit_type=action.get("microdeposit_type"),
            hosted_verification_url=action.get("hosted_verification_url"),
            mandate_id=_id_of(data.get("mandate")))

    def verify_microdeposits(self, setup_intent_id: str, amounts: Sequence[int] | None = None,
                             descriptor_code: str | None = None) -> SetupIntent:
        """Match the micro-deposits: their two amounts in cents, or the ``SM`` code.

        A mismatch, or too many attempts, raises :class:`MicrodepositsRejected`.
        """
        if (amounts is None) == (descriptor_code is None):
            raise ValueError("give either the two amounts or the descriptor code")
        params: dict[str, Any] = ({"amounts": [int(a) for a in amounts]} if amounts is not None
                                  else {"descriptor_code": descriptor_code})
        with _translated_errors():
            intent = self._client.v1.setup_intents.verify_microdeposits(setup_intent_id, params)
        return _setup_intent(intent.to_dict())

    def create_ach_payment_intent(self, amount_minor: int, currency: str, customer: str,
                                  payment_method: str, acceptance: MandateAcceptance | None,
                                  payment_id: int | str, invoice_numbers: Sequence[str],
                                  idempotency_key: str, off_session: bool = False,
                                  ) -> PaymentIntent:
        """Debit a verified bank account (``ba_`` or ``pm_``): ``processing`` until the bank
        answers. ``acceptance`` is required for the first debit; later ones (autopay
        with ``off_session``) run under the mandate it made."""
        params = _payment_intent_params(amount_minor, currency, customer, payment_id,
                                        invoice_numbers, payment_method, off_session,
                                        save_card=False, method_type=US_BANK_ACCOUNT)
        if acceptance is not None:
            params["mandate_data"] = _mandate_data(acceptance)
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        with _translated_errors():
            intent = self._client.v1.payment_intents.create(params, options)
        return _payment_intent(intent.to_dict())

    def list_bank_accounts(self, customer: str) -> list[BankAccountSummary]:
        """Return ``customer``'s bank accounts: linked ones (sources), then typed-in ones."""
        with _translated_errors():
            sources = self._client.v1.customers.payment_sources.list(
                customer, {"object": "bank_account", "limit": 100}).to_dict()
            methods = self._client.v1.payment_methods.list(
                {"customer": customer, "type": US_BANK_ACCOUNT, "limit": 100}).to_dict()
        return [_bank_account(item) for item in
                [*sources.get("data", []), *methods.get("data", [])]]

    def detach_bank_account(self, customer: str, bank_account_id: str) -> None:
        """Remove a bank account (source or PaymentMethod) if it is ``customer``'s, else
        :class:`NotFound`."""
        with _translated_errors():
            if bank_account_id.startswith("ba_"):
                self._client.v1.customers.payment_sources.delete(customer, bank_account_id)
                return
            method = self._client.v1.payment_methods.retrieve(bank_account_id).to_dict()
            owner = _id_of(method.get("customer")) or (
                (method.get("metadata") or {}).get(META_STRIPE_CUSTOMER))
            if method.get("type") != US_BANK_ACCOUNT or owner != customer:
                raise NotFound(f"bank account {bank_account_id} is not {customer}'s")
            if method.get("customer"):
                self._client.v1.payment_methods.detach(bank_account_id)

    # Webhooks --------------------------------------------------------------------------

    def construct_event(self, payload: bytes | str, signature_header: str | None,
                        tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> WebhookEvent:
        """Verify a webhook's signature and timestamp, then parse it; else WebhookSignatureError."""
        if not self._webhook_secret:
            raise WebhookSignatureError("no webhook signing secret is configured")
        try:
            stripe.WebhookSignature.verify_header(payload, signature_header,
                                                  self._webhook_secret, tolerance)
        except stripe.SignatureVerificationError as error:
            raise WebhookSignatureError(str(error.user_message or error)) from None
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        try:
            data = json.loads(text)
            return WebhookEvent(id=str(data["id"]), type=str(data["type"]),
                                created=int(data["created"]),
                                livemode=bool(data.get("livemode", False)),
                                object=dict(data["data"]["object"]))
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookSignatureError(f"signed payload is not a Stripe event: {error}") from None


def js_url_for(config: Config) -> str:
    """Return the Stripe.js the pages load: Stripe's own, or the local server's stand-in."""
    base = config.stripe_api_base.rstrip("/")
    return f"{base}/js.stripe.com/v3/" if base else STRIPE_JS_URL


# Parameters out ------------------------------------------------------------------------


def _payment_intent_params(amount_minor: int, currency: str, customer: str,
                           payment_id: int | str, invoice_numbers: Sequence[str],
                           payment_method: str | None, off_session: bool,
                           save_card: bool, method_type: str = CARD) -> dict[str, Any]:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError(f"amount must be a positive whole number of minor units, "
                         f"not {amount_minor!r}")
    if off_session and not payment_method:
        raise ValueError("an off-session payment needs a saved payment method")
    params: dict[str, Any] = {
        "amount": amount_minor,
        "currency": currency.lower(),
        "customer": customer,
        "payment_method_types": [method_type],
        "metadata": _payment_metadata(payment_id, invoice_numbers),
        "expand": _EXPAND,
    }
    if save_card:
        params["setup_future_usage"] = "off_session"
    if payment_method:
        params.update(payment_method=payment_method, confirm=True)
        if off_session:
            params["off_session"] = True
    return params


def _mandate_data(acceptance: MandateAcceptance) -> dict[str, Any]:
    """The payer's online acceptance (https://docs.stripe.com/api/payment_intents/create
    #create_payment_intent-mandate_data)."""
    if acceptance.accepted_at.tzinfo is None:
        raise ValueError("accepted_at must be an aware datetime")
    return {"customer_acceptance": {
        "type": "online", "accepted_at": int(acceptance.accepted_at.timestamp()),
        "online": {"ip_address": acceptance.ip_address, "user_agent": acceptance.user_agent}}}


def _payment_metadata(payment_id: int | str, invoice_numbers: Sequence[str]) -> dict[str, str]:
    """Name the payment and its invoices; the list is cut (whole numbers) at Stripe's limit."""
    shown: list[str] = []
    for number in invoice_numbers:
        if len(",".join([*shown, number])) > META_VALUE_LIMIT:
            break
        shown.append(number)
    return {META_PAYMENT_ID: str(payment_id), META_INVOICES: ",".join(shown),
            META_INVOICE_COUNT: str(len(invoice_numbers))}


# Objects in ----------------------------------------------------------------------------


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object with an id."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _customer(data: dict[str, Any]) -> StripeCustomer:
    metadata = data.get("metadata") or {}
    return StripeCustomer(id=data["id"], portal_customer_id=str(metadata.get(META_CUSTOMER_ID, "")),
                          name=data.get("name"), email=data.get("email"))


def _card(method: dict[str, Any]) -> CardSummary:
    card = method.get("card") or {}
    return CardSummary(payment_method_id=method["id"], brand=str(card.get("brand", "")),
                       last4=str(card.get("last4", "")), exp_month=card.get("exp_month"),
                       exp_year=card.get("exp_year"))


def _bank_account(data: dict[str, Any]) -> BankAccountSummary:
    """A bank account source (``object=bank_account``) or a us_bank_account PaymentMethod."""
    if data.get("object") == "bank_account":
        return BankAccountSummary(
            id=data["id"], bank_name=data.get("bank_name"), last4=str(data.get("last4", "")),
            routing_number=data.get("routing_number"), status=str(data.get("status") or "new"),
            holder_name=data.get("account_holder_name"),
            holder_type=data.get("account_holder_type"),
            account_type=data.get("account_type"), fingerprint=data.get("fingerprint"))
    bank = data.get(US_BANK_ACCOUNT) or {}
    return BankAccountSummary(
        id=data["id"], bank_name=bank.get("bank_name"), last4=str(bank.get("last4", "")),
        routing_number=bank.get("routing_number"),
        status="verified" if data.get("customer") else "new",
        holder_name=(data.get("billing_details") or {}).get("name"),
        holder_type=bank.get("account_holder_type"), account_type=bank.get("account_type"),
        fingerprint=bank.get("fingerprint"))


def _method_type(method: Any) -> str | None:
    """``card`` or ``us_bank_account`` of an expanded payment method (a ``ba_`` source
    stands in for a us_bank_account PaymentMethod)."""
    if not isinstance(method, dict):
        return None
    return US_BANK_ACCOUNT if method.get("object") == "bank_account" else method.get("type")


def _setup_intent(data: dict[str, Any]) -> SetupIntent:
    return SetupIntent(id=data["id"], status=data["status"],
                       client_secret=data.get("client_secret"),
                       customer_id=_id_of(data.get("customer")),
                       payment_method_id=_id_of(data.get("payment_method")),
                       mandate_id=_id_of(data.get("mandate")),
                       last_error=_payment_error(data.get("last_setup_error")))


def _payment_error(error: dict[str, Any] | None) -> PaymentError | None:
    if not error:
        return None
    return PaymentError(code=error.get("code"), decline_code=error.get("decline_code"),
                        message=str(error.get("message") or "The payment failed."))


def _payment_intent(data: dict[str, Any]) -> PaymentIntent:
    metadata = data.get("metadata") or {}
    error = data.get("last_payment_error") or {}
    # After a decline Stripe clears payment_method; the error names the one that failed.
    method = data.get("payment_method") or error.get("payment_method")
    charge = data.get("latest_charge")
    details = (charge.get("payment_method_details") or {}) if isinstance(charge, dict) else {}
    kind = _method_type(method) or details.get("type") or error.get("payment_method_type")
    invoices = metadata.get(META_INVOICES) or ""
    return PaymentIntent(
        id=data["id"],
        status=data["status"],
        amount_minor=int(data["amount"]),
        amount_received_minor=int(data.get("amount_received") or 0),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret"),
        customer_id=_id_of(data.get("customer")),
        payment_id=metadata.get(META_PAYMENT_ID),
        invoice_numbers=tuple(n for n in invoices.split(",") if n),
        last_error=_payment_error(error),
        card=_card(method) if kind == CARD and isinstance(method, dict) else None,
        charge_id=_id_of(charge),
        payment_method_type=kind,
        bank_account=(_bank_account(method) if kind == US_BANK_ACCOUNT
                      and isinstance(method, dict) else None),
        mandate_id=(details.get(US_BANK_ACCOUNT) or {}).get("mandate"),
    )


# Errors --------------------------------------------------------------------------------

_MICRODEPOSIT_ERRORS = "payment_method_microdeposit_verification_"


def _error_body(error: stripe.StripeError) -> dict[str, Any]:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    return body.get("error") or {}


def _card_declined(error: stripe.StripeError) -> CardDeclined:
    body = _error_body(error)
    return CardDeclined(str(body.get("message") or error.user_message or "declined"),
                        code=body.get("code"), decline_code=body.get("decline_code"))


@contextmanager
def _translated_errors(card_errors: bool = True) -> Iterator[None]:
    """Turn stripe-python's errors into the portal's (card errors too, unless asked not to)."""
    try:
        yield
    except stripe.IdempotencyError as error:
        raise IdempotencyConflict(str(error.user_message or error), code="idempotency_error",
                                  http_status=error.http_status) from error
    except stripe.CardError as error:
        if not card_errors:
            raise
        raise _card_declined(error) from error
    except stripe.StripeError as error:
        body = _error_body(error)
        message = str(body.get("message") or error.user_message or error)
        code = body.get("code")
        kind = (NotFound if error.http_status == 404
                else MicrodepositsRejected if str(code).startswith(_MICRODEPOSIT_ERRORS)
                else GatewayError)
        raise kind(message, code=code, http_status=error.http_status) from error
