"""The settlement service against localstripe and real ledger rows: each state of the table
in portal/payments/settlement.py, once and again, and (PostgreSQL) the return page and the
webhook racing for the same payment. Every test ends with the ledger check."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from portal import ledger
from portal.accounts.models import AuditEvent
from portal.db import Database
from portal.gateways.stripe import WebhookEvent
from portal.ledger import store
from portal.ledger.models import Payment, Reservation
from portal.payments import settlement
from portal.payments.models import CardPayment
from portal.payments.webhooks import handle_event
from tests.integration.payments.conftest import (
    DECLINED,
    THREE_D_SECURE,
    assert_ledger_ok,
    charge,
    invoice_state,
    open_book,
    settlements,
    start_payment,
)


def sync(database: Database, gateway, payment_id: int) -> settlement.Settlement:
    with database.unit_of_work() as unit:
        result = settlement.sync_payment_outcome(unit.session, payment_id, gateway)
        unit.commit()
    return result


def payment_row(database: Database, payment_id: int) -> Payment:
    with database.session() as session:
        payment = session.get(Payment, payment_id)
        session.expunge(payment)
        return payment


def card_row(database: Database, payment_id: int) -> CardPayment | None:
    with database.session() as session:
        card = session.get(CardPayment, payment_id)
        if card is not None:
            session.expunge(card)
        return card


def test_a_card_payment_that_succeeded_settles_once(card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 100_00, 50_00)
    payment_id = start_payment(card_db, book, [100_00, 50_00])
    charge(card_db, gateway, stripe_js, book, payment_id, 150_00)

    first = sync(card_db, gateway, payment_id)
    again = sync(card_db, gateway, payment_id)

    assert (first.outcome, first.newly_settled) == ("settled", True)
    assert (again.outcome, again.newly_settled) == ("unchanged", False)
    assert settlements(card_db, payment_id) == 1
    assert payment_row(card_db, payment_id).status == "succeeded"
    assert invoice_state(card_db, book.invoice_ids[0]) == (0, 0, "paid")
    assert invoice_state(card_db, book.invoice_ids[1]) == (0, 0, "paid")
    card = card_row(card_db, payment_id)
    assert (card.brand, card.last4, card.intent_status) == ("visa", "4242", "succeeded")
    assert_ledger_ok(card_db)


def test_sync_payment_returns_the_payment(card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 80_00)
    payment_id = start_payment(card_db, book, [80_00])
    charge(card_db, gateway, stripe_js, book, payment_id, 80_00)
    with card_db.unit_of_work() as unit:
        payment = settlement.sync_payment(unit.session, payment_id, gateway)
        unit.commit()
    assert payment.id == payment_id and payment.status == "succeeded"
    assert_ledger_ok(card_db)


def test_a_declined_card_fails_the_payment_and_releases_its_reservations(
        card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 100_00)
    payment_id = start_payment(card_db, book, [60_00])
    assert invoice_state(card_db, book.invoice_ids[0]) == (100_00, 60_00, "open")
    charge(card_db, gateway, stripe_js, book, payment_id, 60_00, number=DECLINED)

    result = sync(card_db, gateway, payment_id)
    again = sync(card_db, gateway, payment_id)

    assert (result.outcome, again.outcome) == ("failed", "unchanged")
    payment = payment_row(card_db, payment_id)
    assert payment.status == "failed"
    assert payment.failure_code == "generic_decline"
    assert payment.failure_message == "Your card was declined."
    assert invoice_state(card_db, book.invoice_ids[0]) == (100_00, 0, "open")
    with card_db.session() as session:
        reservation = session.scalars(select(Reservation).filter_by(payment_id=payment_id)).one()
        assert reservation.released_at is not None
    assert settlements(card_db, payment_id) == 0
    assert_ledger_ok(card_db)


def test_three_d_secure_is_marked_then_settles(card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 75_00)
    payment_id = start_payment(card_db, book, [75_00])
    intent = charge(card_db, gateway, stripe_js, book, payment_id, 75_00, number=THREE_D_SECURE)

    assert sync(card_db, gateway, payment_id).outcome == "marked"
    assert payment_row(card_db, payment_id).status == "requires_action"
    assert sync(card_db, gateway, payment_id).outcome == "unchanged"

    stripe_js.authenticate(intent.client_secret, success=True)
    result = sync(card_db, gateway, payment_id)
    assert (result.outcome, result.newly_settled) == ("settled", True)
    assert invoice_state(card_db, book.invoice_ids[0]) == (0, 0, "paid")
    assert_ledger_ok(card_db)


def test_a_canceled_payment_intent_cancels_the_payment(card_db, gateway):
    book = open_book(card_db, gateway, 40_00)
    payment_id = start_payment(card_db, book, [40_00])
    intent = gateway.create_payment_intent(40_00, "USD", book.stripe_customer,
                                           payment_id=payment_id, invoice_numbers=["X"],
                                           idempotency_key=f"payment-{payment_id}")
    with card_db.unit_of_work() as unit:
        ledger.mark_payment(unit.session, payment_id, "pending", gateway_ref=intent.id)
        unit.commit()
    assert sync(card_db, gateway, payment_id).outcome == "unchanged"  # no card tried yet
    gateway.cancel_payment_intent(intent.id)

    assert sync(card_db, gateway, payment_id).outcome == "canceled"
    assert payment_row(card_db, payment_id).status == "canceled"
    assert invoice_state(card_db, book.invoice_ids[0]) == (40_00, 0, "open")
    assert_ledger_ok(card_db)


def test_another_amount_at_stripe_is_never_settled(card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 100_00)
    payment_id = start_payment(card_db, book, [100_00])
    charge(card_db, gateway, stripe_js, book, payment_id, 90_00)  # Stripe took 90.00

    result = sync(card_db, gateway, payment_id)
    again = sync(card_db, gateway, payment_id)

    assert result.outcome == again.outcome == "amount_mismatch" and result.needs_staff
    assert not result.newly_settled
    assert settlements(card_db, payment_id) == 0
    assert payment_row(card_db, payment_id).status == "pending"
    assert invoice_state(card_db, book.invoice_ids[0]) == (100_00, 100_00, "open")
    card = card_row(card_db, payment_id)
    assert (card.mismatch_amount_minor, card.mismatch_currency) == (90_00, "USD")
    with card_db.session() as session:
        flagged = session.scalars(select(AuditEvent.detail).filter_by(
            action="payment.amount_mismatch")).all()
    assert len(flagged) == 1  # recorded once, however often it is seen
    assert "90.00 USD" in flagged[0] and "100.00 USD" in flagged[0]
    assert_ledger_ok(card_db)


def test_a_payment_intent_of_another_payment_is_refused(card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 30_00)
    first = start_payment(card_db, book, [30_00])
    other_intent = charge(card_db, gateway, stripe_js, book, first, 30_00)
    second = start_payment(card_db, open_book(card_db, gateway, 20_00), [20_00])

    with card_db.unit_of_work() as unit, pytest.raises(settlement.SettlementError):
        settlement.apply_payment_intent(
            unit.session, store.lock_payment(unit.session, second), other_intent)
    assert payment_row(card_db, second).status == "pending"
    assert_ledger_ok(card_db)


# PostgreSQL: the return page and the webhook at the same moment -------------------------

PATIENCE_S = 30


def _wait_until_blocked(database: Database, session) -> None:
    """Hold this session's locks until another connection waits behind them."""
    mine = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    deadline = time.monotonic() + PATIENCE_S
    # Autocommit: PostgreSQL keeps one snapshot of pg_stat_activity per transaction, so
    # polls inside one transaction would see the other racer never start waiting — the
    # cause of this test's rare "never waited" failures.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as monitor:
        while time.monotonic() < deadline:
            if monitor.execute(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                    ":mine = ANY(pg_blocking_pids(pid))"),
                               {"mine": mine}).scalar_one():
                return
            time.sleep(0.01)
        # Say what every other connection was doing, so a failure can be understood.
        others = monitor.execute(text(
            "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid), "
            "left(query, 120) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).all()
    raise AssertionError(f"the other racer never waited for this one's lock (pid {mine}); "
                         f"connections: {[tuple(row) for row in others]}")


@pytest.mark.parametrize("first", ["return_page", "webhook"])
def test_return_page_and_webhook_racing_settle_once(pg_db, gateway, stripe_js, first):
    book = open_book(pg_db, gateway, 120_00)
    payment_id = start_payment(pg_db, book, [120_00])
    intent = charge(pg_db, gateway, stripe_js, book, payment_id, 120_00)
    event = WebhookEvent(id="evt_race", type="payment_intent.succeeded",
                         created=int(time.time()), livemode=False, object={"id": intent.id})
    barrier = threading.Barrier(2, timeout=PATIENCE_S)
    outcomes: dict[str, object] = {}

    def return_page() -> None:
        with pg_db.unit_of_work() as unit:
            if first == "return_page":  # takes the lock before the other may start
                store.lock_payment(unit.session, payment_id)
                barrier.wait()
                _wait_until_blocked(pg_db, unit.session)
            else:
                barrier.wait()
            result = settlement.sync_payment_outcome(unit.session, payment_id, gateway)
            unit.commit()
        outcomes["return_page"] = result.newly_settled

    def webhook() -> None:
        with pg_db.unit_of_work() as unit:
            if first == "webhook":  # takes the lock before the other may start
                store.lock_payment(unit.session, payment_id)
                barrier.wait()
                _wait_until_blocked(pg_db, unit.session)
            else:
                barrier.wait()
            outcomes["webhook"] = handle_event(unit, gateway, event) == "settled"

    def run(target) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except BaseException as error:  # reported below
                outcomes[target.__name__ + "_error"] = error
        thread = threading.Thread(target=guarded)
        thread.start()
        return thread

    for thread in [run(return_page), run(webhook)]:
        thread.join(PATIENCE_S * 2)

    assert not [key for key in outcomes if key.endswith("_error")], outcomes
    # Exactly one of them posted, and it is the one that held the lock first.
    assert outcomes == {"return_page": first == "return_page", "webhook": first == "webhook"}
    assert settlements(pg_db, payment_id) == 1
    with pg_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Payment)
                              .filter_by(status="succeeded")) == 1
    assert invoice_state(pg_db, book.invoice_ids[0]) == (0, 0, "paid")
    assert_ledger_ok(pg_db)
