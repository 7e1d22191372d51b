"""The invoice center's business rules, as plain functions of plain values.

What the customer sees derived from an invoice and "today" (a date in the
vendor's time zone, :func:`portal.vendor.services.local_today`):

- *overdue*: open with a due date before today; *due soon*: open and due today
  or within the next :data:`DUE_SOON_DAYS` days;
- the *aging bucket* of an open invoice, by days past due: current (not yet
  due), 1-30, 31-60, 61-90, over 90;
- an open invoice on an *active* installment plan is neither overdue nor due
  soon: the plan's installments replace its due date (it is still payable);
  one on a requested or countered plan keeps its due date until the plan is
  in force;
- the *early-pay discount offer*: what to pay, by when, to save how much
  (DESIGN.md, "Early-pay discounts");
- the payment terms in words.

The date ranges here are the one definition of these rules: the list's SQL
filters and the summary's buckets are built from :func:`due_date_range`, and
both leave out invoices on active plans (listed and counted under "On plan").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal
from flask_babel import gettext, ngettext

from portal.ledger.models import Invoice
from portal.money import Money
from portal.plans.queries import PlanMark
from portal.vendor.models import Vendor

DUE_SOON_DAYS = 7

# Aging buckets in display order, with the days past due each one spans.
AGING_BUCKETS: tuple[str, ...] = ("current", "1_30", "31_60", "61_90", "over_90")
_BUCKET_DAYS: dict[str, tuple[int | None, int | None]] = {
    "current": (None, 0),
    "1_30": (1, 30),
    "31_60": (31, 60),
    "61_90": (61, 90),
    "over_90": (91, None),
}

DateRange = tuple[dt.date | None, dt.date | None]


def days_past_due(due_date: dt.date, today: dt.date) -> int:
    """Return how many days ``due_date`` is behind ``today`` (0 or less: not yet late)."""
    return (today - due_date).days


def aging_bucket(due_date: dt.date, today: dt.date) -> str:
    """Return the aging bucket of an open invoice due on ``due_date``."""
    late = days_past_due(due_date, today)
    for bucket in AGING_BUCKETS:
        least, most = _BUCKET_DAYS[bucket]
        if (least is None or late >= least) and (most is None or late <= most):
            return bucket
    raise AssertionError("the buckets cover every day")  # pragma: no cover


def due_date_range(name: str, today: dt.date) -> DateRange:
    """Return the due dates (earliest, latest; None = unbounded) of a bucket or window.

    ``name`` is an aging bucket, ``"overdue"`` or ``"due_soon"``.
    """
    if name == "overdue":
        return None, today - dt.timedelta(days=1)
    if name == "due_soon":
        return today, today + dt.timedelta(days=DUE_SOON_DAYS)
    least, most = _BUCKET_DAYS[name]
    # Past due by ``least`` to ``most`` days: due between today-most and today-least.
    earliest = None if most is None else today - dt.timedelta(days=most)
    latest = None if least is None else today - dt.timedelta(days=least)
    return earliest, latest


@dataclass(frozen=True, slots=True)
class InvoiceState:
    """What the customer is told about an invoice besides its ledger status.

    ``key`` is the status to show: the ledger's (``open``, ``paid``,
    ``credited``, ``written_off``, ``void``) or ``overdue`` for an open invoice
    past its due date and not on an active plan. ``plan`` is the requested,
    countered or active plan an open invoice is on.
    """

    key: str
    days_overdue: int
    due_soon: bool
    processing: bool
    partly_paid: bool
    # What a dispute in force holds back (portal.disputes), in the invoice's currency.
    disputed_minor: int = 0
    currency: str = ""
    plan: PlanMark | None = None

    @property
    def is_open(self) -> bool:
        """Tell whether something is still owed."""
        return self.key in ("open", "overdue")


def invoice_state(invoice: Invoice, today: dt.date, disputed_minor: int = 0,
                  plan: PlanMark | None = None) -> InvoiceState:
    """Derive what to show about ``invoice`` on ``today`` (vendor's time zone), with the
    amount a dispute in force holds (:func:`portal.disputes.services.held`) and the plan
    it is on (:func:`portal.plans.queries.plans_of`)."""
    is_open = invoice.status == "open" and invoice.balance_minor > 0
    # On an active plan the installments are what is chased, not the invoice's due date.
    chased = is_open and not (plan and plan.active)
    late = days_past_due(invoice.due_date, today) if chased else 0
    soon_from, soon_to = due_date_range("due_soon", today)
    return InvoiceState(
        key="overdue" if late > 0 else invoice.status,
        days_overdue=max(late, 0),
        due_soon=chased and soon_from <= invoice.due_date <= soon_to,
        processing=invoice.reserved_minor > 0,
        partly_paid=is_open and invoice.balance_minor < invoice.total_minor,
        disputed_minor=disputed_minor if is_open else 0, currency=invoice.currency,
        plan=plan if is_open else None,
    )


@dataclass(frozen=True, slots=True)
class DiscountOffer:
    """An early-pay discount still open: pay ``pay`` by ``deadline`` and save ``save``."""

    pay: Money
    save: Money
    deadline: dt.date
    prorated: bool


def discount_offer(invoice: Invoice, vendor: Vendor, today: dt.date) -> DiscountOffer | None:
    """Return the early-pay discount ``invoice`` still offers on ``today``, or None.

    The discount is the terms' percent of the vendor's discount base (the
    invoice total or its subtotal), rounded half up to the minor unit. It is
    open while the invoice is open, ``today`` is on or before the deadline
    (issue date plus the discount days), no payment is in progress on it (that
    payment may be taking the discount right now) and nothing of it has been
    paid or credited — unless the vendor pro-rates discounts on partial
    payments: then the discount is pro-rated to the balance still open.
    """
    if invoice.discount_percent is None or invoice.discount_days is None:
        return None
    if invoice.status != "open" or invoice.total_minor <= 0 or invoice.reserved_minor > 0:
        return None
    deadline = invoice.issue_date + dt.timedelta(days=invoice.discount_days)
    open_minor = invoice.balance_minor
    if today > deadline or open_minor <= 0:
        return None
    partial = open_minor < invoice.total_minor
    if partial and not vendor.prorate_partial_discounts:
        return None
    base = invoice.subtotal_minor if vendor.discount_base == "subtotal" else invoice.total_minor
    # One rounding, at the end: base x percent (x the open share when pro-rated).
    exact = Decimal(base) * invoice.discount_percent / Decimal(100)
    if partial:
        exact = exact * Decimal(open_minor) / Decimal(invoice.total_minor)
    save = min(int(exact.to_integral_value(rounding=ROUND_HALF_UP)), open_minor)
    if save <= 0:
        return None
    return DiscountOffer(pay=Money(open_minor - save, invoice.currency),
                         save=Money(save, invoice.currency), deadline=deadline,
                         prorated=partial)


def terms_in_words(net_days: int, discount_percent: Decimal | None,
                   discount_days: int | None, locale: str = "en") -> str:
    """Say payment terms in words: "2% discount if paid within 10 days, otherwise net 30"."""
    if discount_percent is None or discount_days is None:
        if net_days == 0:
            return gettext("Due on receipt")
        return ngettext("Net %(num)d: due %(num)d day after the invoice date",
                        "Net %(num)d: due %(num)d days after the invoice date", net_days)
    percent = format_decimal(discount_percent.normalize(), locale=locale)
    if net_days == 0:
        otherwise = gettext("otherwise due on receipt")
    else:
        otherwise = ngettext("otherwise net %(num)d", "otherwise net %(num)d", net_days)
    return ngettext("%(percent)s%% discount if paid within %(num)d day, %(otherwise)s",
                    "%(percent)s%% discount if paid within %(num)d days, %(otherwise)s",
                    discount_days, percent=percent, otherwise=otherwise)
