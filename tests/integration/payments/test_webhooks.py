"""``POST /webhooks/stripe`` with the deliveries localstripe signs and sends (caught, then
posted to the app as often as a test needs), and a chargeback event built the way Stripe
documents it (localstripe has no disputes). Every test ends with the ledger check."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from portal.gateways.stripe import GatewayError, StripeGateway
from portal.ledger.models import Payment
from portal.payments.models import StripeEvent
from portal.vendor.services import update_vendor
from tests.integration.payments.conftest import (
    DECLINED,
    SUPPORT_EMAIL,
    assert_ledger_ok,
    charge,
    invoice_state,
    open_book,
    settlements,
    start_payment,
)
from tests.stripe_fixtures import sign


def post(client, payload: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/webhooks/stripe", data=payload, headers=headers)


def status_of(database, payment_id: int) -> str:
    with database.session() as session:
        return session.get(Payment, payment_id).status


def events(database) -> list[tuple[str, str, int | None, str | None]]:
    with database.session() as session:
        return [(e.type, e.event_id, e.payment_id, e.outcome)
                for e in session.scalars(select(StripeEvent).order_by(StripeEvent.id))]


def paid_by_card(card_db, gateway, stripe_js, deliveries, *totals: int):
    """A settled-at-Stripe card payment of ``totals``, and its signed succeeded delivery."""
    book = open_book(card_db, gateway, *totals)
    payment_id = start_payment(card_db, book, list(totals))
    intent = charge(card_db, gateway, stripe_js, book, payment_id, sum(totals))
    payload, signature = deliveries.next("payment_intent.succeeded", intent.id)
    return book, payment_id, intent, payload, signature


def test_a_webhook_delivered_three_times_posts_once(card_app, card_db, gateway, stripe_js,
                                                     deliveries):
    book, payment_id, _, payload, signature = paid_by_card(
        card_db, gateway, stripe_js, deliveries, 100_00, 25_00)
    client = card_app.test_client()

    answers = [post(client, payload, signature) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json["outcome"] for a in answers] == ["settled", "duplicate", "duplicate"]
    assert settlements(card_db, payment_id) == 1
    assert status_of(card_db, payment_id) == "succeeded"
    assert invoice_state(card_db, book.invoice_ids[0]) == (0, 0, "paid")
    event_id = json.loads(payload)["id"]
    assert events(card_db) == [("payment_intent.succeeded", event_id, payment_id, "settled")]
    assert_ledger_ok(card_db)


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(
        card_app, card_db, gateway, stripe_js, deliveries, stripe_config):
    _, payment_id, _, payload, signature = paid_by_card(
        card_db, gateway, stripe_js, deliveries, 60_00)
    client = card_app.test_client()
    now = int(time.time())

    tampered = payload.replace(b'"succeeded"', b'"succeeded" ', 1)
    answers = [
        post(client, tampered, signature),
        post(client, payload, None),
        post(client, payload, sign(payload, "whsec_someone_else", now)),
        post(client, payload, "t=garbage"),
    ]

    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert status_of(card_db, payment_id) == "pending"
    assert settlements(card_db, payment_id) == 0 and events(card_db) == []
    assert_ledger_ok(card_db)


def test_an_old_timestamp_is_refused(card_app, card_db, gateway, stripe_js, deliveries,
                                     stripe_config):
    _, payment_id, _, payload, _ = paid_by_card(card_db, gateway, stripe_js, deliveries, 60_00)
    stale = sign(payload, stripe_config.stripe_webhook_secret, int(time.time()) - 600)

    answer = post(card_app.test_client(), payload, stale)

    assert answer.status_code == 400
    assert status_of(card_db, payment_id) == "pending" and events(card_db) == []
    assert_ledger_ok(card_db)


def test_a_declined_card_fails_the_payment(card_app, card_db, gateway, stripe_js, deliveries):
    book = open_book(card_db, gateway, 100_00)
    payment_id = start_payment(card_db, book, [100_00])
    intent = charge(card_db, gateway, stripe_js, book, payment_id, 100_00, number=DECLINED)
    payload, signature = deliveries.next("payment_intent.payment_failed", intent.id)

    answer = post(card_app.test_client(), payload, signature)

    assert answer.status_code == 200 and answer.json["outcome"] == "failed"
    with card_db.session() as session:
        payment = session.get(Payment, payment_id)
        assert (payment.status, payment.failure_code) == ("failed", "generic_decline")
    assert invoice_state(card_db, book.invoice_ids[0]) == (100_00, 0, "open")
    assert_ledger_ok(card_db)


def test_an_unknown_payment_is_acknowledged_and_logged(card_app, card_db, gateway, stripe_js,
                                                       deliveries, caplog):
    book = open_book(card_db, gateway, 10_00)
    payment_id = start_payment(card_db, book, [10_00])
    # A PaymentIntent naming the payment, which the payment never stored as its own.
    intent = gateway.create_payment_intent(
        10_00, "USD", book.stripe_customer, payment_id=payment_id, invoice_numbers=[],
        idempotency_key="stray", payment_method=stripe_js.create_card("4242424242424242"))
    payload, signature = deliveries.next("payment_intent.succeeded", intent.id)

    answer = post(card_app.test_client(), payload, signature)

    assert answer.status_code == 200 and answer.json["outcome"] == "unknown_payment"
    assert "not its payment" in caplog.text
    assert status_of(card_db, payment_id) == "pending"
    assert [e[3] for e in events(card_db)] == ["unknown_payment"]
    assert_ledger_ok(card_db)


def test_a_failure_answers_500_keeps_nothing_and_the_retry_settles(
        card_app, card_db, gateway, stripe_js, deliveries, monkeypatch):
    _, payment_id, _, payload, signature = paid_by_card(
        card_db, gateway, stripe_js, deliveries, 70_00)
    client = card_app.test_client()

    def unreachable(self, intent_id):
        raise GatewayError("Stripe is unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(StripeGateway, "retrieve_payment_intent", unreachable)
        assert post(client, payload, signature).status_code == 500
    assert events(card_db) == [] and status_of(card_db, payment_id) == "pending"

    retry = post(client, payload, signature)
    assert retry.status_code == 200 and retry.json["outcome"] == "settled"
    assert settlements(card_db, payment_id) == 1
    assert_ledger_ok(card_db)


# Chargebacks ---------------------------------------------------------------------------


def dispute_event(intent, amount: int, event_id: str = "evt_dispute_1") -> bytes:
    """``charge.dispute.created`` as Stripe documents it
    (https://docs.stripe.com/api/events/types#event_types-charge.dispute.created,
    https://docs.stripe.com/api/disputes/object)."""
    now = int(time.time())
    dispute = {
        "id": "dp_1PortalTest", "object": "dispute", "amount": amount, "currency": "usd",
        "charge": intent.charge_id, "payment_intent": intent.id, "created": now,
        "reason": "fraudulent", "status": "needs_response", "is_charge_refundable": False,
        "livemode": False, "metadata": {}, "balance_transactions": [],
        "evidence_details": {"due_by": now + 7 * 86400, "has_evidence": False,
                             "past_due": False, "submission_count": 0},
    }
    return json.dumps({
        "id": event_id, "object": "event", "api_version": "2024-06-20", "created": now,
        "type": "charge.dispute.created", "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "data": {"object": dispute},
    }).encode()


def test_a_chargeback_reverses_reopens_and_tells_the_vendor(
        card_app, card_db, gateway, stripe_js, deliveries, stripe_config, smtp_sink):
    with card_db.unit_of_work() as unit:
        update_vendor(unit.session, name="Northwind", support_email=SUPPORT_EMAIL)
        unit.commit()
    book, payment_id, intent, payload, signature = paid_by_card(
        card_db, gateway, stripe_js, deliveries, 100_00, 50_00)
    client = card_app.test_client()
    assert post(client, payload, signature).json["outcome"] == "settled"
    secret = stripe_config.stripe_webhook_secret
    chargeback = dispute_event(intent, 150_00)

    first = post(client, chargeback, sign(chargeback, secret, int(time.time())))
    replay = post(client, chargeback, sign(chargeback, secret, int(time.time())))

    assert (first.status_code, first.json["outcome"]) == (200, "reversed")
    assert replay.json["outcome"] == "duplicate"
    assert settlements(card_db, payment_id, "payment_reversed") == 1
    assert status_of(card_db, payment_id) == "reversed"
    assert invoice_state(card_db, book.invoice_ids[0]) == (100_00, 0, "open")
    assert invoice_state(card_db, book.invoice_ids[1]) == (50_00, 0, "open")
    [mail] = smtp_sink.to(SUPPORT_EMAIL)
    assert f"Chargeback on payment {payment_id}" in mail["Subject"]
    text = smtp_sink.text(mail)
    assert "dp_1PortalTest" in text and "fraudulent" in text
    assert all(number in text for number in book.invoice_numbers)
    assert_ledger_ok(card_db)


def test_a_chargeback_of_part_of_a_payment_posts_nothing_but_tells_the_vendor(
        card_app, card_db, gateway, stripe_js, deliveries, stripe_config, smtp_sink):
    with card_db.unit_of_work() as unit:
        update_vendor(unit.session, name="Northwind", support_email=SUPPORT_EMAIL)
        unit.commit()
    book, payment_id, intent, _, _ = paid_by_card(
        card_db, gateway, stripe_js, deliveries, 100_00)
    client = card_app.test_client()
    # The succeeded webhook never came: the dispute settles the payment first.
    chargeback = dispute_event(intent, 40_00)

    answer = post(client, chargeback, sign(chargeback, stripe_config.stripe_webhook_secret,
                                           int(time.time())))

    assert (answer.status_code, answer.json["outcome"]) == (200, "dispute_recorded")
    assert status_of(card_db, payment_id) == "succeeded"
    assert settlements(card_db, payment_id, "payment_reversed") == 0
    assert invoice_state(card_db, book.invoice_ids[0]) == (0, 0, "paid")
    [mail] = smtp_sink.to(SUPPORT_EMAIL)
    assert "not for the whole payment" in smtp_sink.text(mail)
    assert_ledger_ok(card_db)
