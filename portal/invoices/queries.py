"""Reads of the invoice list: filtered, sorted, keyset-paginated; its summary and totals.

Every function takes the current customer's id and filters by it first, so
another customer's invoice is never found.

Pagination is by keyset, never OFFSET: rows are ordered by a sort key and the
id (a unique tie-breaker), and a page starts strictly after (or before) the
key of the row where the previous page ended, which the cursor carries. With
the indexes on ``(customer_id[, status], <sort key>, id)`` (migrations 0001
and 0005) every page is an index range scan, however deep.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from portal.core import cursors
from portal.db import folded, prefix_range
from portal.disputes.services import held, in_force_clause
from portal.invoices import open_totals, services
from portal.invoices.forms import InvoiceFilter, ListParams
from portal.ledger import customer_credit
from portal.ledger.models import Customer, Invoice, Payment, Reservation
from portal.money import Money, minor_exponent
from portal.payments import ach_authorization
from portal.plans.queries import on_active_plan_clause, open_on_active_plans, plans_of
from portal.vendor.models import Vendor

_SORT_KEYS: dict[str, tuple] = {
    "due": (Invoice.due_date, Invoice.id),
    "issued": (Invoice.issue_date, Invoice.id),
    # Amounts of different currencies do not compare: group by currency first.
    "amount": (Invoice.currency, Invoice.total_minor, Invoice.id),
}
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "due": (dt.date, int), "issued": (dt.date, int), "amount": (str, int, int)}
# Matches counted for a filter the summary cannot answer; past it, "more than".
COUNT_CAP = 1000
# What is open to pay: balance less reservations, never below zero.
AVAILABLE = case((Invoice.balance_minor > Invoice.reserved_minor,
                  Invoice.balance_minor - Invoice.reserved_minor), else_=0)


def _split(sort: str) -> tuple[str, bool]:
    key, _, direction = sort.rpartition("_")
    return key, direction == "desc"


def key_of(sort: str, row) -> list:
    """Return the sort key of ``row`` (an invoice or a row with its columns) for ``sort``."""
    return [getattr(row, column.key) for column in _SORT_KEYS[_split(sort)[0]]]


def encode_cursor(sort: str, key: list) -> str:
    """Return an opaque cursor for the position just after/before ``key`` in ``sort``."""
    return cursors.encode([sort, [v.isoformat() if isinstance(v, dt.date) else v for v in key]])


def decode_cursor(sort: str, token: str | None) -> list | None:
    """Return the key a cursor carries, or None if it is missing, malformed or of another sort."""
    try:
        name, values = cursors.decode(token)
        types = _KEY_TYPES[_split(sort)[0]]
        if name != sort or len(values) != len(types):
            return None
        key = []
        for value, kind in zip(values, types, strict=True):
            if kind is dt.date:
                value = dt.date.fromisoformat(value)
            elif not isinstance(value, kind) or isinstance(value, bool):
                return None
            key.append(value)
        return key
    except (ValueError, TypeError, KeyError):
        return None


def customer_currencies(session: Session, customer_id: int) -> list[str]:
    """Return the currencies of the customer's invoices and its own, sorted.

    A skip scan: one index seek per currency (the next one after the last found,
    on ``(customer_id, currency, ...)``), not a pass over every invoice, so the
    cost does not grow with the customer's invoice count.
    """
    found: set[str] = set()
    last = ""
    while (currency := session.scalar(select(func.min(Invoice.currency)).where(
            Invoice.customer_id == customer_id, Invoice.currency > last))) is not None:
        found.add(currency)
        last = currency
    own = session.scalar(select(Customer.currency).where(Customer.id == customer_id))
    return sorted(found | ({own} if own else set()))


def _between(column, earliest, latest) -> list[ColumnElement]:
    return [c for c in (None if earliest is None else column >= earliest,
                        None if latest is None else column <= latest) if c is not None]


def _minor(amount: Decimal, currency: str, rounding: str) -> int:
    return int(amount.scaleb(minor_exponent(currency)).to_integral_value(rounding=rounding))


def conditions(customer_id: int, f: InvoiceFilter, today: dt.date,
               currencies: list[str]) -> list[ColumnElement]:
    """Return the WHERE conditions of ``f`` for the customer's invoices on ``today``."""
    where: list[ColumnElement] = [Invoice.customer_id == customer_id]
    is_open = Invoice.status == "open"
    # An invoice on an active plan is kept by the plan's schedule: not late, not due soon.
    on_plan = on_active_plan_clause(Invoice.id)
    if f.status in ("open", "overdue", "due_soon"):
        where.append(is_open)
        if f.status != "open":
            where += [*_between(Invoice.due_date, *services.due_date_range(f.status, today)),
                      ~on_plan]
    elif f.status == "processing":
        where.append(Invoice.reserved_minor > 0)
    elif f.status == "on_plan":
        where += [is_open, on_plan]
    elif f.status == "disputed":
        where += [is_open, in_force_clause(Invoice.id)]
    elif f.status != "all":
        where.append(Invoice.status == f.status)
    if f.aging:
        where += [is_open, *_between(Invoice.due_date, *services.due_date_range(f.aging, today)),
                  ~on_plan]
    if f.q:
        # A range on each, not LIKE: an index range scan (portal.db.folded).
        low, high = prefix_range(f.q)
        where.append(or_(*[and_(folded(column) >= low,
                                *([] if high is None else [folded(column) < high]))
                           for column in (Invoice.number, Invoice.po_number)]))
    where += _between(Invoice.issue_date, f.issue_from, f.issue_to)
    where += _between(Invoice.due_date, f.due_from, f.due_to)
    if f.currency:
        where.append(Invoice.currency == f.currency)
    if f.amount_min is not None or f.amount_max is not None:
        # The same amount is a different count of minor units in each currency.
        per_currency = [and_(Invoice.currency == cur, *_between(
            Invoice.total_minor,
            None if f.amount_min is None else _minor(f.amount_min, cur, ROUND_CEILING),
            None if f.amount_max is None else _minor(f.amount_max, cur, ROUND_FLOOR)))
            for cur in currencies]
        where.append(or_(*per_currency) if per_currency else false())
    return where


def keyset(stmt, sort: str, key: list | None, *, backwards: bool = False, limit: int):
    """Order ``stmt`` by ``sort`` and start strictly after ``key`` (before, ``backwards``)."""
    columns = _SORT_KEYS[_split(sort)[0]]
    descending = _split(sort)[1] != backwards
    if key is not None:
        row = tuple_(*columns)
        bound = tuple_(*(literal(v, c.type) for v, c in zip(key, columns, strict=True)))
        stmt = stmt.where(row < bound if descending else row > bound)
    return stmt.order_by(*(c.desc() if descending else c.asc() for c in columns)).limit(limit)


@dataclass(frozen=True, slots=True)
class Listed:
    """An invoice on the list, with what to show about it today."""

    invoice: Invoice
    state: services.InvoiceState
    offer: services.DiscountOffer | None
    processing_until: dt.date | None = None  # a bank debit holds it: expected by then

    @property
    def exponent(self) -> int:
        """Decimal places of the invoice's currency (for the selection total in the browser)."""
        return minor_exponent(self.invoice.currency)


@dataclass(slots=True)
class Page:
    """One page of the list and the cursors of its neighbours."""

    rows: list[Listed]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def invoice_page(session: Session, customer_id: int, params: ListParams, today: dt.date,
                 vendor: Vendor, currencies: list[str]) -> Page:
    """Return the page of the customer's invoices that ``params`` asks for."""
    backwards = params.before is not None and params.after is None
    key = decode_cursor(params.sort, params.before if backwards else params.after)
    backwards = backwards and key is not None
    stmt = select(Invoice).where(*conditions(customer_id, params.filter, today, currencies))
    invoices = list(session.scalars(keyset(stmt, params.sort, key, backwards=backwards,
                                           limit=params.per_page + 1)))
    more = len(invoices) > params.per_page
    invoices = invoices[:params.per_page]
    if backwards:
        invoices.reverse()
    has_next, has_prev = (True, more) if backwards else (more, key is not None)
    until = _bank_debits_until(session, [inv.id for inv in invoices if inv.reserved_minor > 0],
                               vendor)
    disputed = held(session, [inv.id for inv in invoices])
    plans = plans_of(session, [inv.id for inv in invoices])
    page = Page([Listed(inv, services.invoice_state(inv, today, disputed.get(inv.id, 0),
                                                    plans.get(inv.id)),
                        services.discount_offer(inv, vendor, today), until.get(inv.id))
                 for inv in invoices])
    if invoices and has_next:
        page.next_cursor = encode_cursor(params.sort, key_of(params.sort, invoices[-1]))
    if invoices and has_prev:
        page.prev_cursor = encode_cursor(params.sort, key_of(params.sort, invoices[0]))
    return page


def _bank_debits_until(session: Session, invoice_ids: list[int],
                       vendor: Vendor) -> dict[int, dt.date]:
    """When the bank debits holding these invoices should have settled (the latest, each)."""
    if not invoice_ids:
        return {}
    zone = vendor.zone
    until: dict[int, dt.date] = {}
    for invoice_id, started in session.execute(
            select(Reservation.invoice_id, Reservation.created_at)
            .join(Payment, Payment.id == Reservation.payment_id)
            .where(Reservation.invoice_id.in_(invoice_ids), Reservation.released_at.is_(None),
                   Payment.method == "ach")):
        expected = ach_authorization.expected_by(started.astimezone(zone).date())
        until[invoice_id] = max(expected, until.get(invoice_id, expected))
    return until


@dataclass(slots=True)
class Matching:
    """How many invoices match a filter, and what of them is open to pay, per currency."""

    count: int = 0
    payable_count: int = 0
    payable: list[Money] = field(default_factory=list)
    more: bool = False  # over COUNT_CAP match: the figures are not the whole

    def payable_json(self) -> list[dict[str, object]]:
        """Return what is open to pay for the browser: minor units as text, and exponents."""
        return [{"currency": m.currency, "minor": str(m.minor),
                 "exponent": minor_exponent(m.currency)} for m in self.payable]


def matching(session: Session, customer_id: int, f: InvoiceFilter, today: dt.date,
             currencies: list[str]) -> Matching:
    """Count the invoices matching ``f`` and total what is open to pay on them.

    Up to :data:`COUNT_CAP`: past it the result says ``more`` and its figures are
    those of the first ones read, so a broad filter costs the same for a customer
    with 100,000 invoices as for one with 2,000 (the summary's tabs have their
    exact counts from :func:`summary` instead).
    """
    result = Matching()
    capped = (select(Invoice.currency, AVAILABLE.label("available"))
              .where(*conditions(customer_id, f, today, currencies))
              .limit(COUNT_CAP + 1).subquery())
    rows = session.execute(
        select(capped.c.currency, func.count(), func.coalesce(func.sum(capped.c.available), 0),
               func.coalesce(func.sum(case((capped.c.available > 0, 1), else_=0)), 0))
        .group_by(capped.c.currency).order_by(capped.c.currency))
    for currency, count, payable, payable_count in rows:
        result.count += count
        result.payable_count += int(payable_count)
        if payable:
            result.payable.append(Money(int(payable), currency))
    if result.count > COUNT_CAP:
        result.count, result.more = COUNT_CAP, True
    return result


def matching_numbers(session: Session, customer_id: int, f: InvoiceFilter, today: dt.date,
                     currencies: list[str], *, exclude: Iterable[str] = (),
                     limit: int) -> list[str]:
    """Return the numbers of the invoices open to pay that match ``f``, oldest due first.

    What "select all matching" on the list means; at most ``limit`` numbers (the
    caller asks for one more than it accepts to tell "too many").
    """
    stmt = (select(Invoice.number)
            .where(*conditions(customer_id, f, today, currencies), AVAILABLE > 0)
            .order_by(Invoice.due_date, Invoice.id).limit(limit))
    skipped = set(exclude)
    if skipped:
        stmt = stmt.where(Invoice.number.not_in(skipped))
    return list(session.scalars(stmt))


@dataclass(slots=True)
class Figure:
    """A count of invoices and their open balance, per currency."""

    count: int = 0
    minor: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, currency: str, count: int, minor: int) -> None:
        """Count ``count`` more invoices with ``minor`` more open in ``currency``."""
        self.count += count
        self.minor[currency] += minor

    def amounts(self, fallback: str) -> list[Money]:
        """Return the amounts, one per currency (zero in ``fallback`` when there are none)."""
        shown = [Money(m, c) for c, m in sorted(self.minor.items()) if m]
        return shown or [Money.zero(fallback)]


@dataclass(frozen=True, slots=True)
class Group:
    """Open invoices of one currency, aging bucket and due-soon flag, as the summary counts them."""

    currency: str
    bucket: str
    due_soon: bool
    count: int
    payable_count: int
    payable_minor: int


@dataclass(slots=True)
class Summary:
    """The figures above the list: what is open, late, due soon, on plan, in progress and in
    credit.

    Open invoices on an active plan count in ``open`` and ``on_plan`` (and in
    ``processing`` while a payment is under way), never in ``overdue``,
    ``due_soon`` or an aging bucket: the plan's schedule replaces their due dates.
    """

    currency: str
    open: Figure = field(default_factory=Figure)
    overdue: Figure = field(default_factory=Figure)
    due_soon: Figure = field(default_factory=Figure)
    on_plan: Figure = field(default_factory=Figure)
    processing: Figure = field(default_factory=Figure)
    aging: dict[str, Figure] = field(
        default_factory=lambda: {b: Figure() for b in services.AGING_BUCKETS})
    credit: list[Money] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)  # chased: on no active plan
    plan_groups: list[Group] = field(default_factory=list)  # on an active plan
    pending_deltas: int = 0  # changes not folded into the totals yet (see open_totals)

    def matching(self, f: InvoiceFilter) -> Matching | None:
        """What :func:`matching` would say for ``f``, from the groups already read.

        Only for the tabs and aging buckets over open invoices (the list's first
        page for most people); None for any other filter, which is then counted
        by its own query.
        """
        if f.q or f.advanced:
            return None
        if f.aging:
            if f.status != "open":
                return None
            groups = [g for g in self.groups if g.bucket == f.aging]
        elif f.status == "open":
            groups = self.groups + self.plan_groups
        elif f.status == "overdue":
            groups = [g for g in self.groups if g.bucket != "current"]
        elif f.status == "due_soon":
            groups = [g for g in self.groups if g.due_soon]
        else:
            return None
        result = Matching()
        payable: dict[str, int] = defaultdict(int)
        for g in groups:
            result.count += g.count
            result.payable_count += g.payable_count
            payable[g.currency] += g.payable_minor
        result.payable = [Money(m, c) for c, m in sorted(payable.items()) if m]
        return result


def summary(session: Session, customer_id: int, today: dt.date,
            currencies: list[str]) -> Summary:
    """Total the customer's open invoices by currency, aging bucket and due window.

    From the open-invoice totals (:mod:`portal.invoices.open_totals`): one row
    per due date, not per invoice, so the cost does not grow with the count.
    The few open invoices on active plans are then read one by one and moved
    out of the late and due-soon figures into "on plan".
    """
    own = session.scalar(select(Customer.currency).where(Customer.id == customer_id))
    result = Summary(currency=own or (currencies[0] if currencies else "USD"))
    found = open_totals.figures(session, customer_id, today)
    result.pending_deltas = found.pending
    chased: dict[tuple[str, str, bool], list[int]] = {}  # count, balance, payable count, minor
    for row in found.rows:
        result.open.add(row.currency, row.open_count, row.balance_minor)
        result.processing.add(row.currency, row.reserved_count, row.reserved_minor)
        chased[row.currency, row.bucket, row.due_soon] = [
            row.open_count, row.balance_minor, row.payable_count, row.payable_minor]
    planned: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    soon_from, soon_to = services.due_date_range("due_soon", today)
    for invoice in open_on_active_plans(session, customer_id):
        key = (invoice.currency, services.aging_bucket(invoice.due_date, today),
               soon_from <= invoice.due_date <= soon_to)
        payable = max(invoice.balance_minor - invoice.reserved_minor, 0)
        contribution = (1, invoice.balance_minor, int(payable > 0), payable)
        for i, value in enumerate(contribution):
            planned[key][i] += value
            chased.setdefault(key, [0, 0, 0, 0])[i] -= value
    for (currency, bucket, soon), (count, balance, payable_count, payable_minor) in \
            chased.items():
        result.groups.append(Group(currency, bucket, soon, count, payable_count, payable_minor))
        result.aging[bucket].add(currency, count, balance)
        if bucket != "current":
            result.overdue.add(currency, count, balance)
        if soon:
            result.due_soon.add(currency, count, balance)
    for (currency, bucket, soon), (count, balance, payable_count, payable_minor) in \
            planned.items():
        result.plan_groups.append(
            Group(currency, bucket, soon, count, payable_count, payable_minor))
        result.on_plan.add(currency, count, balance)
    for currency in currencies:
        credit = customer_credit(session, customer_id, currency)
        if credit > 0:
            result.credit.append(Money(credit, currency))
    return result


CSV_COLUMNS = (Invoice.id, Invoice.number, Invoice.po_number, Invoice.issue_date,
               Invoice.due_date, Invoice.currency, Invoice.total_minor, Invoice.balance_minor,
               Invoice.status)


def csv_batch(session: Session, customer_id: int, f: InvoiceFilter, sort: str, today: dt.date,
              currencies: list[str], after: list | None, limit: int) -> list:
    """Return up to ``limit`` rows of the CSV export after the sort key ``after``."""
    stmt = select(*CSV_COLUMNS).where(*conditions(customer_id, f, today, currencies))
    return list(session.execute(keyset(stmt, sort, after, limit=limit)))
