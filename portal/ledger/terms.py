"""Payment terms: ``net 30``, ``2/10 net 30``, ``due on receipt``.

Terms are parsed once, when an invoice is created or imported, and kept on the
invoice as text and parts (net days, discount percent, discount days). The
discount deadline is a calendar date in the vendor's time zone: a discount is
earned by a payment started on or before that date there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from portal.money import Money

_TERMS = re.compile(
    r"^\s*(?:(?P<pct>\d+(?:\.\d{1,2})?)\s*%?\s*/\s*(?P<ddays>\d{1,3})\s*,?\s*)?"
    r"net\s*(?P<net>\d{1,3})\s*$",
    re.IGNORECASE,
)
_DUE_ON_RECEIPT = re.compile(r"^\s*(due\s+on\s+receipt|net\s*0)\s*$", re.IGNORECASE)


class TermsError(ValueError):
    """Terms text that cannot be understood."""


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """Net days and an optional early-pay discount."""

    net_days: int
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    @classmethod
    def parse(cls, text: str) -> PaymentTerms:
        """Parse terms such as ``"2/10 net 30"``, ``"net 45"`` or ``"due on receipt"``."""
        if _DUE_ON_RECEIPT.match(text or ""):
            return cls(0)
        match = _TERMS.match(text or "")
        if not match:
            raise TermsError(f"cannot read payment terms {text!r} "
                             "(expected e.g. 'net 30' or '2/10 net 30')")
        net = int(match["net"])
        if match["pct"] is None:
            return cls(net)
        try:
            pct = Decimal(match["pct"])
        except InvalidOperation:  # pragma: no cover - the regex admits only digits
            raise TermsError(f"bad discount in {text!r}") from None
        ddays = int(match["ddays"])
        if not Decimal(0) < pct < Decimal(100):
            raise TermsError(f"discount in {text!r} must be between 0 and 100 percent")
        if ddays > net:
            raise TermsError(f"discount period in {text!r} is longer than the net period")
        return cls(net, pct, ddays)

    @property
    def has_discount(self) -> bool:
        """Tell whether these terms offer an early-pay discount."""
        return self.discount_percent is not None

    def code(self) -> str:
        """Return the canonical text, e.g. ``"2/10 net 30"``."""
        if self.net_days == 0 and not self.has_discount:
            return "due on receipt"
        if self.has_discount:
            pct = format(self.discount_percent.normalize(), "f")
            return f"{pct}/{self.discount_days} net {self.net_days}"
        return f"net {self.net_days}"

    def due_date(self, issue_date: dt.date) -> dt.date:
        """Return the due date for an invoice issued on ``issue_date``."""
        return issue_date + dt.timedelta(days=self.net_days)

    def discount_deadline(self, issue_date: dt.date) -> dt.date | None:
        """Return the last day the discount can be earned, or None without one."""
        if not self.has_discount:
            return None
        return issue_date + dt.timedelta(days=self.discount_days)

    def discount_on(self, base: Money) -> Money:
        """Return the discount on ``base``, rounded half up to the minor unit."""
        if not self.has_discount:
            return Money.zero(base.currency)
        return base.percent(self.discount_percent, ROUND_HALF_UP)
