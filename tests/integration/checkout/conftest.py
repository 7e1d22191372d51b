"""Paying at /pay with a card: the invoice pages' world (Acme, Globex, signed-in browsers),
an app that talks to localstripe and e-mails over SMTP, and helpers to read pages.

Also: what Stripe holds (:class:`StripeDashboard`), what the ledger holds
(:func:`book_state`, :func:`nothing_written`), a second portal on the same database whose
Stripe requests go through a :class:`StripeRelay` that can lose them, and the
reconciliation sweep as the scheduler runs it (:func:`sweep`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal import ledger
from portal.app import create_app
from portal.config import Config
from portal.gateways.stripe import StripeGateway
from portal.ledger.checks import run_checks
from portal.ledger.models import (
    Allocation,
    Customer,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
    Reservation,
    utcnow,
)
from portal.payments.models import CardPayment
from portal.payments.reconcile import Summary, reconcile
from tests.integration.accounts.conftest import Browser
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    signed_in,
    world,
)

VISA = "4242424242424242"
# Declined when charged (portal.gateways.localstripe.DECLINES, as Stripe declines them).
DECLINED = "4000000000000002"  # generic_decline
INSUFFICIENT = "4000000000009995"  # insufficient_funds
# Asks for 3-D Secure first, then is declined (insufficient_funds) once the payer verified.
INSUFFICIENT_AFTER_3DS = "4000008260003178"
THREE_D_SECURE = "4000002760003184"
PAYER = "payer@acme.example"


@pytest.fixture
def config(config: Config, stripe_config: Config, smtp_sink) -> Config:
    """The suite's settings, plus localstripe and the SMTP sink."""
    return dataclasses.replace(
        config, smtp_url=smtp_sink.url, base_url="http://portal.test",
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base)


@pytest.fixture
def cart(world):  # noqa: F811
    """Acme: K-1 $1,000 on 2/10 net 30 issued two days ago; K-2 $500 overdue; K-3 $250."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        issue(s, acme, "K-1", 1000_00, issued=TODAY - dt.timedelta(days=2),
              due=TODAY + dt.timedelta(days=28), terms="2/10 net 30", po="PO-1")
        issue(s, acme, "K-2", 500_00, due=TODAY - dt.timedelta(days=20))
        issue(s, acme, "K-3", 250_00, due=TODAY + dt.timedelta(days=5))
        uow.commit()
    return world


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def csrf(page: str) -> str:
    """The page's CSRF token, for posting its form as the browser would."""
    return hidden(page, "csrf_token")


# What the page itself puts in the form: the invoices, the discount it showed for each,
# the amounts, reasons and notes filled in (or typed), and the payment's key and total.
_SHOWN_DISCOUNTS = re.compile(r'name="(shown_discount-[^"]+)" value="(\d+)"')
_INPUTS = re.compile(r'name="((?:amount|note)-[^"]+)"[^>]*?value="([^"]*)"', re.S)
_SELECTS = re.compile(r'name="(reason-[^"]+)">(.*?)</select>', re.S)
_SELECTED = re.compile(r'value="([^"]*)" selected')


def form_on(page: str, **fields) -> dict:
    """The checkout form of ``page`` as its Pay button posts it, with ``fields`` filled in."""
    form = {"invoice": re.findall(r'name="invoice" value="([^"]+)"', page),
            "checkout_key": hidden(page, "checkout_key"),
            "shown_charge": hidden(page, "shown_charge"), "card": "new",
            "csrf_token": hidden(page, "csrf_token"), "action": "pay",
            **dict(_SHOWN_DISCOUNTS.findall(page)),
            **{name: html.unescape(value) for name, value in _INPUTS.findall(page)}}
    for name, options in _SELECTS.findall(page):
        chosen = _SELECTED.search(options)
        form[name] = chosen.group(1) if chosen else ""
    form.update(fields)
    return form


# Fields the payer types on the page, which change its totals.
_TYPED = re.compile(r"(amount|reason|note)-.+|use_credit|overpay_to_credit")


def checkout_page(payer, numbers: list[str], **typed) -> str:
    """Open /pay for ``numbers``; with ``typed`` (amounts, reasons, use_credit...), enter
    them and press "Update totals"."""
    query = "&".join(f"invoice={n}" for n in numbers)
    response = payer.client.get(f"/pay?{query}")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    if typed:
        response = payer.client.post("/pay/review", data={
            "invoice": numbers, "csrf_token": hidden(page, "csrf_token"), "action": "review",
            **typed})
        assert response.status_code == 200, response.status_code
        page = response.get_data(as_text=True)
    return page


def checkout_form(payer, numbers: list[str], **fields) -> dict:
    """Open /pay for ``numbers`` and return the form to confirm, as the page would post it.

    Fields the payer types (amounts, reasons, notes, the credit and overpayment boxes)
    are entered and the totals updated first, so the page's total is theirs.
    """
    typed = {name: value for name, value in fields.items() if _TYPED.fullmatch(name)}
    return form_on(checkout_page(payer, numbers, **typed), **fields)


def pay(payer, form: dict):
    """POST the checkout to /pay/confirm (the Pay button)."""
    return payer.client.post("/pay/confirm", data=form)


def invoice(book, number: str) -> tuple[int, int, str]:
    with book.session() as uow:
        row = uow.session.scalars(select(Invoice).where(Invoice.number == number)).one()
        return row.balance_minor, row.reserved_minor, row.status


def payments_of(book) -> list[Payment]:
    with book.session() as uow:
        rows = list(uow.session.scalars(select(Payment).order_by(Payment.id)))
        uow.session.expunge_all()
        return rows


def ledger_ok(book) -> None:
    with book.session() as uow:
        result = run_checks(uow.session)
    assert result.ok, result.violation


def card_payment(book, payment_id: int) -> CardPayment:
    with book.session() as uow:
        row = uow.session.get(CardPayment, payment_id)
        uow.session.expunge(row)
        return row


def allocations(book, payment_id: int) -> list[tuple]:
    """(invoice, cash, discount, short-pay reason, note) per invoice the payment paid."""
    with book.session() as uow:
        rows = uow.session.execute(
            select(Invoice.number, Allocation.amount_minor, Allocation.discount_minor,
                   Allocation.short_pay_reason, Allocation.short_pay_note)
            .join(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Allocation.payment_id == payment_id).order_by(Invoice.number))
        return [tuple(row) for row in rows]


def journal(book, kind: str) -> list[list[tuple[str, str | None, int]]]:
    """The entries of ``kind``, oldest first: each its lines as (account, invoice, amount)."""
    with book.session() as uow:
        rows = uow.session.execute(
            select(JournalLine.entry_id, JournalLine.account, Invoice.number,
                   JournalLine.amount_minor)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .outerjoin(Invoice, Invoice.id == JournalLine.invoice_id)
            .where(JournalEntry.kind == kind, JournalLine.amount_minor != 0)
            .order_by(JournalLine.entry_id, JournalLine.account, Invoice.number))
        entries: dict[int, list] = {}
        for entry_id, account, number, amount in rows:
            entries.setdefault(entry_id, []).append((account, number, amount))
        return list(entries.values())


def give_credit(book, amount_minor: int) -> None:
    """Acme wires ``amount_minor`` more than it owes: the ERP records it as account credit."""
    with book.session() as uow:
        ledger.record_external_payment(
            uow.session, customer_id=book.acme_id, amount_minor=amount_minor, currency="USD",
            idempotency_key=f"erp:wire:{amount_minor}", reference="wire, unapplied")
        uow.commit()


def credit(book) -> int:
    """Acme's unapplied credit."""
    with book.session() as uow:
        return ledger.customer_credit(uow.session, book.acme_id, "USD")


def book_state(book) -> dict:
    """Everything a checkout may write: payments, what they reserve, the journal, invoices.

    (Not the account's Stripe customer: step 1 of the checkout keeps it once created.)
    """
    with book.session() as uow:
        s = uow.session

        def count(model) -> int:
            return s.scalar(select(func.count()).select_from(model))

        return {"payments": count(Payment), "reservations": count(Reservation),
                "card_payments": count(CardPayment), "entries": count(JournalEntry),
                "invoices": [tuple(row) for row in s.execute(
                    select(Invoice.number, Invoice.balance_minor, Invoice.reserved_minor,
                           Invoice.status).order_by(Invoice.number))]}


@contextmanager
def nothing_written(book, dashboard: StripeDashboard) -> Iterator[None]:
    """Assert that what runs inside changes nothing in the ledger and charges nothing."""
    before, intents = book_state(book), len(dashboard.payment_intents())
    yield
    assert book_state(book) == before
    assert len(dashboard.payment_intents()) == intents, "a PaymentIntent was created"


def receipts(smtp_sink, address: str = PAYER) -> list[str]:
    """The plain text of every receipt e-mailed to ``address``."""
    return [smtp_sink.text(m) for m in smtp_sink.to(address)
            if "received your payment" in smtp_sink.text(m)]


# Stripe's side ------------------------------------------------------------------------------


@dataclasses.dataclass
class StripeDashboard:
    """What the vendor would see in Stripe's Dashboard: the objects at localstripe."""

    base_url: str
    secret_key: str

    def payment_intents(self) -> list[dict]:
        return self._list("payment_intents")

    def charges(self) -> list[dict]:
        return self._list("charges")

    def _list(self, kind: str) -> list[dict]:
        request = urllib.request.Request(f"{self.base_url}/v1/{kind}?limit=100",
                                         headers={"Authorization": f"Bearer {self.secret_key}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["data"]


@pytest.fixture
def stripe_dashboard(stripe_config: Config) -> StripeDashboard:
    return StripeDashboard(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)


def verify_with_bank(stripe_js, client_secret: str, success: bool = True) -> None:
    """What the authentication page's script does: Stripe.js's 3-D Secure step.

    A card declined after verification comes back to Stripe.js as an error (402); the
    page goes to the return URL either way, where the portal asks Stripe.
    """
    try:
        stripe_js.authenticate(client_secret, success)
    except AssertionError as error:
        if ": 402 " not in str(error):
            raise


# Stripe that does not answer -----------------------------------------------------------------

# What a StripeRelay loses: the PaymentIntent's creation after Stripe acted on it (its
# answer) or before (the request); or every request, as if Stripe were down.
LOSE_ANSWER, LOSE_REQUEST, LOSE_ALL = "answer", "request", "all"


class StripeRelay(ThreadingHTTPServer):
    """A hop between the portal and localstripe that passes requests on, except those it
    loses: their connection is closed without an answer, as in a network failure."""

    def __init__(self, upstream: str, lose: str) -> None:
        self.upstream = upstream
        self.lose = lose
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def lost(self, method: str, path: str) -> str | None:
        """What is lost of this request: LOSE_REQUEST, LOSE_ANSWER, or None."""
        if self.lose == LOSE_ALL:
            return LOSE_REQUEST
        creates_intent = method == "POST" and path.split("?")[0] == "/v1/payment_intents"
        return self.lose if creates_intent else None

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(10)


class _RelayHandler(BaseHTTPRequestHandler):
    server: StripeRelay

    def do_GET(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        lost = self.server.lost(self.command, self.path)
        answer = self._forward(body) if lost != LOSE_REQUEST else None
        if answer is None or lost == LOSE_ANSWER:
            self.close_connection = True  # no answer at all
            return
        status, content_type, payload = answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_DELETE = do_GET

    def _forward(self, body: bytes) -> tuple[int, str, bytes]:
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection",
                                        "accept-encoding")}
        request = urllib.request.Request(self.server.upstream + self.path, method=self.command,
                                         data=body if self.command != "GET" else None,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def relayed(app, localstripe) -> Iterator:
    """``relayed(lose)``: a Browser signed in to a second portal on this test's database
    and clock, whose requests to Stripe pass a :class:`StripeRelay` losing ``lose``."""
    opened: list[tuple[StripeRelay, object]] = []

    def sign_in(lose: str, email: str = PAYER) -> Browser:
        relay = StripeRelay(localstripe.url, lose)
        other = create_app(dataclasses.replace(app.config["PORTAL"], stripe_api_base=relay.url))
        opened.append((relay, other))
        browser = Browser(other.test_client())
        assert browser.sign_in(email).status_code == 302
        return browser

    yield sign_in
    for relay, other in opened:
        other.extensions["portal.db"].dispose()
        relay.stop()


def sweep(app, older_than_minutes: int = 0) -> Summary:
    """The reconciliation sweep, as the scheduled task runs it (in the app's context)."""
    with app.app_context():
        return reconcile(app.extensions["portal.db"],
                         StripeGateway.from_config(app.config["PORTAL"]), older_than_minutes)


def backdate(book, payment_id: int, hours: int) -> None:
    """Make a payment ``hours`` old (created_at in the database)."""
    with book.session() as uow:
        uow.session.get(Payment, payment_id).created_at = utcnow() - dt.timedelta(hours=hours)
        uow.commit()
