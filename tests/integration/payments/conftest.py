"""Fixtures for settlement tests: the gateways' localstripe, an app that uses it and SMTP,
real ledger rows, card payments made through :class:`StripeGateway`, and Stripe's
webhook deliveries caught as localstripe sends them.

The localstripe fixtures come from :mod:`tests.stripe_fixtures` (loaded by
tests/conftest.py): ``localstripe`` (one server per worker), ``stripe_config``
(fresh keys, state emptied per test) and ``stripe_js`` (what Stripe.js does in the
payer's browser).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from portal import ledger
from portal.app import create_app
from portal.config import Config
from portal.db import Database
from portal.gateways.stripe import PaymentIntent, StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import Invoice, JournalEntry
from tests import builders
from tests.stripe_fixtures import Receiver, StripeJs, webhook_receiver

VISA = "4242424242424242"
DECLINED = "4000000000000341"  # saves fine, every charge is declined
THREE_D_SECURE = "4000002760003184"
SUPPORT_EMAIL = "ar-support@vendor.example"


@pytest.fixture
def card_app(config: Config, stripe_config: Config, smtp_sink):
    """The portal on this test's database, talking to localstripe, e-mailing over SMTP."""
    application = create_app(dataclasses.replace(
        config, smtp_url=smtp_sink.url, base_url="http://portal.test",
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base))
    yield application
    application.extensions["portal.db"].dispose()


@pytest.fixture
def card_db(card_app) -> Database:
    return card_app.extensions["portal.db"]


@pytest.fixture
def gateway(stripe_config: Config) -> StripeGateway:
    return StripeGateway.from_config(stripe_config)


@dataclasses.dataclass
class Book:
    """A customer with invoices, and its Stripe customer."""

    customer_id: int
    stripe_customer: str
    invoice_ids: list[int]
    invoice_numbers: list[str]


def open_book(database: Database, gateway: StripeGateway, *totals: int) -> Book:
    """Commit a customer with invoices of ``totals``; create its Stripe customer."""
    with database.unit_of_work() as unit:
        customer = builders.customer(unit.session)
        invoices = [builders.invoice(unit.session, customer, total) for total in totals]
        unit.commit()
    stripe_customer = gateway.ensure_customer(customer.id, name=customer.name).id
    return Book(customer.id, stripe_customer, [i.id for i in invoices],
                [i.number for i in invoices])


def start_payment(database: Database, book: Book, amounts: list[int],
                  amount: int | None = None) -> int:
    """Start a card payment of ``amounts`` on the book's invoices, in order (0: skip it)."""
    with database.unit_of_work() as unit:
        payment = ledger.start_payment(
            unit.session, customer_id=book.customer_id, currency="USD", method="card",
            amount_minor=amount or sum(amounts), created_by="clerk@acme.example",
            allocations=[ledger.AllocationInput(invoice_id, minor)
                         for invoice_id, minor in zip(book.invoice_ids, amounts, strict=False)
                         if minor])
        unit.commit()
    return payment.id


def charge(database: Database, gateway: StripeGateway, stripe_js: StripeJs,
           book: Book, payment_id: int, amount: int, number: str = VISA) -> PaymentIntent:
    """Pay ``amount`` with a test card, as checkout does; store the PaymentIntent's id."""
    method = stripe_js.create_card(number)
    if number == DECLINED:  # the card must be saved before a charge can be declined
        setup = gateway.create_setup_intent(book.stripe_customer)
        stripe_js.confirm_card_setup(setup.client_secret, method)
    intent = gateway.create_payment_intent(
        amount, "USD", book.stripe_customer, payment_id=payment_id,
        invoice_numbers=book.invoice_numbers, idempotency_key=f"payment-{payment_id}",
        payment_method=method)
    with database.unit_of_work() as unit:
        ledger.mark_payment(unit.session, payment_id, "pending", gateway_ref=intent.id)
        unit.commit()
    return intent


def assert_ledger_ok(database: Database) -> None:
    with database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation


def settlements(database: Database, payment_id: int, kind: str = "payment_settled") -> int:
    with database.session() as session:
        return len(session.query(JournalEntry).filter_by(payment_id=payment_id, kind=kind).all())


def invoice_state(database: Database, invoice_id: int) -> tuple[int, int, str]:
    with database.session() as session:
        invoice = session.get(Invoice, invoice_id)
        return invoice.balance_minor, invoice.reserved_minor, invoice.status


@pytest.fixture
def deliveries(localstripe, stripe_config) -> Iterator[Receiver]:
    """localstripe's signed payment_intent.* deliveries, caught for the test to post."""
    with webhook_receiver(localstripe, stripe_config, "settlement-tests",
                          ["payment_intent.succeeded",
                           "payment_intent.payment_failed"]) as receiver:
        yield receiver
