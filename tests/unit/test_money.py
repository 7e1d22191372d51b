"""Money: exact parsing, no floats, no mixing currencies, named rounding, exact splits."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.money import Money, MoneyError, check_currency, minor_exponent, split_evenly


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("10", "USD", 10_00),
    ("10.5", "USD", 10_50),
    ("10.50", "USD", 10_50),
    ("10.500", "USD", 10_50),  # more digits, but the same exact amount
    ("0.01", "USD", 1),
    ("  7.25 ", "USD", 7_25),
    ("1,234.50", "USD", 1_234_50),
    ("1,234,567.89", "USD", 1_234_567_89),
    ("1_000", "USD", 1_000_00),
    ("-5.25", "USD", -5_25),
    ("-1,000.01", "USD", -1_000_01),
    ("0", "USD", 0),
    ("1234", "JPY", 1234),
    ("1,234", "JPY", 1234),
    ("1.234", "BHD", 1234),
    ("10.5", "usd", 10_50),
])
def test_parse_is_exact(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency.upper())


@pytest.mark.parametrize(("text", "currency"), [
    ("10.005", "USD"),
    ("0.001", "USD"),
    ("12.5", "JPY"),
    ("1.0001", "BHD"),
])
def test_parse_refuses_more_decimals_than_the_currency_has(text, currency):
    with pytest.raises(MoneyError, match="decimal places"):
        Money.parse(text, currency)


@pytest.mark.parametrize("text", ["1234567890123456789012345678.005", "1e999999999"])
def test_parse_refuses_amounts_beyond_exact_decimal_arithmetic(text):
    # Beyond the 28-digit decimal context: refused, never rounded (the first
    # one was once accepted as ...678.00) and never a decimal.Overflow.
    with pytest.raises(MoneyError, match="too large"):
        Money.parse(text, "USD")


@pytest.mark.parametrize("text", [
    "", "   ", "abc", "12abc", "1.2.3", "$10", "10 USD", "--5", "NaN", "nan", "sNaN",
    "Infinity", "-Infinity", "inf",
])
def test_parse_refuses_junk(text):
    with pytest.raises(MoneyError):
        Money.parse(text, "USD")


@pytest.mark.parametrize("value", [10.5, 0.1, float("nan"), Decimal("10.5"), 10])
def test_parse_refuses_anything_but_text(value):
    # A float has already lost exactness before it reaches us; refuse it, and
    # keep parse to the one input it documents (text from a form, CSV or API).
    with pytest.raises(MoneyError):
        Money.parse(value, "USD")


@pytest.mark.parametrize("code", ["XYZ", "US", "USDD", "", "123"])
def test_unknown_currency_refused(code):
    with pytest.raises(MoneyError, match="unknown currency"):
        Money(1, code)
    with pytest.raises(MoneyError, match="unknown currency"):
        Money.parse("1", code)
    with pytest.raises(MoneyError):
        check_currency(code)


def test_minor_exponents():
    assert (minor_exponent("USD"), minor_exponent("eur"), minor_exponent("JPY"),
            minor_exponent("BHD")) == (2, 2, 0, 3)


@pytest.mark.parametrize("amount", [1.0, 10.5, Decimal("10"), "10", True, None])
def test_money_refuses_non_integer_minor_units(amount):
    with pytest.raises(MoneyError, match="integer"):
        Money(amount, "USD")


def test_arithmetic_in_one_currency():
    a, b = Money(10_50, "USD"), Money(2_25, "USD")
    assert a + b == Money(12_75, "USD")
    assert a - b == Money(8_25, "USD")
    assert -a == Money(-10_50, "USD")
    assert b < a and b <= a and a <= a and not a < b
    assert a > b  # via the reflected __lt__
    assert not Money.zero("USD") and bool(a)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a < b, lambda a, b: a <= b,
])
def test_arithmetic_across_currencies_refused(op):
    with pytest.raises(MoneyError, match="cannot combine USD with EUR"):
        op(Money(1_00, "USD"), Money(1_00, "EUR"))


@pytest.mark.parametrize("other", [1, 1.5, Decimal(1)])
def test_arithmetic_with_plain_numbers_refused(other):
    with pytest.raises(TypeError):
        Money(1_00, "USD") + other


@pytest.mark.parametrize(("minor", "rate", "rounding", "expected"), [
    (100_00, Decimal("2"), ROUND_HALF_UP, 2_00),
    (123_45, Decimal("2"), ROUND_HALF_UP, 2_47),      # 246.9 -> 247
    (25, Decimal("2"), ROUND_HALF_UP, 1),             # 0.5 -> 1
    (25, Decimal("2"), ROUND_HALF_EVEN, 0),           # 0.5 -> 0
    (75, Decimal("2"), ROUND_HALF_EVEN, 2),           # 1.5 -> 2
    (99, Decimal("1.5"), ROUND_DOWN, 1),              # 1.485 -> 1
    (-25, Decimal("2"), ROUND_HALF_UP, -1),           # half away from zero
    (1000, Decimal("0"), ROUND_HALF_UP, 0),
])
def test_percent_rounds_with_the_named_mode(minor, rate, rounding, expected):
    assert Money(minor, "USD").percent(rate, rounding) == Money(expected, "USD")


def test_percent_refuses_a_float_rate():
    with pytest.raises(MoneyError, match="Decimal"):
        Money(100_00, "USD").percent(2.0, ROUND_HALF_UP)


@pytest.mark.parametrize("rounding", [None, "", "half up"])
def test_percent_refuses_a_rounding_that_is_no_mode(rounding):
    with pytest.raises(MoneyError, match="rounding"):
        Money(25, "USD").percent(Decimal(2), rounding)


@pytest.mark.parametrize("rate", [Decimal("NaN"), Decimal("Infinity")])
def test_percent_refuses_a_rate_that_is_no_number(rate):
    with pytest.raises(MoneyError):
        Money(25, "USD").percent(rate, ROUND_HALF_UP)


def test_formatting():
    assert Money(1_234_50, "USD").plain() == "1234.50"
    assert Money(-5, "USD").plain() == "-0.05"
    assert Money(1234, "JPY").plain() == "1234"
    assert str(Money(1_00, "EUR")) == "1.00 EUR"
    assert Money(1_234_50, "USD").format() == "$1,234.50"


def test_split_evenly_examples():
    assert [m.minor for m in split_evenly(Money(100, "USD"), 3)] == [33, 33, 34]
    assert [m.minor for m in split_evenly(Money(-10, "USD"), 3)] == [-4, -3, -3]
    assert split_evenly(Money(5, "JPY"), 1) == [Money(5, "JPY")]
    with pytest.raises(MoneyError):
        split_evenly(Money(5, "USD"), 0)


@given(st.integers(-10**15, 10**15), st.integers(1, 50))
def test_split_evenly_sums_exactly_and_differs_by_at_most_one(minor, parts):
    pieces = split_evenly(Money(minor, "USD"), parts)
    assert len(pieces) == parts
    assert sum(p.minor for p in pieces) == minor
    assert max(p.minor for p in pieces) - min(p.minor for p in pieces) <= 1
    assert all(p.currency == "USD" for p in pieces)


@given(st.integers(-10**17, 10**17), st.sampled_from(["USD", "JPY", "BHD"]))
def test_plain_text_parses_back_to_the_same_amount(minor, currency):
    money = Money(minor, currency)
    assert Money.parse(money.plain(), currency) == money
