"""The checkout's arithmetic on real ledger rows: discounts, short pays, overpayments,
credit, one amount spread oldest-overdue first, and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import ledger
from portal.ledger.payments import AllocationInput
from portal.payments.checkout import CheckoutRequest, LineRequest, allocate_total, quote
from portal.vendor.services import get_vendor
from tests import builders

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def book(app, db):
    """Acme (USD): A-1 $1,000 on 2/10 net 30 issued Nov 15 (discount open until Nov 25),
    A-2 $500 net 30 due Oct 10 (overdue), A-3 $250 net 30 due Dec 5; a CAD invoice C-1;
    Globex's G-1. Returns the session, open until the test ends."""
    with app.test_request_context(), db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s, "C-ACME")
        globex = builders.customer(s, "C-GLOBEX", name="Globex")
        builders.invoice(s, acme, 1000_00, number="A-1", terms="2/10 net 30",
                         issue_date=dt.date(2026, 11, 15))
        builders.invoice(s, acme, 500_00, number="A-2", issue_date=dt.date(2026, 9, 10))
        builders.invoice(s, acme, 250_00, number="A-3", issue_date=dt.date(2026, 11, 5))
        builders.invoice(s, acme, 80_00, number="C-1", currency="CAD",
                         issue_date=dt.date(2026, 11, 1))
        builders.invoice(s, globex, 70_00, number="G-1")
        yield s, acme.id, get_vendor(s)


def ask(book, *lines: LineRequest, today: dt.date = TODAY, **options):
    session, customer_id, vendor = book
    return quote(session, customer_id, vendor, today, CheckoutRequest(tuple(lines), **options))


def line_of(result, number: str):
    return next(line for line in result.lines if line.invoice.number == number)


def test_paying_what_is_due_takes_the_open_discount(book):
    result = ask(book, LineRequest("A-1", shown_discount_minor=20_00), LineRequest("A-2"))
    assert result.ok and result.currency == "USD"
    a1 = line_of(result, "A-1")
    assert (a1.pay_minor, a1.discount_minor, a1.short_minor) == (980_00, 20_00, 0)
    assert (result.discount_minor, result.charge_minor) == (20_00, 1480_00)
    ids = {line.invoice.number: line.invoice.id for line in result.lines}
    assert result.allocations() == [AllocationInput(ids["A-1"], 980_00, 20_00),
                                    AllocationInput(ids["A-2"], 500_00, 0)]


def test_the_discount_deadline_is_the_vendors_date(book):
    # Nov 25 is the last day of 2/10 on an invoice of Nov 15; on Nov 26 it is gone.
    assert line_of(ask(book, LineRequest("A-1"), today=dt.date(2026, 11, 25)),
                   "A-1").discount_minor == 20_00
    late = ask(book, LineRequest("A-1"), today=dt.date(2026, 11, 26))
    assert line_of(late, "A-1").discount_minor == 0 and late.charge_minor == 1000_00


def test_a_discount_shown_then_expired_is_refused_not_charged_differently(book):
    result = ask(book, LineRequest("A-1", shown_discount_minor=20_00),
                 today=dt.date(2026, 11, 26))
    assert not result.ok
    assert line_of(result, "A-1").errors == [
        "The early-payment discount on this invoice is no longer available; $1,000.00 is now "
        "due."]


def test_short_pay_needs_a_reason_from_the_vendors_list(book):
    result = ask(book, LineRequest("A-2", amount="450"))
    assert line_of(result, "A-2").errors == ["Paying less than is due needs a reason."]
    result = ask(book, LineRequest("A-2", amount="450", reason="made-up"))
    assert not result.ok
    result = ask(book, LineRequest("A-2", amount="450", reason="other"))
    assert line_of(result, "A-2").errors == ["Say in a few words why less is paid."]
    result = ask(book, LineRequest("A-2", amount="450.00", reason="damaged",
                                   note="  two crates dented  "))
    a2 = line_of(result, "A-2")
    assert result.ok and (a2.pay_minor, a2.short_minor, a2.reason, a2.note) == (
        450_00, 50_00, "damaged", "two crates dented")
    assert result.allocations()[0].short_pay_reason == "damaged"


def test_short_paying_a_discounted_invoice_loses_the_discount(book):
    result = ask(book, LineRequest("A-1", amount="900", reason="pricing"))
    a1 = line_of(result, "A-1")
    assert result.ok and (a1.pay_minor, a1.discount_minor, a1.short_minor) == (900_00, 0, 80_00)


def test_overpayment_goes_to_credit_only_when_confirmed(book):
    result = ask(book, LineRequest("A-3", amount="300"))
    assert line_of(result, "A-3").errors == [
        "This is $50.00 more than the $250.00 due. To pay it anyway, confirm that the rest "
        "goes to your account's credit."]
    result = ask(book, LineRequest("A-3", amount="300"), overpay_to_credit=True)
    a3 = line_of(result, "A-3")
    assert result.ok and (a3.cash_minor, a3.over_minor, result.charge_minor) == (
        250_00, 50_00, 300_00)
    assert result.allocations() == [AllocationInput(a3.invoice.id, 250_00, 0)]


@pytest.mark.parametrize(("typed", "locale", "minor"), [
    ("1,000.00", "en", 1000_00), ("1 000,00", "fr", 1000_00), ("999,5", "es", 999_50)])
def test_amounts_are_read_in_the_payers_language(book, typed, locale, minor):
    session, customer_id, vendor = book
    result = quote(session, customer_id, vendor, TODAY,
                   CheckoutRequest((LineRequest("A-1", amount=typed, reason="pricing"),)),
                   locale=locale)
    assert line_of(result, "A-1").pay_minor == minor


@pytest.mark.parametrize("typed", ["12.345", "-5", "abc", "0", "1e3"])
def test_amounts_that_are_not_money_are_refused(book, typed):
    result = ask(book, LineRequest("A-2", amount=typed, reason="other", note="x"))
    assert not result.ok and line_of(result, "A-2").pay_minor == 0


def test_foreign_unknown_closed_and_mixed_currency_invoices_are_refused(book, app):
    result = ask(book, LineRequest("G-1"))
    assert result.errors == ["Invoice G-1 was not found in this account."]
    assert result.lines == []  # nothing of Globex's is read into the quote
    assert ask(book, LineRequest("NOPE")).errors == ["Invoice NOPE was not found in this "
                                                     "account."]
    mixed = ask(book, LineRequest("A-2"), LineRequest("C-1"))
    assert mixed.errors == ["Invoices in CAD, USD cannot be paid together: pay each currency "
                            "separately."]
    session, customer_id, _ = book
    a3 = line_of(ask(book, LineRequest("A-3")), "A-3").invoice
    ledger.record_external_payment(session, customer_id=customer_id, amount_minor=250_00,
                                   currency="USD", reference="CHK 1001",
                                   allocations=[AllocationInput(a3.id, 250_00)],
                                   idempotency_key="check-1001")
    assert line_of(ask(book, LineRequest("A-3")), "A-3").errors == [
        "This invoice is already paid."]


def test_what_a_payment_in_progress_reserves_is_not_open(book):
    session, customer_id, _ = book
    a2 = line_of(ask(book, LineRequest("A-2")), "A-2").invoice
    ledger.start_payment(session, customer_id=customer_id, currency="USD", method="card",
                         amount_minor=200_00, allocations=[AllocationInput(a2.id, 200_00)])
    result = ask(book, LineRequest("A-2"))
    assert result.ok and line_of(result, "A-2").pay_minor == 300_00
    assert not ask(book, LineRequest("A-2", amount="300.01"), overpay_to_credit=False).ok


def test_credit_is_used_oldest_overdue_first(book):
    session, customer_id, _ = book
    ledger.issue_credit_memo(session, number="CM-1", customer_id=customer_id,
                             amount_minor=600_00, currency="USD", reason="volume rebate")
    result = ask(book, LineRequest("A-3"), LineRequest("A-2"), use_credit=True)
    assert result.ok and result.credit_available_minor == 600_00
    assert (line_of(result, "A-2").credit_minor, line_of(result, "A-3").credit_minor) == (
        500_00, 100_00)
    assert result.charge_minor == 150_00


def test_one_amount_is_spread_oldest_overdue_first(book):
    result = ask(book, LineRequest("A-1"), LineRequest("A-2"), LineRequest("A-3"))
    # Due Oct 10, Dec 5 and Dec 15: A-2, then A-3, then A-1 (at its discounted $980).
    assert allocate_total(result, 1200_00) == {"A-2": 500_00, "A-3": 250_00, "A-1": 450_00}
    assert allocate_total(result, 1730_00) == {"A-2": 500_00, "A-1": 980_00, "A-3": 250_00}
    assert allocate_total(result, 1800_00) == {"A-2": 570_00, "A-1": 980_00, "A-3": 250_00}
