"""Reading the plan request form: the invoices chosen, the terms typed (in the payer's
language), the reason; every problem by field, for the page to mark."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import InvalidOperation

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from portal.i18n import parse_amount
from portal.money import Money, MoneyError
from portal.plans.schedule import FREQUENCIES
from portal.plans.services import Terms

MAX_COUNT = 60  # installments a form may ask for at all (the policy decides what is approved)


@dataclass(slots=True)
class Asked:
    """What the form asks for; ``terms`` is None while any field is wrong (see ``errors``)."""

    numbers: list[str]
    terms: Terms | None
    reason: str
    errors: dict[str, str] = field(default_factory=dict)


def read(form: MultiDict, currency: str, locale: str, today: dt.date) -> Asked:
    """The request the form holds, each problem under its field's name."""
    errors: dict[str, str] = {}
    numbers = list(dict.fromkeys(n for n in form.getlist("invoice") if n))
    if not numbers:
        errors["invoice"] = _("Choose the invoices the plan is for.")
    count_text = form.get("count", "").strip()
    count = int(count_text) if count_text.isdigit() else 0
    if not 1 <= count <= MAX_COUNT:
        errors["count"] = _("Enter a number of installments from 1 to %(max)d.", max=MAX_COUNT)
    frequency = form.get("frequency", "")
    if frequency not in FREQUENCIES:
        errors["frequency"] = _("Choose weekly, every two weeks or monthly.")
    try:
        first = dt.date.fromisoformat(form.get("first_due_on", "").strip())
    except ValueError:
        first = None
        errors["first_due_on"] = _("Enter the first installment's date, such as %(example)s.",
                                   example=(today + dt.timedelta(days=30)).isoformat())
    if first is not None and first <= today:
        errors["first_due_on"] = _("Choose a first installment date after today.")
    down = 0
    down_text = form.get("down_payment", "").strip()
    if down_text:
        try:
            value = parse_amount(down_text, locale)
            if value < 0:
                raise InvalidOperation
            down = Money.parse(format(value, "f"), currency or "USD").minor
        except (InvalidOperation, MoneyError):
            errors["down_payment"] = _("Enter the down payment as an amount, such as 100.00, "
                                       "or leave it empty.")
    terms = None if set(errors) - {"invoice"} else Terms(count, frequency, first, down)
    return Asked(numbers, terms, form.get("reason", "").strip()[:2000], errors)
