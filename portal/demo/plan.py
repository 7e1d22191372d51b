"""The demo's history as a plan: which invoices exist, and what happens to them.

Pure and deterministic: the same ``today`` gives the same plan (generators
seeded by name, every date counted back from ``today``), so invoice ages and
statuses look the same whichever day the demo is loaded. Nothing is posted
here; :mod:`portal.demo.data` posts the plan through the ledger's API.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from portal.demo.catalog import (
    CUSTOMERS,
    FREIGHT_DESCRIPTION,
    PRODUCTS,
    TROUBLED_CUSTOMER,
    CustomerProfile,
)
from portal.demo.stories import SEED, Event, Line, PlannedInvoice, Stories
from portal.money import Money

CAD_PRICE_FACTOR = Decimal("1.37")  # the vendor's Canadian price list


@dataclass(slots=True)
class DemoPlan:
    """The invoices and the time line of events, in the order they happen."""

    today: dt.date
    invoices: dict[str, PlannedInvoice]
    events: list[Event]


def plan(today: dt.date, now: dt.datetime | None = None) -> DemoPlan:
    """Plan the demo's history up to ``today`` (event times capped at ``now``)."""
    invoices = [inv for profile in CUSTOMERS for inv in _invoices(profile, today)]
    invoices.sort(key=lambda inv: (inv.issue_date, CUSTOMERS.index(inv.customer)))
    for n, inv in enumerate(invoices, start=1):
        inv.number = f"INV-{100000 + n}"
    by_number = {inv.number: inv for inv in invoices}
    stories = Stories(today, now, by_number)
    for profile in CUSTOMERS:
        rng = random.Random(f"{SEED}:stories:{profile.number}")
        mine = [inv for inv in invoices if inv.customer is profile]
        forced = _forced_fates(profile, mine, today)
        for inv in mine:
            stories.story(inv, rng, forced.get(inv.number))
    stories.group_payments()
    stories.showcase()
    events = sorted(stories.events, key=lambda e: e.at)  # stable: ties keep their order
    return DemoPlan(today, by_number, events)


def _price(unit_minor: int, currency: str) -> int:
    if currency == "USD":
        return unit_minor
    return int((unit_minor * CAD_PRICE_FACTOR).to_integral_value(ROUND_HALF_UP))


def _invoices(profile: CustomerProfile, today: dt.date) -> list[PlannedInvoice]:
    rng = random.Random(f"{SEED}:invoices:{profile.number}")
    count, span = profile.invoice_count, profile.history_days
    result = []
    for i in range(count):
        age = span * (count - 1 - i) // (count - 1) + rng.randint(-2, 2)
        issue = today - dt.timedelta(days=min(max(age, 0), span))
        while issue.weekday() >= 5:  # the vendor bills on business days
            issue -= dt.timedelta(days=1)
        terms = rng.choices([t for t, _ in profile.terms],
                            weights=[w for _, w in profile.terms])[0]
        po = (profile.po_format.format(rng.randint(100, 99999))
              if profile.po_format and rng.randrange(100) < 90 else None)
        result.append(PlannedInvoice(profile, issue, terms, po, _lines(profile, rng)))
    result.sort(key=lambda inv: inv.issue_date)
    return result


def _lines(profile: CustomerProfile, rng: random.Random) -> list[Line]:
    count = rng.choices([1, 2, 3, 4, 5, 6], weights=[8, 20, 28, 22, 14, 8])[0]
    lines = []
    for product in rng.sample(PRODUCTS, count):
        qty = rng.randint(product.min_qty, product.max_qty)
        unit = _price(product.unit_price_minor, profile.currency)
        amount = qty * unit
        tax = Money(amount, profile.currency).percent(profile.tax_rate, ROUND_HALF_UP).minor
        lines.append(Line(product.description, product.sku, qty, unit, amount, tax))
    if rng.randrange(100) < 30:
        freight = rng.randrange(45_00, 380_00)
        lines.append(Line(FREIGHT_DESCRIPTION, None, 1, freight, freight, 0))
    return lines


def _forced_fates(profile: CustomerProfile, mine: list[PlannedInvoice], today: dt.date
                  ) -> dict[str, str]:
    """Pick the invoices whose story is fixed: left unpaid, or written off."""
    forced: dict[str, str] = {}

    def nearest(days_ago: int, by_due: bool = False) -> str:
        target = today - dt.timedelta(days=days_ago)
        free = [inv for inv in mine if inv.number not in forced]
        return min(free, key=lambda inv: abs(((inv.due_date if by_due else inv.issue_date)
                                              - target).days)).number

    if profile.number == TROUBLED_CUSTOMER:
        forced[nearest(250)] = "write_off"
        forced[nearest(180)] = "short_write_off"
    for days_late in profile.unpaid_days_late:
        forced[nearest(days_late, by_due=True)] = "unpaid"
    return forced
