"""Two clerks pressing Pay on the same invoice at the same moment (PostgreSQL).

Acme's payer and admin, each in their own signed-in browser, open the checkout
for the same invoice, each with a real card from Stripe.js, and post
``/pay/confirm`` together. Between the quote and the reservation the other may
have reserved the invoice; ``start_payment`` locks the invoice row and re-reads
it (DESIGN.md, ledger rule 7), so the two together never reserve, charge or pay
more than its balance. The clerk who comes second is told so on a refusal page
(422, "nothing was paid"), never a server error, and Stripe is asked for one
charge only.

Each race runs in two ways, a few rounds each on a fresh invoice:

- ``barrier``: the two POSTs start together and run as they will. (In practice
  both quotes are done before either reservation: the account's Stripe customer
  row, locked by each in turn between quote and reservation, lines them up.)
- ``row_lock``: the test also holds the invoice's row lock until PostgreSQL
  reports both requests waiting for it (``pg_blocking_pids``), so both quotes are
  done and both requests reach the ledger together: the refusal must come from
  the ledger's re-read, whatever the timing.

The last test is the race on an account's very first card payment, when its
Stripe customer row does not exist yet: the account's row is locked first, so one
link is written and both payments go through.

SQLite is left out: its units of work hold the database's write lock from their
first statement, so two checkouts never overlap there.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.config import Config
from portal.gateways.stripe import StripeGateway
from portal.ledger.models import Customer, Invoice, Payment, Reservation
from portal.payments import card_checkout
from portal.payments.models import StripeCustomerLink
from tests.integration.checkout.conftest import (
    TODAY,
    VISA,
    checkout_form,
    hidden,
    invoice,
    issue,
    ledger_ok,
    pay,
)
from tests.integration.checkout.conftest import text as page_text

pytestmark = pytest.mark.postgres

# A bound that only stops a broken test from hanging; nothing is timed.
PATIENCE_S = 30
ROUNDS = 3
CLERKS = ("payer@acme.example", "admin@acme.example")


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: row locks are what this module is about."""
    return pg_database_url


@dataclass
class Attempt:
    """One clerk's POST to /pay/confirm: the response, or what escaped the app."""

    clerk: str
    status: int | None = None
    location: str | None = None
    page: str = ""
    error: BaseException | None = None


def race(clerks: list, forms: list[dict], gate: Callable[[], object]) -> list[Attempt]:
    """POST each clerk's form at once (a barrier) while ``gate`` runs; return the attempts."""
    barrier = threading.Barrier(len(clerks), timeout=PATIENCE_S)

    def one(clerk, form: dict) -> Attempt:
        attempt = Attempt(clerk.email)
        try:
            barrier.wait()
            response = pay(clerk, form)
            attempt.status, attempt.location = response.status_code, response.location
            attempt.page = page_text(response.get_data(as_text=True))
        except Exception as error:  # a 500 escapes the test client: reported below
            attempt.error = error
        return attempt

    with ThreadPoolExecutor(max_workers=len(clerks)) as pool:
        futures = [pool.submit(one, clerk, form) for clerk, form in zip(clerks, forms, strict=True)]
        try:
            gate()
        except AssertionError as error:
            attempts = [future.result(timeout=PATIENCE_S * 2) for future in futures]
            raise AssertionError(f"{error}; the checkouts: {attempts}") from None
        return [future.result(timeout=PATIENCE_S * 2) for future in futures]


@contextmanager
def row_lock(book, number: str) -> Iterator[Callable[[], None]]:
    """Hold invoice ``number``'s row lock; yield a gate that waits for two requests behind it.

    The gate returns once PostgreSQL reports both checkouts blocked by this lock,
    then lets them go together (the lock is released when the block ends).
    """
    with book.database.session() as session:
        session.scalars(select(Invoice).where(Invoice.number == number)
                        .with_for_update()).one()
        yield from held_until_two_wait(book, session)


def held_until_two_wait(book, session) -> Iterator[Callable[[], None]]:
    """Yield a gate for what ``session`` holds: it returns once two connections wait behind
    it, then releases it (also on failure: the racers must not wait forever)."""
    mine = session.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def gate() -> None:
        try:
            wait_for_waiters(book, mine, 2)
        finally:
            session.rollback()

    try:
        yield gate
    finally:
        session.rollback()


def wait_for_waiters(book, pid: int, count: int) -> None:
    """Poll until ``count`` connections wait, directly or in line, for ``pid``'s locks.

    PostgreSQL queues the second waiter for a row behind the first (a tuple lock),
    so the waiters are counted through the chain of ``pg_blocking_pids``.
    """
    deadline = time.monotonic() + PATIENCE_S
    with book.database.engine.connect() as monitor:
        while time.monotonic() < deadline:
            waiting = monitor.execute(text(
                "WITH RECURSIVE behind(pid) AS ("
                " SELECT pid FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
                " UNION SELECT a.pid FROM pg_stat_activity a JOIN behind b"
                " ON b.pid = ANY(pg_blocking_pids(a.pid)))"
                " SELECT count(*) FROM behind"), {"pid": pid}).scalar_one()
            # pg_stat_activity is read once per transaction: end it, or a request that
            # connects after the first poll is never seen.
            monitor.rollback()
            if waiting >= count:
                return
            time.sleep(0.01)  # polling PostgreSQL's view of the locks, not a timed wait
        seen = monitor.execute(text(
            "SELECT pid, state, wait_event_type, pg_blocking_pids(pid), left(query, 80)"
            " FROM pg_stat_activity WHERE datname = current_database()")).all()
    raise AssertionError(f"the two checkouts never both waited behind the held lock: {seen}")


@contextmanager
def no_gate(book, number: str) -> Iterator[Callable[[], None]]:
    yield lambda: None


GATES = {"barrier": no_gate, "row_lock": row_lock}


def new_invoice(book, number: str, total_minor: int) -> None:
    """Issue a fresh overdue invoice to Acme (no discount: what is due is its balance)."""
    with book.session() as uow:
        acme = uow.session.get(Customer, book.acme_id)
        issue(uow.session, acme, number, total_minor, due=TODAY - dt.timedelta(days=20))
        uow.commit()


def short_pay_form(clerk, number: str, amount: str, reason: str) -> dict:
    """The checkout form for paying ``amount`` of ``number``, as /pay/review shows it."""
    form = checkout_form(clerk, [number])
    page = clerk.client.post("/pay/review", data={
        "invoice": [number], f"amount-{number}": amount, f"reason-{number}": reason,
        "csrf_token": form["csrf_token"]}).get_data(as_text=True)
    return {**form, f"amount-{number}": amount, f"reason-{number}": reason,
            "checkout_key": hidden(page, "checkout_key"),
            "shown_charge": hidden(page, "shown_charge")}


def payments_for(book, number: str) -> list[tuple[int, str, int, str | None]]:
    """(id, status, amount, PaymentIntent id) of every payment that reserved ``number``."""
    with book.session() as uow:
        rows = uow.session.execute(
            select(Payment.id, Payment.status, Payment.amount_minor, Payment.gateway_ref)
            .join(Reservation, Reservation.payment_id == Payment.id)
            .join(Invoice, Invoice.id == Reservation.invoice_id)
            .where(Invoice.number == number).order_by(Payment.id))
        return [tuple(row) for row in rows]


def ever_reserved(session: Session, number: str) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(Reservation.amount_minor + Reservation.discount_minor), 0))
        .join(Invoice, Invoice.id == Reservation.invoice_id).where(Invoice.number == number))


def stripe_payment_intents(config: Config) -> list[dict]:
    """Every PaymentIntent at the local Stripe (emptied at the start of each test)."""
    request = urllib.request.Request(
        f"{config.stripe_api_base.rstrip('/')}/v1/payment_intents?limit=100",
        headers={"Authorization": f"Bearer {config.stripe_secret_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def split(attempts: list[Attempt]) -> tuple[Attempt, Attempt]:
    """The clerk who paid and the one refused; no attempt may have failed otherwise."""
    escaped = [(a.clerk, repr(a.error)) for a in attempts if a.error is not None]
    assert not escaped, f"a checkout raised (a 500 in production): {escaped}"
    assert sorted(a.status for a in attempts) == [303, 422], [
        (a.clerk, a.status, a.page[:300]) for a in attempts]
    paid = next(a for a in attempts if a.status == 303)
    refused = next(a for a in attempts if a.status == 422)
    return paid, refused


def assert_refusal_is_clear(refused: Attempt) -> None:
    assert "Nothing has been paid" in refused.page, refused.page[:600]


@pytest.fixture
def known_to_stripe(cart, stripe_config: Config) -> str:
    """Acme's Stripe customer, made before the race as its first card payment would have.

    Two clerks making an account's very first card payment at once is its own race
    (:func:`test_the_first_card_payments_of_an_account_made_at_once_both_get_an_answer`).
    """
    gateway = StripeGateway.from_config(stripe_config)
    with cart.session() as uow:
        found = card_checkout.stripe_customer(uow.session, gateway, cart.acme_id)
        uow.commit()
    return found


@pytest.fixture
def clerks(signed_in) -> list:
    """Acme's payer and admin, each signed in on a client of their own."""
    browsers = []
    for email in CLERKS:
        browser = signed_in(email)
        browser.email = email
        browsers.append(browser)
    return browsers


@pytest.mark.parametrize("gate", sorted(GATES))
def test_two_clerks_paying_one_invoice_in_full_at_once_pay_it_once(
        cart, known_to_stripe, clerks, stripe_js, stripe_config, gate):
    numbers = ["K-2"] + [f"K-2-{n}" for n in range(2, ROUNDS + 1)]
    for number in numbers[1:]:
        new_invoice(cart, number, 500_00)
    for number in numbers:
        forms = [checkout_form(clerk, [number], payment_method=stripe_js.create_card(VISA))
                 for clerk in clerks]
        assert [form["shown_charge"] for form in forms] == ["50000", "50000"]
        with GATES[gate](cart, number) as release:
            attempts = race(clerks, forms, release)

        paid, refused = split(attempts)
        [(payment_id, status, amount, intent)] = payments_for(cart, number)
        assert paid.location == f"/payments/{payment_id}/return"
        assert (status, amount, intent[:3]) == ("succeeded", 500_00, "pi_")
        assert_refusal_is_clear(refused)
        if gate == "row_lock":  # both quotes saw $500 open: the ledger said no
            assert "another payment in progress" in refused.page.lower(), refused.page[:600]
        assert invoice(cart, number) == (0, 0, "paid")
        ledger_ok(cart)

    intents = stripe_payment_intents(stripe_config)
    assert len(intents) == ROUNDS  # one charge per invoice: the refused clerk's never started
    assert {(i["amount"], i["status"]) for i in intents} == {(500_00, "succeeded")}


@pytest.mark.parametrize("gate", sorted(GATES))
def test_two_clerks_short_paying_one_invoice_at_once_never_take_more_than_its_balance(
        cart, known_to_stripe, clerks, stripe_js, stripe_config, gate):
    numbers = ["K-2"] + [f"K-2-{n}" for n in range(2, ROUNDS + 1)]
    for number in numbers[1:]:
        new_invoice(cart, number, 500_00)
    for number in numbers:
        forms = [{**short_pay_form(clerk, number, "300.00", "damaged"),
                  "payment_method": stripe_js.create_card(VISA)} for clerk in clerks]
        assert [form["shown_charge"] for form in forms] == ["30000", "30000"]
        with GATES[gate](cart, number) as release:
            attempts = race(clerks, forms, release)

        paid, refused = split(attempts)
        [(payment_id, status, amount, _)] = payments_for(cart, number)
        assert paid.location == f"/payments/{payment_id}/return"
        assert (status, amount) == ("succeeded", 300_00)
        assert_refusal_is_clear(refused)
        if gate == "row_lock":
            assert "another payment in progress" in refused.page.lower(), refused.page[:600]
        else:  # refused by the ledger, or quoted after the reservation: only $200 is open
            assert ("another payment in progress" in refused.page.lower()
                    or "$200.00" in refused.page), refused.page[:600]
        assert invoice(cart, number) == (200_00, 0, "open")
        with cart.database.session() as session:
            assert ever_reserved(session, number) == 300_00  # the refused clerk reserved nothing
        ledger_ok(cart)

        # The refused clerk tries again: the checkout now offers what is left, and takes it.
        loser = next(clerk for clerk in clerks if clerk.email == refused.clerk)
        again = checkout_form(loser, [number], payment_method=stripe_js.create_card(VISA))
        assert again["shown_charge"] == "20000"
        assert pay(loser, again).status_code == 303
        assert [(s, a) for _, s, a, _ in payments_for(cart, number)] == [
            ("succeeded", 300_00), ("succeeded", 200_00)]
        assert invoice(cart, number) == (0, 0, "paid")
        ledger_ok(cart)

    intents = stripe_payment_intents(stripe_config)
    assert sorted(i["amount"] for i in intents) == [200_00] * ROUNDS + [300_00] * ROUNDS
    assert {i["status"] for i in intents} == {"succeeded"}


@contextmanager
def link_being_written(book) -> Iterator[Callable[[], None]]:
    """Hold an uncommitted Stripe customer link for Acme; yield a gate as :func:`row_lock`.

    Both checkouts find no link, create the Stripe customer and insert theirs, which
    waits behind this one: the gate then lets them go together.
    """
    with book.database.session() as session:
        session.add(StripeCustomerLink(customer_id=book.acme_id,
                                       stripe_customer_id="cus_being_written"))
        session.flush()
        yield from held_until_two_wait(book, session)


def test_the_first_card_payments_of_an_account_made_at_once_both_get_an_answer(
        cart, clerks, stripe_js, stripe_config):
    forms = [checkout_form(clerk, [number], payment_method=stripe_js.create_card(VISA))
             for clerk, number in zip(clerks, ["K-2", "K-3"], strict=True)]
    with link_being_written(cart) as release:
        attempts = race(clerks, forms, release)

    escaped = [(a.clerk, repr(a.error)) for a in attempts if a.error is not None]
    assert not escaped, f"a checkout raised (a 500 in production): {escaped}"
    assert [a.status for a in attempts] == [303, 303]
    assert invoice(cart, "K-2") == (0, 0, "paid") and invoice(cart, "K-3") == (0, 0, "paid")
    with cart.database.session() as session:
        assert session.scalar(select(func.count()).select_from(StripeCustomerLink)) == 1
    ledger_ok(cart)
