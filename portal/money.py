"""Money: an integer count of minor units and an ISO 4217 currency code.

Invariants:

- No floats, ever: amounts are ``int`` minor units; parsing goes through
  ``Decimal`` from text and refuses anything that does not fit the currency's
  minor unit exactly (``"10.005"`` USD is an error, never rounded silently).
- Arithmetic between amounts of different currencies raises.
- Every rounding names its mode; :meth:`Money.percent` requires one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)

from babel.numbers import format_currency, get_currency_precision, list_currencies

_KNOWN_CURRENCIES = frozenset(list_currencies())
_ROUNDINGS = frozenset({ROUND_05UP, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN,
                        ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP})


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


# Where CLDR's display precision (what Babel reports) differs from the ISO 4217
# minor unit, ISO 4217 decides: amounts are stored and exchanged in ISO units.
_ISO_4217_EXPONENTS = {
    "AFN": 2, "ALL": 2, "IQD": 3, "IRR": 2, "KPW": 2, "LAK": 2, "LBP": 2, "MGA": 2,
    "MMK": 2, "RSD": 2, "SOS": 2, "SYP": 2, "YER": 2,
}
# Codes that are not money a customer can owe: precious metals, test and
# "no currency" codes, fund and accounting units.
_NOT_PAYABLE = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT",
                          "XSU", "XTS", "XUA", "XXX"})


def check_currency(code: str) -> str:
    """Return ``code`` if it is an ISO 4217 currency code, else raise MoneyError."""
    if not isinstance(code, str) or len(code) != 3:
        raise MoneyError(f"unknown currency code {code!r}")
    code = code.upper()
    if code not in _KNOWN_CURRENCIES or code in _NOT_PAYABLE:
        raise MoneyError(f"unknown currency code {code!r}")
    return code


def minor_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s ISO 4217 minor unit (2 for USD, 0 for JPY)."""
    code = check_currency(currency)
    return _ISO_4217_EXPONENTS.get(code, get_currency_precision(code))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``minor`` units of ``currency``."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"money must be an integer of minor units, got {self.minor!r}")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return no money in ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal string such as ``"1234.50"`` into exact minor units.

        Thousands separators (``,`` or ``_``) are allowed; more decimal places
        than the currency has are refused, not rounded.
        """
        if not isinstance(text, str):
            # A float has lost exactness before it gets here; take text only.
            raise MoneyError(f"{text!r} is not text; amounts are parsed from text only")
        exponent = minor_exponent(currency)
        cleaned = text.strip().replace(",", "").replace("_", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise MoneyError(f"{text!r} is not an amount")
        try:
            # quantize refuses (where scaleb would round silently) beyond the
            # context's 28 digits; a rounded result differs from value.
            exact = value.quantize(Decimal(1).scaleb(-exponent))
        except InvalidOperation:
            raise MoneyError(f"{text!r} is too large an amount") from None
        if exact != value:
            raise MoneyError(
                f"{text!r} has more decimal places than {currency.upper()} allows ({exponent})"
            )
        return cls(int(exact.scaleb(exponent)), currency)

    def to_decimal(self) -> Decimal:
        """Return the amount in major units as an exact Decimal."""
        return Decimal(self.minor).scaleb(-minor_exponent(self.currency))

    def percent(self, rate: Decimal, rounding: str) -> Money:
        """Return ``rate`` percent of this amount, rounded to a minor unit with ``rounding``."""
        if not isinstance(rate, Decimal) or not rate.is_finite():
            raise MoneyError("a percentage must be a finite Decimal")
        if rounding not in _ROUNDINGS:
            raise MoneyError(f"{rounding!r} is not a decimal rounding mode")
        value = (Decimal(self.minor) * rate / Decimal(100)).to_integral_value(rounding=rounding)
        return Money(int(value), self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def format(self, locale: str = "en_US") -> str:
        """Format for people, e.g. ``$1,234.50`` or ``1 234,50 €``."""
        return format_currency(self.to_decimal(), self.currency, locale=locale)

    def plain(self) -> str:
        """Format as a plain decimal string (``"1234.50"``), for CSV and APIs."""
        return f"{self.to_decimal():f}"

    def __str__(self) -> str:
        return f"{self.plain()} {self.currency}"


def split_evenly(total: Money, parts: int) -> list[Money]:
    """Split ``total`` into ``parts`` amounts that differ by at most one minor unit.

    The remainder goes to the last parts, so the sum is always exactly ``total``.
    """
    if parts < 1:
        raise MoneyError("cannot split into fewer than one part")
    base, remainder = divmod(total.minor, parts)
    return [Money(base + (1 if i >= parts - remainder else 0), total.currency)
            for i in range(parts)]


HALF_UP = ROUND_HALF_UP
