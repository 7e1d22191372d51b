"""What a payer types about a bank account, checked before anything is sent or stored.

Why a module of its own: the same checks guard the form (per-field messages, shown
beside each field) and the service (:mod:`portal.payments.bank_accounts`), which
never trusts that a view ran them. Everything here is pure: strings in, clean
values or :class:`InvalidEntry` out.

- Routing number: nine digits whose ABA check digit is right
  (3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 mod 10), not all zeros.
- Account number: 4 to 17 digits (the NACHA field is 17 long), typed twice, the same.
- Spaces and hyphens people copy from a check or a statement are dropped first.
- Micro-deposit amounts are cents: "32", "0.32", ".32", "$0.32" and "0,32" all mean
  32 cents, and a bare whole number always means cents (a deposit is under a dollar,
  so "32" cannot mean $32); each is 1-99 cents. The descriptor code is six letters
  or digits starting with "SM", in any case.

The numbers are returned for the one call that hands them to Stripe, and never
kept, logged or put in an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

CHECKING, SAVINGS = "checking", "savings"
ACCOUNT_TYPES = (CHECKING, SAVINGS)
HOLDER_NAME_MAX = 120  # BankAccount.holder_name
MICRODEPOSIT_MIN, MICRODEPOSIT_MAX = 1, 99  # cents

_SEPARATORS = re.compile(r"[\s\-]")
_CENTS = re.compile(r"\d{1,2}")
_DOLLARS = re.compile(r"0?[.,](\d{1,2})")
_DESCRIPTOR = re.compile(r"SM[A-Z0-9]{4}")
_ABA_WEIGHTS = (3, 7, 1) * 3


class InvalidEntry(ValueError):
    """What was typed cannot be used; ``errors`` maps each form field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ManualEntry:
    """A bank account typed in, checked. ``repr`` hides the numbers (no accidental logging)."""

    holder_name: str
    account_type: str
    routing_number: str = field(repr=False)
    account_number: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.account_number[-4:]


def aba_checksum_ok(digits: str) -> bool:
    """Tell whether nine digits have a right ABA check digit (and are not all zeros)."""
    if not re.fullmatch(r"\d{9}", digits) or digits == "0" * 9:
        return False
    return sum(int(d) * w for d, w in zip(digits, _ABA_WEIGHTS, strict=True)) % 10 == 0


def _digits(text: str | None) -> str:
    return _SEPARATORS.sub("", text or "")


def manual_entry(*, holder_name: str | None, account_type: str | None,
                 routing_number: str | None, account_number: str | None,
                 account_number_again: str | None) -> ManualEntry:
    """Check a typed-in bank account; raise :class:`InvalidEntry` naming every bad field."""
    errors: dict[str, str] = {}
    holder = " ".join((holder_name or "").split())
    if not holder:
        errors["holder_name"] = _("Enter the name on the bank account.")
    elif len(holder) > HOLDER_NAME_MAX:
        errors["holder_name"] = _("Use at most %(count)s characters.", count=HOLDER_NAME_MAX)
    if account_type not in ACCOUNT_TYPES:
        errors["account_type"] = _("Choose checking or savings.")
    routing = _digits(routing_number)
    if not re.fullmatch(r"\d{9}", routing):
        errors["routing_number"] = _("Enter the routing number: 9 digits.")
    elif not aba_checksum_ok(routing):
        errors["routing_number"] = _("This is not a valid US routing number. Check it "
                                     "against a check or your bank's website.")
    number = _digits(account_number)
    if not re.fullmatch(r"\d{4,17}", number):
        errors["account_number"] = _("Enter the account number: 4 to 17 digits.")
    elif _digits(account_number_again) != number:
        errors["account_number_again"] = _("The two account numbers are not the same. "
                                           "Type the account number again.")
    if errors:
        raise InvalidEntry(errors)
    return ManualEntry(holder_name=holder, account_type=str(account_type),
                       routing_number=routing, account_number=number)


def microdeposit_cents(text: str | None) -> int | None:
    """One micro-deposit as typed ("32", "0.32", "$0.32"): its cents, or None if unreadable
    or not between 1 and 99 cents."""
    value = (text or "").strip().removeprefix("$").strip()
    if _CENTS.fullmatch(value):
        cents = int(value)
    elif match := _DOLLARS.fullmatch(value):
        decimals = match.group(1)
        cents = int(decimals) * (10 if len(decimals) == 1 else 1)
    else:
        return None
    return cents if MICRODEPOSIT_MIN <= cents <= MICRODEPOSIT_MAX else None


def microdeposit_amounts(first: str | None, second: str | None) -> tuple[int, int]:
    """The two micro-deposits as typed, in cents; else :class:`InvalidEntry` per field."""
    errors: dict[str, str] = {}
    cents = []
    for name, text in (("amount_1", first), ("amount_2", second)):
        value = microdeposit_cents(text)
        if value is None:
            errors[name] = _("Enter the deposit in cents, between 1 and 99: for $0.32 type "
                             "32 or 0.32.")
        cents.append(value or 0)
    if errors:
        raise InvalidEntry(errors)
    return cents[0], cents[1]


def descriptor_code(text: str | None) -> str:
    """The descriptor code as typed, upper case; else :class:`InvalidEntry`."""
    code = _SEPARATORS.sub("", text or "").upper()
    if not _DESCRIPTOR.fullmatch(code):
        raise InvalidEntry({"descriptor_code": _(
            "Enter the 6-character code that starts with SM, as it appears on the deposit.")})
    return code
