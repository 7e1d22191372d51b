"""What happens to each demo invoice, as a time line of events, before anything is posted.

Each invoice gets a *story*: paid on time or late, paid early with the
discount, paid in two parts, short-paid with a reason and credited, credited in
full, stuck for months, written off, or left unpaid. Story steps dated after
``today`` have not happened yet, which is what leaves recent invoices open and
old stuck ones overdue. Payments are the customer's payment runs: every step
paid on the same run day becomes one payment with several allocations, by the
method the customer used that day. A few showcase events follow (an ACH
payment still processing, an overpayment and part of its credit applied, an
ACH return, a declined card, a rebate).

Pure and deterministic: random choices come from generators seeded by name,
and every date is counted back from ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from portal.demo.catalog import (
    CARD_CUSTOMER,
    CUSTOMERS,
    LARGE_CUSTOMER,
    TROUBLED_CUSTOMER,
    VENDOR_PROFILE,
    CustomerProfile,
)
from portal.ledger.terms import PaymentTerms
from portal.money import Money

SEED = 20261123
ZONE = ZoneInfo(str(VENDOR_PROFILE["timezone"]))
ACH_SETTLE_DAYS = 3


@dataclass(frozen=True, slots=True)
class Line:
    """One planned invoice line."""

    description: str
    sku: str | None
    quantity: int
    unit_price_minor: int
    amount_minor: int
    tax_minor: int


@dataclass(slots=True)
class PlannedInvoice:
    """An invoice, what is planned for it and what is still open on it after ``today``."""

    customer: CustomerProfile
    issue_date: dt.date
    terms: str
    po_number: str | None
    lines: list[Line]
    number: str = ""
    open_minor: int = 0  # after every step dated up to today
    touched: bool = False  # some step up to today moved its balance

    @property
    def total_minor(self) -> int:
        """What the invoice asks for."""
        return sum(line.amount_minor + line.tax_minor for line in self.lines)

    @property
    def due_date(self) -> dt.date:
        """The due date its terms give."""
        return PaymentTerms.parse(self.terms).due_date(self.issue_date)


@dataclass(frozen=True, slots=True)
class Alloc:
    """What a payment takes from one invoice."""

    invoice: str
    cash_minor: int
    discount_minor: int = 0
    short_pay_reason: str | None = None
    short_pay_note: str | None = None


@dataclass(slots=True)
class Event:
    """One thing that happens: ``kind`` says which, the fields it needs are set."""

    at: dt.datetime
    kind: str  # issue, pay, credit_memo, apply_credit, write_off, reverse, fail, processing
    customer: str
    invoice: str | None = None
    amount_minor: int = 0
    method: str | None = None  # ach, card, check, wire
    allocations: list[Alloc] = field(default_factory=list)
    reference: str | None = None  # a check or wire reference; an ACH return's code
    settle_at: dt.datetime | None = None
    reason: str = ""  # why a credit, write-off, return or decline happened
    number: str | None = None  # credit memo number
    key: str | None = None  # a payment's name in the plan, for the return that refers to it


def _discount(inv: PlannedInvoice) -> int:
    """The early-pay discount on the whole invoice, on the vendor's discount base."""
    base = (inv.total_minor if VENDOR_PROFILE["discount_base"] == "total"
            else sum(line.amount_minor for line in inv.lines))
    return PaymentTerms.parse(inv.terms).discount_on(Money(base, inv.customer.currency)).minor


def at(day: dt.date, hour: int, minute: int = 0, *, now: dt.datetime | None = None
       ) -> dt.datetime:
    """Return ``hour:minute`` on ``day`` in the vendor's zone (never later than ``now``)."""
    moment = dt.datetime.combine(day, dt.time(hour, minute), ZONE).astimezone(dt.UTC)
    return min(moment, now) if now else moment


class Stories:
    """Builds the events; tracks each invoice's open amount as of ``today``."""

    def __init__(self, today: dt.date, now: dt.datetime | None,
                 invoices: dict[str, PlannedInvoice]) -> None:
        self.today, self.now, self.invoices = today, now, invoices
        self.events: list[Event] = []
        # (customer, run day) -> the story steps paid on that run
        self.paid: dict[tuple[str, dt.date], list[Alloc]] = defaultdict(list)
        self.credit_memos = 0
        self.payment_refs: dict[str, int] = defaultdict(int)
        self.methods: dict[tuple[str, dt.date], str] = {}

    def _at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return at(day, hour, minute, now=self.now)

    # -- invoice stories -------------------------------------------------

    def story(self, inv: PlannedInvoice, rng: random.Random, forced: str | None) -> None:
        """Plan what happens to ``inv``: its issue, then its payments, credits, write-off."""
        inv.open_minor = inv.total_minor
        self.events.append(Event(self._at(inv.issue_date, 7, 30), "issue",
                                 inv.customer.number, inv.number))
        habits = inv.customer.habits
        terms = PaymentTerms.parse(inv.terms)
        late = inv.due_date + dt.timedelta(days=rng.randint(*habits.late_days))
        late = max(late, inv.issue_date + dt.timedelta(days=5))
        if rng.randrange(100) < habits.stuck:
            late = inv.due_date + dt.timedelta(days=rng.randint(45, 240))
        roll = rng.randrange(100)
        fate = forced or ("credit_full" if roll < 2 else "short" if roll < 6
                          else "partial" if roll < 11 else "credit_part" if roll < 14
                          else "normal")
        # A one-line invoice has no line to deduct: "short" and "credit_part" fall
        # through to being paid normally.
        deduction = self._deduction(inv, rng)
        credit_day = inv.issue_date + dt.timedelta(days=rng.randint(4, 20))
        if fate == "unpaid":
            return
        if fate == "credit_full":
            self._credit(inv, credit_day, inv.total_minor, "Order returned unused; RMA "
                         f"{rng.randint(40000, 49999)} received and restocked")
        elif fate == "short" and deduction:
            day = self._pay(inv, late, inv.total_minor - deduction, reason="damaged",
                            note="Two cartons arrived crushed; photos sent to the driver")
            if day:
                self._credit(inv, day + dt.timedelta(days=rng.randint(10, 25)), deduction,
                             "Damaged in transit: freight claim filed with the carrier")
        elif fate == "partial":
            part = inv.total_minor * rng.randint(30, 60) // 100 // 100 * 100
            day = self._pay(inv, late - dt.timedelta(days=10), part) if part else None
            if day:
                self._pay(inv, day + dt.timedelta(days=rng.randint(20, 120)), inv.open_minor)
        elif fate == "credit_part" and deduction:
            if self._credit(inv, credit_day, deduction, "Price correction: billed at list, "
                            "contract price applies"):
                self._pay(inv, late, inv.open_minor)
        elif fate == "write_off":
            self._write_off(inv, inv.due_date + dt.timedelta(days=150), inv.open_minor,
                            "Uncollectible: project abandoned, lien deadline passed")
        elif fate == "short_write_off":
            short = min(inv.total_minor * 3 // 100, 45_00)
            day = self._pay(inv, late, inv.total_minor - short, reason="pricing",
                            note="Paid at the quoted price")
            if day:
                self._write_off(inv, day + dt.timedelta(days=30), short,
                                "Small balance written off: pricing difference under $50")
        elif terms.has_discount and rng.randrange(100) < habits.takes_discount:
            discount = _discount(inv)
            day = inv.issue_date + dt.timedelta(days=rng.randint(2, terms.discount_days))
            self._pay(inv, day, inv.total_minor - discount, discount=discount,
                      deadline=terms.discount_deadline(inv.issue_date))
        else:
            self._pay(inv, late, inv.total_minor)

    def _deduction(self, inv: PlannedInvoice, rng: random.Random) -> int:
        if len(inv.lines) < 2:
            return 0
        line = rng.choice(inv.lines)
        return line.amount_minor + line.tax_minor

    def _run_day(self, inv: PlannedInvoice, day: dt.date, deadline: dt.date | None) -> dt.date:
        """Move ``day`` to the customer's next payment run (the last one by ``deadline``)."""
        runs = inv.customer.habits.run_days
        if deadline is None:
            while day.weekday() not in runs:
                day += dt.timedelta(days=1)
            return day
        day = min(day, deadline)
        while day.weekday() not in runs and day > inv.issue_date + dt.timedelta(days=1):
            day -= dt.timedelta(days=1)
        return day

    def _happened(self, day: dt.date, method_settles_later: bool = False) -> bool:
        settle = day + dt.timedelta(days=ACH_SETTLE_DAYS if method_settles_later else 0)
        return settle <= self.today

    def _pay(self, inv: PlannedInvoice, day: dt.date, cash: int, *, discount: int = 0,
             deadline: dt.date | None = None, reason: str | None = None,
             note: str | None = None) -> dt.date | None:
        """Plan a payment step; return its day if it has happened by today."""
        if cash + discount <= 0:
            return None
        day = self._run_day(inv, max(day, inv.issue_date + dt.timedelta(days=1)), deadline)
        method = self._method(inv.customer, day)
        if not self._happened(day, method == "ach"):
            return None
        self.paid[(inv.customer.number, day)].append(
            Alloc(inv.number, cash, discount, reason, note))
        inv.open_minor -= cash + discount
        inv.touched = True
        return day

    def _credit(self, inv: PlannedInvoice, day: dt.date, amount: int, reason: str) -> bool:
        if day > self.today or amount <= 0:
            return False
        self.credit_memos += 1
        self.events.append(Event(self._at(day, 11), "credit_memo", inv.customer.number,
                                 inv.number, amount, reason=reason,
                                 number=f"CM-{5000 + self.credit_memos}"))
        inv.open_minor -= amount
        inv.touched = True
        return True

    def _write_off(self, inv: PlannedInvoice, day: dt.date, amount: int, reason: str) -> None:
        if day <= self.today and amount > 0:
            self.events.append(Event(self._at(day, 16), "write_off", inv.customer.number,
                                     inv.number, amount, reason=reason))
            inv.open_minor -= amount
            inv.touched = True

    # -- payments --------------------------------------------------------

    def _method(self, customer: CustomerProfile, day: dt.date) -> str:
        """The method of the customer's payment run on ``day`` (one per run)."""
        key = (customer.number, day)
        if key not in self.methods:
            # Seeded by how long ago the run was, so the plan is the same any day.
            rng = random.Random(f"{SEED}:method:{customer.number}:{(self.today - day).days}")
            methods = customer.habits.methods
            self.methods[key] = rng.choices([m for m, _ in methods],
                                            weights=[w for _, w in methods])[0]
        return self.methods[key]

    def _reference(self, customer: CustomerProfile, method: str, day: dt.date) -> str:
        """A check number or wire reference as the bank reports it."""
        self.payment_refs[customer.number + method] += 1
        seq = self.payment_refs[customer.number + method]
        if method == "check":
            return f"CHK {customer.habits.first_check + seq - 1}"
        if customer.currency == "CAD":
            return f"WIRE SWIFT REF ROYCCAT2 {day:%y%m%d}{seq:04d}"
        return f"WIRE FED REF {day:%Y%m%d}QMGFT014{seq:06d}"

    def group_payments(self) -> None:
        """Turn each customer's run-day steps into one payment per run."""
        for (number, day), allocs in sorted(self.paid.items(), key=lambda kv: kv[0][1]):
            customer = next(c for c in CUSTOMERS if c.number == number)
            method = self._method(customer, day)
            # A story pays at most once per run day, so each invoice appears once.
            event = Event(self._at(day, 9, 40) if method == "ach" else self._at(day, 10, 15),
                          "pay", number, method=method, allocations=list(allocs),
                          key=f"{number}:{day.isoformat()}:{method}")
            event.amount_minor = sum(a.cash_minor for a in event.allocations)
            if method == "ach":
                event.settle_at = self._at(day + dt.timedelta(days=ACH_SETTLE_DAYS), 6)
            elif method == "card":
                event.settle_at = self._at(day, 10, 17)
            else:
                event.reference = self._reference(customer, method, day)
            self.events.append(event)

    # -- showcase events ---------------------------------------------------

    def showcase(self) -> None:
        """Add the events that show the ledger's less common paths."""
        today = self.today
        pays = [e for e in self.events if e.kind == "pay"]
        # An overpayment: the troubled customer's check covers an invoice twice.
        checks = [e for e in pays if e.customer == TROUBLED_CUSTOMER and e.method == "check"
                  and e.at.date() <= today - dt.timedelta(days=30)]
        if checks:
            check = checks[-1]
            extra = self.invoices[check.allocations[0].invoice].total_minor
            check.amount_minor += extra
            target = self._untouched(TROUBLED_CUSTOMER, before=today - dt.timedelta(days=12))
            if target:
                applied = min(target.open_minor - 1, extra * 60 // 100)
                self.events.append(Event(self._at(today - dt.timedelta(days=12), 15),
                                         "apply_credit", TROUBLED_CUSTOMER, target.number,
                                         applied, reason="duplicate payment"))
                target.open_minor -= applied
                target.touched = True
        # An ACH return, paid again by card a few days later.
        achs = [e for e in pays if e.customer == CARD_CUSTOMER and e.method == "ach"
                and e.settle_at and e.settle_at.date() <= today - dt.timedelta(days=40)]
        if achs:
            returned = achs[-1]
            day = returned.settle_at.date() + dt.timedelta(days=2)
            self.events.append(Event(self._at(day, 8), "reverse", CARD_CUSTOMER,
                                     reason="Insufficient funds", reference="R01",
                                     key=returned.key))
            retry_day = day + dt.timedelta(days=3)
            self.events.append(Event(self._at(retry_day, 14, 5), "pay", CARD_CUSTOMER,
                                     method="card", allocations=list(returned.allocations),
                                     amount_minor=returned.amount_minor,
                                     settle_at=self._at(retry_day, 14, 7),
                                     key=f"{CARD_CUSTOMER}:{retry_day.isoformat()}:retry"))
        # A declined card on an open invoice: nothing posted, the attempt is kept.
        declined = self._open(CARD_CUSTOMER)
        if declined:
            self.events.append(Event(self._at(today - dt.timedelta(days=2), 16, 45), "fail",
                                     CARD_CUSTOMER, method="card",
                                     allocations=[Alloc(declined.number,
                                                        declined.open_minor)],
                                     amount_minor=declined.open_minor,
                                     reason="Your card was declined."))
        # A rebate credited to the large customer's account, not to an invoice.
        self.credit_memos += 1
        self.events.append(Event(self._at(today - dt.timedelta(days=20), 11, 30),
                                 "credit_memo", LARGE_CUSTOMER, None, 1_250_00,
                                 reason="Q3 volume rebate: 2% on purchases over $60,000",
                                 number=f"CM-{5000 + self.credit_memos}"))
        self._processing_ach()

    def _processing_ach(self) -> None:
        """The large customer's ACH payment started yesterday, still processing."""
        today = self.today
        candidates = sorted(
            (inv for inv in self.invoices.values()
             if inv.customer.number == LARGE_CUSTOMER and not inv.touched
             and today <= inv.due_date <= today + dt.timedelta(days=10)),
            key=lambda inv: inv.due_date)
        discounted = [inv for inv in self.invoices.values()
                      if inv.customer.number == LARGE_CUSTOMER and not inv.touched
                      and inv.terms.startswith("2/10")
                      and inv.issue_date >= today - dt.timedelta(days=9)]
        allocs = [Alloc(inv.number, inv.open_minor) for inv in candidates[:2]]
        if discounted:
            inv = discounted[0]
            discount = _discount(inv)
            allocs.append(Alloc(inv.number, inv.total_minor - discount, discount))
        if allocs:
            self.events.append(Event(self._at(today - dt.timedelta(days=1), 14, 30),
                                     "processing", LARGE_CUSTOMER, method="ach",
                                     allocations=allocs,
                                     amount_minor=sum(a.cash_minor for a in allocs)))
            for a in allocs:
                self.invoices[a.invoice].touched = True

    def _untouched(self, customer: str, before: dt.date) -> PlannedInvoice | None:
        return next((inv for inv in self.invoices.values()
                     if inv.customer.number == customer and not inv.touched
                     and inv.issue_date < before and inv.open_minor > 1), None)

    def _open(self, customer: str) -> PlannedInvoice | None:
        return next((inv for inv in self.invoices.values() if inv.customer.number == customer
                     and inv.open_minor > 0 and inv.due_date < self.today), None)
