"""The checkout's Pay button with a card: one PaymentIntent per payment, the ledger settled
once, the payer told what happened; nothing charged or reserved when it does not go through.

Acme's cart (conftest): K-1 $1,000 on 2/10 net 30, issued two days before TODAY ($980
settles it up to the discount deadline), K-2 $500 overdue, K-3 $250. Cards are made as
Stripe.js makes them (``stripe_js``) and charged at localstripe; what Stripe holds is read
back from it (``stripe_dashboard``).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests import pdf
from tests.integration.checkout.conftest import (
    DECLINED,
    INSUFFICIENT,
    INSUFFICIENT_AFTER_3DS,
    LOSE_ALL,
    LOSE_ANSWER,
    LOSE_REQUEST,
    THREE_D_SECURE,
    TODAY,
    VISA,
    allocations,
    backdate,
    book_state,
    card_payment,
    checkout_form,
    checkout_page,
    credit,
    form_on,
    give_credit,
    hidden,
    invoice,
    journal,
    ledger_ok,
    nothing_written,
    pay,
    payments_of,
    receipts,
    sweep,
    text,
    verify_with_bank,
)

DISCOUNT_DEADLINE = TODAY + dt.timedelta(days=8)  # issued TODAY - 2, discount for 10 days
OPEN = {"K-1": (1000_00, 0, "open"), "K-2": (500_00, 0, "open"), "K-3": (250_00, 0, "open")}
PAID = (0, 0, "paid")


# The payer's steps, and what they are shown ---------------------------------------------


def pay_new_card(payer, stripe_js, numbers: list[str], number: str = VISA, **fields):
    """Open the checkout for ``numbers``, enter a new card, press Pay; return the response."""
    return pay(payer, checkout_form(payer, numbers, payment_method=stripe_js.create_card(number),
                                    **fields))


def shown(payer, location: str) -> str:
    """The text of the page the browser ends on from ``location`` (flash messages included)."""
    response = payer.client.get(location, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    return text(response.get_data(as_text=True))


def only_payment(book, status: str):
    """The book's one card payment, which must have ``status``."""
    [found] = [p for p in payments_of(book) if p.method == "card"]
    assert found.status == status, (found.status, found.failure_code)
    return found


def payment_id_in(location: str) -> int:
    """The payment a checkout's redirect names."""
    match = re.fullmatch(r"/payments/(\d+)(/return|/authenticate)?", location)
    assert match, location
    return int(match.group(1))


def client_secret_on(payer, payment_id: int) -> str:
    """The PaymentIntent's client secret that the 3-D Secure page hands Stripe.js."""
    response = payer.client.get(f"/payments/{payment_id}/authenticate")
    assert response.status_code == 200, response.status_code
    match = re.search(r'data-client-secret="([^"]+)"', response.get_data(as_text=True))
    assert match, "no client secret on the authentication page"
    return match.group(1)


def settlement_lines(book) -> list[list[tuple[str, str | None, int]]]:
    """The lines of every ``payment_settled`` entry (none until a payment settles)."""
    return journal(book, "payment_settled")


def assert_freed(book, numbers: list[str]) -> None:
    """The invoices are as before the payment: open, whole, nothing reserved."""
    assert {n: invoice(book, n) for n in numbers} == {n: OPEN[n] for n in numbers}


def assert_one_receipt_per_payment(smtp_sink, *amounts: str) -> None:
    """One receipt e-mail reached the payer per settled payment, for these amounts."""
    sent = receipts(smtp_sink)
    assert len(sent) == len(amounts), sent
    for body, amount in zip(sent, amounts, strict=True):
        assert f"received your payment of {amount}" in body


# Paying in full, in part, with a discount -------------------------------------------------


def test_two_invoices_paid_with_a_new_card_settle_and_send_a_receipt(cart, signed_in, stripe_js,
                                                                     smtp_sink):
    payer = signed_in()
    form = checkout_form(payer, ["K-1", "K-2"], payment_method=stripe_js.create_card(VISA))
    assert form["shown_charge"] == "148000"  # K-1 at $980.00 with its discount, K-2 $500
    response = pay(payer, form)
    assert response.status_code == 303, text(response.get_data(as_text=True))
    [payment] = payments_of(cart)
    assert response.location == f"/payments/{payment.id}/return"
    landing = payer.client.get(response.location)
    assert landing.location == f"/payments/{payment.id}"
    page = text(payer.client.get(landing.location).get_data(as_text=True))
    assert "Thank you. Your payment of $1,480.00 is complete" in page
    assert (payment.status, payment.amount_minor, payment.gateway_ref[:3]) == (
        "succeeded", 1480_00, "pi_")
    assert invoice(cart, "K-1") == (0, 0, "paid") and invoice(cart, "K-2") == (0, 0, "paid")
    ledger_ok(cart)
    assert_one_receipt_per_payment(smtp_sink, "$1,480.00")


def test_a_short_payment_settles_with_its_reason_and_leaves_the_rest_open(cart, signed_in,
                                                                          stripe_js):
    payer = signed_in()
    response = pay_new_card(payer, stripe_js, ["K-2"], **{
        "amount-K-2": "450.00", "reason-K-2": "damaged", "note-K-2": "Two crates broken"})

    assert response.status_code == 303, text(response.get_data(as_text=True))
    page = shown(payer, response.location)
    paid = only_payment(cart, "succeeded")
    assert "Thank you. Your payment of $450.00 is complete" in page
    assert "Goods damaged or defective" in page and "Two crates broken" in page
    assert allocations(cart, paid.id) == [("K-2", 450_00, 0, "damaged", "Two crates broken")]
    assert settlement_lines(cart) == [[("cash_clearing:stripe", None, 450_00),
                                       ("receivable", "K-2", -450_00)]]
    assert invoice(cart, "K-2") == (50_00, 0, "open")
    ledger_ok(cart)


def test_the_discounted_amount_paid_on_the_deadline_settles_the_invoice(cart, signed_in,
                                                                        stripe_js, clock):
    clock.today = DISCOUNT_DEADLINE  # the last day the discount is offered
    payer = signed_in()
    form = checkout_form(payer, ["K-1"], payment_method=stripe_js.create_card(VISA))
    assert (form["amount-K-1"], form["shown_discount-K-1"], form["shown_charge"]) == (
        "980.00", "2000", "98000")

    response = pay(payer, form)

    assert response.status_code == 303, text(response.get_data(as_text=True))
    paid = only_payment(cart, "succeeded")
    assert paid.amount_minor == 980_00
    assert allocations(cart, paid.id) == [("K-1", 980_00, 20_00, None, None)]
    assert settlement_lines(cart) == [[("cash_clearing:stripe", None, 980_00),
                                       ("discounts_allowed", "K-1", 20_00),
                                       ("receivable", "K-1", -1000_00)]]
    assert invoice(cart, "K-1") == PAID
    ledger_ok(cart)


def test_a_discount_that_ended_while_the_page_was_open_is_refused(cart, signed_in, stripe_js,
                                                                  clock, stripe_dashboard):
    payer = signed_in()
    form = checkout_form(payer, ["K-1"], payment_method=stripe_js.create_card(VISA))
    assert form["shown_discount-K-1"] == "2000"
    clock.today = DISCOUNT_DEADLINE + dt.timedelta(days=1)

    with nothing_written(cart, stripe_dashboard):
        response = pay(payer, form)

    assert response.status_code == 422
    page = text(response.get_data(as_text=True))
    assert "Nothing has been paid yet" in page
    assert ("The early-payment discount on this invoice is no longer available; "
            "$1,000.00 is now due.") in page
    assert checkout_form(payer, ["K-1"])["shown_charge"] == "100000"  # what is asked now
    ledger_ok(cart)


def test_a_total_that_changed_without_updating_the_totals_is_refused(cart, signed_in, stripe_js,
                                                                     stripe_dashboard):
    payer = signed_in()
    form = checkout_form(payer, ["K-2"], payment_method=stripe_js.create_card(VISA))
    assert form["shown_charge"] == "50000"
    # Typed after the page showed $500.00; "Update totals" not pressed.
    form.update({"amount-K-2": "450.00", "reason-K-2": "damaged"})

    with nothing_written(cart, stripe_dashboard):
        response = pay(payer, form)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ("The total is now $450.00. Nothing has been paid yet: check the amounts and pay "
            "again.") in text(page)
    assert hidden(page, "shown_charge") == "45000"
    assert "Pay $450.00" in text(page)
    # Paying from that page charges what it shows.
    again = pay(payer, form_on(page, payment_method=stripe_js.create_card(VISA)))
    assert again.status_code == 303
    assert only_payment(cart, "succeeded").amount_minor == 450_00
    assert invoice(cart, "K-2") == (50_00, 0, "open")
    ledger_ok(cart)


# Cards that do not pay -------------------------------------------------------------------


@pytest.mark.parametrize(("card", "code", "words"), [
    pytest.param(DECLINED, "generic_decline",
                 "The card was declined by the bank that issued it.", id="generic-decline"),
    pytest.param(INSUFFICIENT, "insufficient_funds",
                 "There was not enough money on the card or in the account.",
                 id="insufficient-funds"),
])
def test_a_declined_card_says_why_charges_nothing_and_frees_the_invoices(
        cart, signed_in, stripe_js, smtp_sink, card, code, words):
    payer = signed_in()
    form = checkout_form(payer, ["K-1", "K-2"], payment_method=stripe_js.create_card(card))

    response = pay(payer, form)

    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert f"The payment did not go through: {words} Nothing was charged." in text(page)
    assert only_payment(cart, "failed").failure_code == code
    assert_freed(cart, ["K-1", "K-2"])
    assert settlement_lines(cart) == []
    assert receipts(smtp_sink) == []
    ledger_ok(cart)
    # The page is the checkout again, discount and all, under a new key: another card pays.
    retry = form_on(page, payment_method=stripe_js.create_card(VISA))
    assert retry["checkout_key"] != form["checkout_key"]
    assert retry["shown_charge"] == "148000"
    assert pay(payer, retry).status_code == 303
    assert [(p.status, p.amount_minor) for p in payments_of(cart)] == [
        ("failed", 1480_00), ("succeeded", 1480_00)]
    assert invoice(cart, "K-1") == PAID and invoice(cart, "K-2") == PAID
    ledger_ok(cart)


def test_a_card_that_asks_for_3d_secure_settles_once_the_payer_verifies(cart, signed_in,
                                                                        stripe_js, smtp_sink):
    payer = signed_in()
    response = pay_new_card(payer, stripe_js, ["K-3"], THREE_D_SECURE)

    waiting = only_payment(cart, "requires_action")
    assert (response.status_code, response.location) == (
        303, f"/payments/{waiting.id}/authenticate")
    assert invoice(cart, "K-3") == (250_00, 250_00, "open")  # held while the bank asks
    secret = client_secret_on(payer, waiting.id)
    assert secret.startswith(f"{waiting.gateway_ref}_secret_")
    assert receipts(smtp_sink) == []

    verify_with_bank(stripe_js, secret, success=True)
    page = shown(payer, f"/payments/{waiting.id}/return")

    assert "Thank you. Your payment of $250.00 is complete" in page
    assert only_payment(cart, "succeeded").id == waiting.id
    assert invoice(cart, "K-3") == PAID
    assert len(settlement_lines(cart)) == 1
    assert_one_receipt_per_payment(smtp_sink, "$250.00")
    ledger_ok(cart)


@pytest.mark.parametrize(("card", "verified", "code", "words"), [
    pytest.param(THREE_D_SECURE, False, "payment_intent_authentication_failure",
                 "The card's bank asked for verification, which was not completed.",
                 id="verification-refused"),
    pytest.param(INSUFFICIENT_AFTER_3DS, True, "insufficient_funds",
                 "There was not enough money on the card or in the account.",
                 id="verified-then-insufficient-funds"),
])
def test_a_payment_that_fails_at_the_bank_after_3d_secure_frees_the_invoices(
        cart, signed_in, stripe_js, smtp_sink, card, verified, code, words):
    payer = signed_in()
    response = pay_new_card(payer, stripe_js, ["K-2", "K-3"], card)
    waiting = only_payment(cart, "requires_action")
    assert response.location == f"/payments/{waiting.id}/authenticate"

    verify_with_bank(stripe_js, client_secret_on(payer, waiting.id), success=verified)
    page = shown(payer, f"/payments/{waiting.id}/return")

    assert "The payment of $750.00 did not go through. Nothing was charged." in page
    assert words in page
    assert only_payment(cart, "failed").failure_code == code
    assert_freed(cart, ["K-2", "K-3"])
    assert settlement_lines(cart) == []
    assert receipts(smtp_sink) == []
    ledger_ok(cart)


# Submitting again ----------------------------------------------------------------------


def test_the_same_checkout_posted_twice_pays_and_charges_once(cart, signed_in, stripe_js,
                                                              stripe_dashboard, smtp_sink):
    payer = signed_in()
    form = checkout_form(payer, ["K-2", "K-3"], payment_method=stripe_js.create_card(VISA))

    first, second = pay(payer, form), pay(payer, form)

    paid = only_payment(cart, "succeeded")
    assert [first.status_code, second.status_code] == [303, 303]
    assert first.location == second.location == f"/payments/{paid.id}/return"
    assert "Thank you. Your payment of $750.00 is complete" in shown(payer, second.location)
    assert [(i["id"], i["amount"]) for i in stripe_dashboard.payment_intents()] == [
        (paid.gateway_ref, 750_00)]
    assert len(stripe_dashboard.charges()) == 1
    assert len(settlement_lines(cart)) == 1
    assert_one_receipt_per_payment(smtp_sink, "$750.00")
    ledger_ok(cart)


# Account credit --------------------------------------------------------------------------


def test_credit_that_covers_the_checkout_pays_it_without_a_card(cart, signed_in,
                                                                stripe_dashboard):
    give_credit(cart, 300_00)
    payer = signed_in()
    form = checkout_form(payer, ["K-3"], use_credit="1")
    assert form["shown_charge"] == "0"

    response = pay(payer, form)

    assert (response.status_code, response.location) == (303, "/invoices")
    assert ("$250.00 of your account's credit was applied to the invoices. Nothing was "
            "charged.") in shown(payer, response.location)
    assert invoice(cart, "K-3") == PAID
    assert credit(cart) == 50_00
    assert journal(cart, "credit_applied") == [[("customer_credit", None, 250_00),
                                                ("receivable", "K-3", -250_00)]]
    assert [p.method for p in payments_of(cart)] == ["external"]  # the wire only
    assert stripe_dashboard.payment_intents() == []
    ledger_ok(cart)


def test_a_credit_only_checkout_posted_twice_applies_the_credit_once(cart, signed_in):
    give_credit(cart, 300_00)
    payer = signed_in()
    form = checkout_form(payer, ["K-3"], use_credit="1")

    first, second = pay(payer, form), pay(payer, form)

    assert [(r.status_code, r.location) for r in (first, second)] == [(303, "/invoices")] * 2
    assert "credit was applied to the invoices" in shown(payer, second.location)
    assert credit(cart) == 50_00
    assert len(journal(cart, "credit_applied")) == 1
    ledger_ok(cart)


def test_credit_that_settles_a_discounted_invoice_takes_the_discount(cart, signed_in):
    give_credit(cart, 1000_00)
    payer = signed_in()
    form = checkout_form(payer, ["K-1"], use_credit="1")
    assert form["shown_charge"] == "0"

    response = pay(payer, form)

    assert (response.status_code, response.location) == (303, "/invoices")
    assert invoice(cart, "K-1") == PAID
    assert journal(cart, "credit_applied") == [[("customer_credit", None, 980_00),
                                                ("discounts_allowed", "K-1", 20_00),
                                                ("receivable", "K-1", -1000_00)]]
    assert credit(cart) == 20_00
    ledger_ok(cart)


def test_credit_and_a_card_together_pay_two_invoices(cart, signed_in, stripe_js, smtp_sink):
    give_credit(cart, 300_00)
    payer = signed_in()
    form = checkout_form(payer, ["K-2", "K-3"], use_credit="1",
                         payment_method=stripe_js.create_card(VISA))
    assert form["shown_charge"] == "45000"  # $750 less $300 of credit, used on K-2 first

    response = pay(payer, form)

    assert response.status_code == 303, text(response.get_data(as_text=True))
    assert "Thank you. Your payment of $450.00 is complete" in shown(payer, response.location)
    paid = only_payment(cart, "succeeded")
    assert (paid.amount_minor, card_payment(cart, paid.id).credit_minor) == (450_00, 300_00)
    assert journal(cart, "credit_applied") == [[("customer_credit", None, 300_00),
                                                ("receivable", "K-2", -300_00)]]
    assert allocations(cart, paid.id) == [("K-2", 200_00, 0, None, None),
                                          ("K-3", 250_00, 0, None, None)]
    assert invoice(cart, "K-2") == PAID and invoice(cart, "K-3") == PAID
    assert credit(cart) == 0
    assert_one_receipt_per_payment(smtp_sink, "$450.00")
    said = "Account credit of $300.00 was also applied with this payment: K-2 ($300.00)."
    assert said in shown(payer, f"/payments/{paid.id}")
    assert said in " ".join(receipts(smtp_sink)[0].split())
    receipt_pdf = payer.client.get(f"/payments/{paid.id}/receipt.pdf").data
    in_pdf = " ".join(pdf.text(receipt_pdf).split())  # a two-column layout: read in parts
    assert "Account credit of $300.00 was also applied" in in_pdf
    assert "K-2 ($300.00)." in in_pdf
    ledger_ok(cart)


def test_a_declined_card_leaves_the_credit_it_was_paired_with_unspent(cart, signed_in,
                                                                      stripe_js):
    give_credit(cart, 300_00)
    payer = signed_in()

    response = pay_new_card(payer, stripe_js, ["K-1"], DECLINED, use_credit="1")

    assert response.status_code == 402
    assert credit(cart) == 300_00
    assert_freed(cart, ["K-1"])
    page = response.get_data(as_text=True)
    assert hidden(page, "shown_charge") == "68000"  # $980 less $300 of credit, as before
    ledger_ok(cart)


def test_credit_promised_to_a_payment_in_progress_is_not_offered_twice(cart, signed_in,
                                                                        stripe_js):
    give_credit(cart, 300_00)
    payer = signed_in()
    waiting = pay_new_card(payer, stripe_js, ["K-2"], THREE_D_SECURE, use_credit="1")
    held = only_payment(cart, "requires_action")
    assert waiting.location == f"/payments/{held.id}/authenticate"
    assert held.amount_minor == 200_00 and credit(cart) == 300_00  # promised, not applied

    other = checkout_page(payer, ["K-3"], use_credit="1")
    assert "Use my account's credit first" not in text(other)  # none left to promise
    assert hidden(other, "shown_charge") == "25000"

    verify_with_bank(stripe_js, client_secret_on(payer, held.id), success=False)
    shown(payer, f"/payments/{held.id}/return")
    assert credit(cart) == 300_00 and journal(cart, "credit_applied") == []
    again = checkout_page(payer, ["K-3"], use_credit="1")
    assert hidden(again, "shown_charge") == "0"  # the failed payment's promise is gone
    ledger_ok(cart)


# Saved cards -----------------------------------------------------------------------------


def test_a_card_saved_at_checkout_is_offered_next_time_and_pays_without_stripe_js(
        cart, signed_in, stripe_js, stripe_dashboard):
    payer = signed_in()
    card = stripe_js.create_card(VISA)
    assert pay(payer, checkout_form(payer, ["K-3"], payment_method=card,
                                    save_card="1")).status_code == 303

    page = checkout_page(payer, ["K-2"])
    assert "Visa ending in 4242" in text(page)
    assert re.search(rf'name="card" value="{card}" checked', page)
    response = pay(payer, form_on(page, card=card))  # no new card: no Stripe.js call

    assert response.status_code == 303, text(response.get_data(as_text=True))
    assert "Thank you. Your payment of $500.00 is complete" in shown(payer, response.location)
    assert invoice(cart, "K-2") == PAID
    assert [(i["amount"], i["payment_method"], i["status"])
            for i in stripe_dashboard.payment_intents()] == [
        (250_00, card, "succeeded"), (500_00, card, "succeeded")]
    ledger_ok(cart)


@pytest.fixture
def globex_card(cart, signed_in, stripe_js) -> str:
    """A card Globex's payer saved while paying Globex's invoice."""
    card = stripe_js.create_card(VISA)
    globex = signed_in("payer@globex.example")
    response = pay(globex, checkout_form(globex, ["A-GLOBEX-1"], payment_method=card,
                                         save_card="1"))
    assert response.status_code == 303
    return card


@pytest.mark.parametrize("whose", ["another-account", "made-up"])
def test_a_card_that_is_not_one_of_the_accounts_saved_cards_is_refused(
        request, cart, signed_in, stripe_dashboard, whose):
    card = request.getfixturevalue("globex_card") if whose == "another-account" else "pm_x"
    payer = signed_in()
    form = checkout_form(payer, ["K-2"], card=card)

    with nothing_written(cart, stripe_dashboard):
        response = pay(payer, form)

    assert response.status_code == 422
    assert "That card is no longer saved. Choose another card." in text(
        response.get_data(as_text=True))
    ledger_ok(cart)


# Who may pay, and see what ---------------------------------------------------------------


def test_a_viewer_cannot_pay(cart, signed_in, stripe_js, stripe_dashboard):
    form = checkout_form(signed_in(), ["K-2"], payment_method=stripe_js.create_card(VISA))
    viewer = signed_in("viewer@acme.example")

    with nothing_written(cart, stripe_dashboard):
        response = viewer.client.post("/pay/confirm", data={
            **form, "csrf_token": viewer.csrf("/invoices")})

    assert response.status_code == 403


@pytest.mark.parametrize("page", ["authenticate", "return"])
def test_another_account_cannot_reach_a_payments_3d_secure_or_return_page(
        cart, signed_in, stripe_js, page):
    payer = signed_in()
    pay_new_card(payer, stripe_js, ["K-3"], THREE_D_SECURE)
    waiting = only_payment(cart, "requires_action")
    before = book_state(cart)

    response = signed_in("payer@globex.example").client.get(f"/payments/{waiting.id}/{page}")

    assert response.status_code == 404
    assert book_state(cart) == before
    assert client_secret_on(payer, waiting.id)  # still Acme's to verify


# Stripe that does not answer -------------------------------------------------------------


def test_a_card_processor_that_cannot_be_reached_writes_nothing(cart, relayed, stripe_js,
                                                                stripe_dashboard):
    payer = relayed(LOSE_ALL)
    form = checkout_form(payer, ["K-2"], payment_method=stripe_js.create_card(VISA))

    with nothing_written(cart, stripe_dashboard):
        response = pay(payer, form)

    assert response.status_code == 503
    assert ("The card processor could not be reached. Nothing has been paid; try again in a "
            "minute.") in text(response.get_data(as_text=True))


@pytest.mark.parametrize("lose", [LOSE_ANSWER, LOSE_REQUEST])
def test_a_payment_whose_charge_got_no_answer_is_charged_once_by_the_sweep(
        app, cart, relayed, stripe_js, stripe_dashboard, smtp_sink, lose):
    payer = relayed(lose)
    card = stripe_js.create_card(VISA)
    response = pay(payer, checkout_form(payer, ["K-1", "K-2"], payment_method=card))

    waiting = only_payment(cart, "pending")
    assert response.location == f"/payments/{waiting.id}"
    assert "Do not pay again" in shown(payer, response.location)
    assert (waiting.gateway_ref, card_payment(cart, waiting.id).payment_method_id) == (None, card)
    assert invoice(cart, "K-1") == (1000_00, 1000_00, "open")  # $980 and its $20 discount
    assert invoice(cart, "K-2") == (500_00, 500_00, "open")
    charged_already = 1 if lose == LOSE_ANSWER else 0
    assert len(stripe_dashboard.charges()) == charged_already

    summary = sweep(app)

    assert (summary.checked, summary.settled, summary.errors) == (1, 1, 0), summary.problems
    settled = only_payment(cart, "succeeded")
    [intent] = stripe_dashboard.payment_intents()
    assert (intent["id"], intent["amount"], intent["status"]) == (
        settled.gateway_ref, 1480_00, "succeeded")
    assert len(stripe_dashboard.charges()) == 1
    assert invoice(cart, "K-1") == PAID and invoice(cart, "K-2") == PAID
    assert_one_receipt_per_payment(smtp_sink, "$1,480.00")
    ledger_ok(cart)

    after = book_state(cart)
    assert sweep(app).checked == 0
    assert book_state(cart) == after
    assert len(stripe_dashboard.charges()) == 1
    assert_one_receipt_per_payment(smtp_sink, "$1,480.00")


def test_a_payment_stranded_longer_than_stripe_keeps_its_key_is_abandoned(
        app, cart, relayed, stripe_js, stripe_dashboard, smtp_sink):
    payer = relayed(LOSE_REQUEST)
    pay(payer, checkout_form(payer, ["K-1", "K-2"], payment_method=stripe_js.create_card(VISA)))
    waiting = only_payment(cart, "pending")
    backdate(cart, waiting.id, hours=24)

    summary = sweep(app)

    assert (summary.checked, summary.failed) == (1, 1)
    abandoned = only_payment(cart, "failed")
    assert (abandoned.id, abandoned.failure_code) == (waiting.id, "abandoned")
    assert_freed(cart, ["K-1", "K-2"])
    assert stripe_dashboard.payment_intents() == []  # not repeated: it could charge twice
    assert receipts(smtp_sink) == []
    ledger_ok(cart)


# Receipts --------------------------------------------------------------------------------


def test_each_settled_payment_emails_one_receipt_however_often_it_is_looked_at(
        app, cart, signed_in, stripe_js, smtp_sink):
    payer = signed_in()
    settled = pay_new_card(payer, stripe_js, ["K-1"]).location  # settled at once
    verifying = pay_new_card(payer, stripe_js, ["K-3"], THREE_D_SECURE).location
    verified = payment_id_in(verifying)
    assert verifying == f"/payments/{verified}/authenticate"
    verify_with_bank(stripe_js, client_secret_on(payer, verified))

    sweep(app)  # learns of the verified payment before its return page does
    for _ in range(2):  # each return page, reloaded
        shown(payer, settled)
        shown(payer, f"/payments/{verified}/return")
    sweep(app)

    assert [p.status for p in payments_of(cart)] == ["succeeded", "succeeded"]
    assert_one_receipt_per_payment(smtp_sink, "$980.00", "$250.00")
    ledger_ok(cart)
