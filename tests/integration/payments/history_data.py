"""The payment history's test data, made through the ledger's API: Acme with a card payment
(two invoices, one with an early-pay discount), a check that short-pays one invoice and
leaves the rest as credit, an ACH payment still processing and a declined card; Globex
with a wire. Plain functions, so the history and receipt tests share them without a
conftest of their own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from portal import ledger
from portal.accounts import services
from portal.ledger.models import Customer
from portal.payments.models import CardPayment
from portal.vendor.services import update_vendor
from tests.integration.accounts.conftest import PASSWORD, Browser

VENDOR = {
    "name": "Northwind Industrial Supply",
    "legal_name": "Northwind Industrial Supply, Inc.",
    "remit_to": "Northwind Industrial Supply, Inc.\nP.O. Box 74120\nCleveland, OH 44194-4120",
    "support_email": "ar@northwind.example",
    "timezone": "America/New_York",
}
# The check came in 60 days ago (noon UTC: the same day in New York); the portal's
# payments are started now, so the check is the oldest on the list.
CHECK_RECEIVED = dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=60),
                                     dt.time(12), tzinfo=dt.UTC)


@dataclasses.dataclass
class World:
    acme_id: int
    globex_id: int
    card: int  # succeeded: A-100 in full, A-200 with a $10.00 discount; Visa 4242
    check: int  # succeeded: CHK-1001, A-300 short-paid (damaged), $150.00 to credit
    ach: int  # processing: A-400
    declined: int  # failed: A-500, card_declined
    wire: int  # Globex's


def _invoice(s, customer: Customer, number: str, total: int, terms: str = "net 30"):
    return ledger.create_invoice(s, ledger.InvoiceInput(
        number=number, customer_id=customer.id, issue_date=dt.date(2026, 11, 1),
        currency="USD", terms=terms, lines=[ledger.LineInput("Bearings", total)]))


def _users(s, customer: Customer, *people: tuple[str, str, str, str | None]) -> None:
    for email, name, role, locale in people:
        user = services.create_user(s, email=email, name=name, password=PASSWORD, locale=locale)
        services.add_membership(s, user, customer.id, role)


def _card(s, customer: Customer, by: str, parts: list[ledger.AllocationInput]) -> int:
    payment = ledger.start_payment(s, customer_id=customer.id, currency="USD", method="card",
                                   amount_minor=sum(p.amount_minor for p in parts),
                                   allocations=parts, created_by=by)
    return payment.id


def build(database) -> World:
    """Commit the vendor, Acme's and Globex's users, invoices and payments."""
    with database.unit_of_work() as uow:
        s = uow.session
        update_vendor(s, **VENDOR)
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD",
                        billing_address="Acme Corp\n1 Road Runner Way\nPhoenix, AZ 85001")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        _users(s, acme, ("payer@acme.example", "Pat Payer", "payer", None),
               ("payeur@acme.example", "Camille Payeur", "payer", "fr"),
               ("viewer@acme.example", "Vic Viewer", "viewer", None))
        _users(s, globex, ("payer@globex.example", "Gil Globex", "payer", None))
        inv = {n: _invoice(s, acme, n, total) for n, total in (
            ("A-100", 1000_00), ("A-200", 500_00), ("A-300", 300_00), ("A-400", 200_00),
            ("A-500", 100_00))}
        g1 = _invoice(s, globex, "G-100", 777_00)

        check = ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=400_00, currency="USD",
            idempotency_key="erp:chk-1001", reference="CHK-1001", received_at=CHECK_RECEIVED,
            allocations=[ledger.AllocationInput(inv["A-300"].id, 250_00,
                                                short_pay_reason="damaged",
                                                short_pay_note="Two cases arrived broken")])
        card = _card(s, acme, "payer@acme.example", [
            ledger.AllocationInput(inv["A-100"].id, 1000_00),
            ledger.AllocationInput(inv["A-200"].id, 490_00, discount_minor=10_00)])
        ledger.settle_payment(s, card, gateway_ref="pi_test_card")
        s.add(CardPayment(payment_id=card, brand="visa", last4="4242"))
        ach = ledger.start_payment(
            s, customer_id=acme.id, currency="USD", method="ach", amount_minor=200_00,
            created_by="payeur@acme.example",
            allocations=[ledger.AllocationInput(inv["A-400"].id, 200_00)]).id
        ledger.mark_payment(s, ach, "processing")
        declined = _card(s, acme, "payer@acme.example",
                         [ledger.AllocationInput(inv["A-500"].id, 100_00)])
        ledger.fail_payment(s, declined, code="card_declined", message="Your card was declined.")
        wire = ledger.record_external_payment(
            s, customer_id=globex.id, amount_minor=777_00, currency="USD",
            idempotency_key="erp:wire-9", reference="WIRE-9",
            allocations=[ledger.AllocationInput(g1.id, 777_00)])
        uow.commit()
        return World(acme.id, globex.id, card, check.entry.payment_id, ach, declined,
                     wire.entry.payment_id)


def sign_in(app, email: str = "payer@acme.example") -> Browser:
    """Return a test client signed in as ``email``."""
    browser = Browser(app.test_client())
    response = browser.sign_in(email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def ids_on(page: str) -> list[int]:
    """The payment ids listed on a page, in order."""
    return [int(n) for n in re.findall(r'<tr data-payment="(\d+)"', page)]


def flat(text: str) -> str:
    """Text with tags removed and every run of whitespace (no-break spaces too) as one space."""
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
