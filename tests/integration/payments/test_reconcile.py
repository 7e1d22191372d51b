"""``portal payments reconcile`` and the ``payments.reconcile`` task: a lost webhook loses
nothing. Payments are made through localstripe; no webhook is delivered to the app."""

from __future__ import annotations

import datetime as dt

from portal import ledger, tasks
from portal.ledger.models import Payment
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


def reconcile(card_app, *args: str):
    return card_app.test_cli_runner().invoke(args=["payments", "reconcile", *args])


def status_of(database, payment_id: int) -> str:
    with database.session() as session:
        return session.get(Payment, payment_id).status


def test_a_payment_whose_webhook_never_arrives_is_settled_once(card_app, card_db, gateway,
                                                               stripe_js):
    book = open_book(card_db, gateway, 100_00, 20_00)
    paid = start_payment(card_db, book, [100_00, 20_00])
    charge(card_db, gateway, stripe_js, book, paid, 120_00)

    first = reconcile(card_app, "--older-than", "0")
    second = reconcile(card_app, "--older-than", "0")

    assert first.exit_code == 0, first.output
    assert ("payments reconcile: checked 1, settled 1, failed 0, unchanged 0, errors 0"
            in first.output)
    assert second.exit_code == 0
    assert "checked 0, settled 0" in second.output  # nothing left unsettled
    assert settlements(card_db, paid) == 1 and status_of(card_db, paid) == "succeeded"
    assert invoice_state(card_db, book.invoice_ids[0]) == (0, 0, "paid")
    assert_ledger_ok(card_db)


def test_young_payments_wait_for_the_configured_age(card_app, card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 30_00)
    paid = start_payment(card_db, book, [30_00])
    charge(card_db, gateway, stripe_js, book, paid, 30_00)

    result = reconcile(card_app)  # PORTAL_RECONCILE_AFTER_MINUTES: 15 by default

    assert result.exit_code == 0 and "checked 0" in result.output
    assert status_of(card_db, paid) == "pending"
    assert_ledger_ok(card_db)


def test_declines_fail_payments_still_waiting_stay_and_mismatches_are_errors(
        card_app, card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 50_00)
    declined = start_payment(card_db, book, [50_00])
    charge(card_db, gateway, stripe_js, book, declined, 50_00, number=DECLINED)
    other = open_book(card_db, gateway, 40_00, 30_00)
    waiting = start_payment(card_db, other, [40_00])
    intent = gateway.create_payment_intent(40_00, "USD", other.stripe_customer,
                                           payment_id=waiting, invoice_numbers=[],
                                           idempotency_key=f"payment-{waiting}")
    with card_db.unit_of_work() as unit:
        ledger.mark_payment(unit.session, waiting, "pending", gateway_ref=intent.id)
        unit.commit()
    mismatched = start_payment(card_db, other, [0, 30_00])
    charge(card_db, gateway, stripe_js, other, mismatched, 29_00)

    result = reconcile(card_app, "--older-than", "0")

    assert result.exit_code == 1
    assert "checked 3, settled 0, failed 1, unchanged 1, errors 1" in result.output
    assert f"payment {mismatched}: amount_mismatch" in result.output
    assert [status_of(card_db, p) for p in (declined, waiting, mismatched)] == [
        "failed", "pending", "pending"]
    assert_ledger_ok(card_db)


def test_the_task_runs_the_same_sweep(card_app, card_db, gateway, stripe_js):
    book = open_book(card_db, gateway, 45_00)
    paid = start_payment(card_db, book, [45_00])
    charge(card_db, gateway, stripe_js, book, paid, 45_00)

    with card_app.app_context():
        tasks.run("payments.reconcile", older_than_minutes=0)
        tasks.run("payments.reconcile", older_than_minutes=0)

    assert settlements(card_db, paid) == 1 and status_of(card_db, paid) == "succeeded"
    assert_ledger_ok(card_db)


def test_a_payment_left_at_3d_secure_is_canceled_after_the_timeout(card_app, card_db, gateway,
                                                                    stripe_js):
    book = open_book(card_db, gateway, 60_00)
    waiting = start_payment(card_db, book, [60_00])
    intent = charge(card_db, gateway, stripe_js, book, waiting, 60_00, number=THREE_D_SECURE)
    assert intent.status == "requires_action"

    kept = reconcile(card_app, "--older-than", "0")  # within PORTAL_CARD_ACTION_TIMEOUT_MINUTES
    assert kept.exit_code == 0 and status_of(card_db, waiting) == "requires_action"
    assert invoice_state(card_db, book.invoice_ids[0]) == (60_00, 60_00, "open")

    with card_db.unit_of_work() as unit:  # the payer closed the page 61 minutes ago
        unit.session.get(Payment, waiting).created_at -= dt.timedelta(minutes=61)
        unit.commit()
    result = reconcile(card_app, "--older-than", "0")

    assert result.exit_code == 0, result.output
    assert "checked 1, settled 0, failed 1, unchanged 0, errors 0" in result.output
    assert status_of(card_db, waiting) == "canceled"
    assert gateway.retrieve_payment_intent(intent.id).status == "canceled"
    assert invoice_state(card_db, book.invoice_ids[0]) == (60_00, 0, "open")  # free to pay
    assert settlements(card_db, waiting) == 0
    assert_ledger_ok(card_db)
