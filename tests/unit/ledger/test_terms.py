"""Payment terms: parsing, canonical codes, due dates and early-pay discounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.ledger.terms import PaymentTerms, TermsError
from portal.money import Money

ISSUED = dt.date(2026, 11, 1)


@pytest.mark.parametrize(("text", "net", "pct", "ddays", "code"), [
    ("2/10 net 30", 30, Decimal("2"), 10, "2/10 net 30"),
    ("1.5/15 net 45", 45, Decimal("1.5"), 15, "1.5/15 net 45"),
    ("net 45", 45, None, None, "net 45"),
    ("due on receipt", 0, None, None, "due on receipt"),
    ("Due On Receipt", 0, None, None, "due on receipt"),
    ("net 0", 0, None, None, "due on receipt"),
    ("NET30", 30, None, None, "net 30"),
    ("2% / 10, net 30", 30, Decimal("2"), 10, "2/10 net 30"),
    ("1.50/10 net 30", 30, Decimal("1.5"), 10, "1.5/10 net 30"),
    ("10/10 net 30", 30, Decimal("10"), 10, "10/10 net 30"),
    ("2/30 net 30", 30, Decimal("2"), 30, "2/30 net 30"),
])
def test_parse_and_code(text, net, pct, ddays, code):
    terms = PaymentTerms.parse(text)
    assert (terms.net_days, terms.discount_percent, terms.discount_days) == (net, pct, ddays)
    assert terms.has_discount is (pct is not None)
    assert terms.code() == code
    assert PaymentTerms.parse(terms.code()) == terms


@pytest.mark.parametrize(("text", "why"), [
    ("10/40 net 30", "longer than the net period"),
    ("0/10 net 30", "between 0 and 100"),
    ("100/10 net 30", "between 0 and 100"),
    ("net", "cannot read"),
    ("abc", "cannot read"),
    ("", "cannot read"),
    (None, "cannot read"),
    ("2/10", "cannot read"),
    ("net 30 days", "cannot read"),
    ("net -30", "cannot read"),
    ("1.555/10 net 30", "cannot read"),
    ("net 1000", "cannot read"),
])
def test_parse_refuses(text, why):
    with pytest.raises(TermsError, match=why):
        PaymentTerms.parse(text)


def test_two_ten_net_thirty_dates_and_discount():
    terms = PaymentTerms.parse("2/10 net 30")
    assert terms.due_date(ISSUED) == dt.date(2026, 12, 1)
    assert terms.discount_deadline(ISSUED) == dt.date(2026, 11, 11)
    assert terms.discount_on(Money(100_00, "USD")) == Money(2_00, "USD")
    assert terms.discount_on(Money(123_45, "USD")) == Money(2_47, "USD")  # 2.469 -> 2.47
    assert terms.discount_on(Money(25, "USD")) == Money(1, "USD")  # 0.5 rounds half up
    assert terms.discount_on(Money(24, "USD")) == Money(0, "USD")


def test_one_and_a_half_fifteen_net_forty_five():
    terms = PaymentTerms.parse("1.5/15 net 45")
    assert terms.due_date(ISSUED) == dt.date(2026, 12, 16)
    assert terms.discount_deadline(ISSUED) == dt.date(2026, 11, 16)
    assert terms.discount_on(Money(10_00, "USD")) == Money(15, "USD")
    assert terms.discount_on(Money(33, "USD")) == Money(0, "USD")  # 0.495 -> 0
    assert terms.discount_on(Money(100, "JPY")) == Money(2, "JPY")  # 1.5 -> 2
    # Across a year end.
    assert terms.due_date(dt.date(2026, 12, 20)) == dt.date(2027, 2, 3)


def test_net_forty_five_has_no_discount():
    terms = PaymentTerms.parse("net 45")
    assert terms.due_date(ISSUED) == dt.date(2026, 12, 16)
    assert terms.discount_deadline(ISSUED) is None
    assert terms.discount_on(Money(100_00, "EUR")) == Money(0, "EUR")


def test_due_on_receipt():
    terms = PaymentTerms.parse("due on receipt")
    assert terms.due_date(ISSUED) == ISSUED
    assert terms.discount_deadline(ISSUED) is None
    assert terms.discount_on(Money(100_00, "USD")) == Money.zero("USD")
