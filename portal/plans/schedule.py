"""An installment plan's schedule and the vendor's policy for plan requests: pure
arithmetic and rules, no database (the plan pages and services, still to be built for
issue 9, build on these).

Schedule rules:

- Money is in minor units. What the plan covers (``total_minor``) less the down
  payment is split evenly over the installments; what does not divide goes on
  the last one, so the amounts always add up to the total exactly.
- The down payment, if any, is due on the day the plan starts (``today``).
- Installments fall on the first date and then every week, every two weeks, or
  every month. Monthly dates keep the first date's day of the month, or the
  month's last day when it is shorter (Jan 31, Feb 28, Mar 31).

Policy rules (:class:`Policy`, the vendor's configuration): a request inside every
limit — total, number of installments, how far away the first date is, the down
payment, and the customer's record (no plan defaulted in the last 12 months, open
AR plus nothing over its credit limit) — is approved at once; outside any of them
it goes to staff, with every reason it did (:func:`judge`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

WEEKLY, BIWEEKLY, MONTHLY = "weekly", "biweekly", "monthly"
FREQUENCIES = (WEEKLY, BIWEEKLY, MONTHLY)


class ScheduleError(ValueError):
    """A plan that cannot be scheduled as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Installment:
    """One payment of the plan: its number (0 is the down payment), due date, amount."""

    number: int
    due_on: dt.date
    amount_minor: int

    @property
    def is_down_payment(self) -> bool:
        return self.number == 0


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months``, on the same day of the month or the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_dates(first: dt.date, count: int, frequency: str) -> list[dt.date]:
    """The ``count`` due dates starting on ``first``."""
    if frequency == WEEKLY:
        return [first + dt.timedelta(weeks=k) for k in range(count)]
    if frequency == BIWEEKLY:
        return [first + dt.timedelta(weeks=2 * k) for k in range(count)]
    if frequency == MONTHLY:
        return [add_months(first, k) for k in range(count)]
    raise ScheduleError(f"unknown frequency {frequency!r}: one of {', '.join(FREQUENCIES)}")


def schedule(total_minor: int, count: int, frequency: str, first: dt.date, *,
             today: dt.date, down_minor: int = 0) -> list[Installment]:
    """The plan's payments: the down payment (if any) today, then ``count`` installments."""
    if isinstance(total_minor, bool) or not isinstance(total_minor, int) or total_minor <= 0:
        raise ScheduleError("a plan must cover a positive amount")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ScheduleError("a plan needs at least one installment")
    if not 0 <= down_minor < total_minor:
        raise ScheduleError("the down payment must be less than the total")
    if first <= today:
        raise ScheduleError("the first installment must be after today")
    rest = total_minor - down_minor
    if rest < count:
        raise ScheduleError("each installment must be at least one minor unit")
    each, remainder = divmod(rest, count)
    payments = [Installment(0, today, down_minor)] if down_minor else []
    for k, day in enumerate(due_dates(first, count, frequency), start=1):
        payments.append(Installment(k, day, each + (remainder if k == count else 0)))
    return payments


# The vendor's policy -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """What a plan request may ask for and still be approved at once, and how an active
    plan is kept: the reminder before an autopay debit, the grace before a default."""

    max_total_minor: int = 25_000_00  # in the plan's currency
    max_installments: int = 6
    max_first_delay_days: int = 45  # from today to the first installment
    min_down_percent: Decimal = Decimal("10")  # of the total, rounded up to the minor unit
    frequencies: tuple[str, ...] = FREQUENCIES
    default_lookback_days: int = 365  # "no plan defaulted in the last 12 months"
    reminder_days: int = 3  # the e-mail before an autopay debit, this many days ahead
    grace_days: int = 10  # an installment unpaid this many days after its date: default

    def min_down_minor(self, total_minor: int) -> int:
        return int((Decimal(total_minor) * self.min_down_percent / 100)
                   .to_integral_value(rounding=ROUND_CEILING))

    @classmethod
    def from_settings(cls, settings: dict | None) -> Policy:
        """The policy a vendor's ``plan_policy`` setting describes (None: the defaults);
        ValueError naming the setting that is wrong."""
        if not settings:
            return cls()
        if not isinstance(settings, dict):
            raise ValueError("plan_policy must be a JSON object")
        unknown = sorted(set(settings) - set(POLICY_SETTINGS))
        if unknown:
            raise ValueError(f"unknown plan_policy setting(s): {', '.join(unknown)}; "
                             f"known: {', '.join(POLICY_SETTINGS)}")
        values: dict[str, object] = {}
        for name, value in settings.items():
            if name == "frequencies":
                if not isinstance(value, list) or not value or \
                        any(item not in FREQUENCIES for item in value):
                    raise ValueError(f"frequencies must be a list of {', '.join(FREQUENCIES)}")
                values[name] = tuple(value)
            elif name == "min_down_percent":
                try:
                    percent = Decimal(str(value))
                except ArithmeticError:
                    raise ValueError("min_down_percent must be a number from 0 to 100") from None
                if isinstance(value, bool) or not 0 <= percent <= 100:
                    raise ValueError("min_down_percent must be a number from 0 to 100")
                values[name] = percent
            else:
                low = POLICY_SETTINGS[name]
                if isinstance(value, bool) or not isinstance(value, int) or value < low:
                    raise ValueError(f"{name} must be a whole number of at least {low}")
                values[name] = value
        return cls(**values)


# The settings a vendor may give, and the least each whole number may be.
POLICY_SETTINGS: dict[str, int | None] = {
    "max_total_minor": 1, "max_installments": 1, "max_first_delay_days": 1,
    "min_down_percent": None, "frequencies": None, "default_lookback_days": 0,
    "reminder_days": 0, "grace_days": 0,
}


@dataclass(frozen=True, slots=True)
class Record:
    """The customer's standing, as the policy reads it."""

    defaulted_within_lookback: bool = False
    open_ar_minor: int = 0  # what the customer owes now, the plan's invoices included
    credit_limit_minor: int | None = None  # None: no limit set


@dataclass(slots=True)
class Verdict:
    """Approved at once, or sent to staff with every reason."""

    reasons: list[str] = field(default_factory=list)  # codes, see judge()

    @property
    def approved(self) -> bool:
        return not self.reasons


def judge(policy: Policy, *, total_minor: int, count: int, frequency: str, first: dt.date,
          today: dt.date, down_minor: int, record: Record) -> Verdict:
    """Tell whether a (well-formed) request is inside ``policy``; each limit it is outside
    adds its code: ``total``, ``installments``, ``frequency``, ``first_date``,
    ``down_payment``, ``defaulted``, ``credit_limit``."""
    verdict = Verdict()
    if total_minor > policy.max_total_minor:
        verdict.reasons.append("total")
    if count > policy.max_installments:
        verdict.reasons.append("installments")
    if frequency not in policy.frequencies:
        verdict.reasons.append("frequency")
    if (first - today).days > policy.max_first_delay_days:
        verdict.reasons.append("first_date")
    if down_minor < policy.min_down_minor(total_minor):
        verdict.reasons.append("down_payment")
    if record.defaulted_within_lookback:
        verdict.reasons.append("defaulted")
    if record.credit_limit_minor is not None and \
            record.open_ar_minor > record.credit_limit_minor:
        verdict.reasons.append("credit_limit")
    return verdict
