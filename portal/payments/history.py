"""Reads of the payment history: the account's payments, filtered and keyset-paginated,
one payment with what it paid, and the way to reach a payment at all.

Every function takes the current customer's id and filters by it first, so
another customer's payment is never found: :func:`payment_or_404` is the one
way a route reaches a payment.

A payment's *date* is when the customer paid: the day the portal started a
card or ACH payment, and for a payment posted by the vendor (check, wire) the
day it was received (:data:`when_paid`). The list is newest first by that date,
then by id, and pages by keyset (never OFFSET), like the invoice list.

What a payment paid is read from its allocations once it has settled (what
the ledger actually applied, discounts and short-pay reasons included), and
from its reservations before that (what it is meant to pay). Whatever cash was
not applied to an invoice went to the customer's credit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, literal, select, tuple_
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.core import cursors
from portal.db import UTCDateTime
from portal.ledger.models import (
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    Allocation,
    Invoice,
    Payment,
    Reservation,
)
from portal.payments.models import CardPayment
from portal.vendor.models import Vendor

PAGE_SIZES: tuple[int, ...] = (25, 50, 100)
RECEIPT_STATUSES = ("succeeded", "reversed")
# When the customer paid: received (checks, wires) or started (card, ACH) — see module docstring.
when_paid = case((Payment.method == "external",
                func.coalesce(Payment.received_at, Payment.created_at)),
               else_=Payment.created_at)

# Why a payment failed or was reversed, in words, for the codes gateways and banks send.
# Anything else shows the gateway's own message, or a general sentence.
FAILURE_WORDS = {
    "card_declined": _l("The card was declined by the bank that issued it."),
    "generic_decline": _l("The card was declined by the bank that issued it."),
    "insufficient_funds": _l("There was not enough money on the card or in the account."),
    "lost_card": _l("The card was declined by the bank that issued it."),
    "stolen_card": _l("The card was declined by the bank that issued it."),
    "expired_card": _l("The card has expired."),
    "incorrect_cvc": _l("The card's security code was not correct."),
    "incorrect_number": _l("The card number was not correct."),
    "processing_error": _l("The card could not be charged because of a processing error."),
    "authentication_required": _l("The card's bank asked for verification, which was not "
                                  "completed."),
    "payment_intent_authentication_failure": _l("The card's bank asked for verification, "
                                                "which was not completed."),
    "R01": _l("The bank returned the debit: not enough money in the account."),
    "R02": _l("The bank returned the debit: the account is closed."),
    "R03": _l("The bank returned the debit: no account matches the details given."),
    "R04": _l("The bank returned the debit: the account number is not valid."),
    "R10": _l("The bank returned the debit: the account holder says it was not authorized."),
    "R29": _l("The bank returned the debit: the business does not authorize debits."),
    "fraudulent": _l("The card holder disputed the payment as not made by them."),
    "duplicate": _l("The card holder disputed the payment as a duplicate."),
}


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Which of the customer's payments to list (never whose: that is the session's)."""

    status: str | None = None
    method: str | None = None
    date_from: dt.date | None = None  # in the vendor's time zone
    date_to: dt.date | None = None

    def args(self) -> dict[str, str]:
        """Return the filter as query arguments, leaving out what is not set."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @property
    def active(self) -> bool:
        """Tell whether anything is filtered."""
        return bool(self.args())


@dataclass(frozen=True, slots=True)
class ListParams:
    """A page of the list: the filter, the page size and where to start."""

    filter: PaymentFilter = field(default_factory=PaymentFilter)
    per_page: int = PAGE_SIZES[0]
    after: str | None = None
    before: str | None = None

    def args(self) -> dict[str, str]:
        """Return the query arguments of this list's first page (no cursor)."""
        out = self.filter.args()
        if self.per_page != PAGE_SIZES[0]:
            out["per_page"] = str(self.per_page)
        return out


def _date(args: Mapping[str, str], name: str, errors: dict[str, str]) -> dt.date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = str(_l("Enter a date as YYYY-MM-DD."))
        return None


def parse_list(args: Mapping[str, str]) -> tuple[ListParams, dict[str, str]]:
    """Read a page of the list from query arguments; unknown values fall back, bad dates
    are dropped with a message for their field."""
    errors: dict[str, str] = {}
    status = (args.get("status") or "").strip()
    method = (args.get("method") or "").strip()
    payment_filter = PaymentFilter(
        status=status if status in PAYMENT_STATUSES else None,
        method=method if method in PAYMENT_METHODS else None,
        date_from=_date(args, "date_from", errors), date_to=_date(args, "date_to", errors))
    try:
        per_page = int(args.get("per_page") or PAGE_SIZES[0])
    except ValueError:
        per_page = PAGE_SIZES[0]
    return ListParams(filter=payment_filter,
                      per_page=per_page if per_page in PAGE_SIZES else PAGE_SIZES[0],
                      after=args.get("after") or None, before=args.get("before") or None), errors


def encode_cursor(key: tuple[dt.datetime, int]) -> str:
    """Return an opaque cursor for the position just after/before ``key`` (paid at, id)."""
    return cursors.encode([key[0].isoformat(), key[1]])


def decode_cursor(token: str | None) -> tuple[dt.datetime, int] | None:
    """Return the key a cursor carries, or None if it is missing or malformed."""
    try:
        when, payment_id = cursors.decode(token)
        moment = dt.datetime.fromisoformat(when)
    except (ValueError, TypeError):
        return None
    if moment.tzinfo is None or isinstance(payment_id, bool) or not isinstance(payment_id, int):
        return None
    return moment, payment_id


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def conditions(customer_id: int, f: PaymentFilter, zone: ZoneInfo) -> list[ColumnElement]:
    """Return the WHERE conditions of ``f``; dates are days in the vendor's ``zone``."""
    where: list[ColumnElement] = [Payment.customer_id == customer_id]
    if f.status:
        where.append(Payment.status == f.status)
    if f.method:
        where.append(Payment.method == f.method)
    if f.date_from:
        where.append(when_paid >= _local_midnight(f.date_from, zone))
    if f.date_to:
        end = _local_midnight(f.date_to + dt.timedelta(days=1), zone)
        where.append(when_paid < end)
    return where


def keyset(stmt, key: tuple[dt.datetime, int] | None, *, backwards: bool, limit: int):
    """Order ``stmt`` newest first and start strictly after ``key`` (before, ``backwards``)."""
    if key is not None:
        row = tuple_(when_paid, Payment.id)
        bound = tuple_(literal(key[0], UTCDateTime()), literal(key[1]))
        stmt = stmt.where(row > bound if backwards else row < bound)
    order = (when_paid.asc(), Payment.id.asc()) if backwards else \
        (when_paid.desc(), Payment.id.desc())
    return stmt.order_by(*order).limit(limit)


@dataclass(frozen=True, slots=True)
class Share:
    """What a payment paid (or, before it settles, is to pay) on one invoice."""

    number: str
    issue_date: dt.date
    amount_minor: int
    discount_minor: int = 0
    reason: str | None = None  # the short-pay reason's code
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    """A payment on the list: the row, when it was paid, who paid, what it paid."""

    payment: Payment
    paid_at: dt.datetime
    who: str | None
    shares: tuple[Share, ...]
    card_brand: str | None = None  # card payments, when Stripe told the portal
    card_last4: str | None = None

    @property
    def discount_minor(self) -> int:
        """The early-pay discounts taken with this payment."""
        return sum(share.discount_minor for share in self.shares)

    @property
    def credit_minor(self) -> int:
        """The cash not applied to any invoice, which went (or goes) to account credit."""
        return max(self.payment.amount_minor - sum(s.amount_minor for s in self.shares), 0)

    def day(self, zone: ZoneInfo) -> dt.date:
        """The day it was paid, in ``zone``."""
        return self.paid_at.astimezone(zone).date()


@dataclass(slots=True)
class Page:
    """One page of the list and the cursors of its neighbours."""

    rows: list[Listed]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def shares_of(session: Session, payments: Iterable[Payment]) -> dict[int, list[Share]]:
    """Return what each payment paid: its allocations once settled, else its reservations."""
    settled = [p.id for p in payments if p.settled_at is not None]
    unsettled = [p.id for p in payments if p.settled_at is None]
    found: dict[int, list[Share]] = defaultdict(list)
    for table, ids in ((Allocation, settled), (Reservation, unsettled)):
        if not ids:
            continue
        rows = session.execute(
            select(table, Invoice.number, Invoice.issue_date)
            .join(Invoice, Invoice.id == table.invoice_id)
            .where(table.payment_id.in_(ids)).order_by(table.payment_id, table.id))
        for part, number, issued in rows:
            found[part.payment_id].append(Share(
                number=number, issue_date=issued, amount_minor=part.amount_minor,
                discount_minor=part.discount_minor, reason=part.short_pay_reason,
                note=part.short_pay_note))
    return found


def payers(session: Session, payments: Iterable[Payment]) -> dict[int, str | None]:
    """Return who paid each payment: the payer's name, the portal user's, or nobody known.

    Portal payments name the signed-in user in ``created_by`` (their e-mail); a
    payment posted by the vendor names its source system there, not a person.
    """
    payments = list(payments)
    emails = {p.created_by.lower() for p in payments if p.created_by and "@" in p.created_by}
    names = dict(session.execute(select(User.email, User.name).where(
        User.email.in_(emails))).all()) if emails else {}
    out: dict[int, str | None] = {}
    for p in payments:
        by_user = names.get((p.created_by or "").lower())
        out[p.id] = p.payer_name or by_user or (p.payer_email if p.method != "external" else None)
    return out


def cards_of(session: Session, payments: Iterable[Payment]) -> dict[int, tuple[str | None,
                                                                               str | None]]:
    """Return the brand and last four digits of each card payment the portal knows them of
    (for an ACH debit, the bank account's last four)."""
    ids = [p.id for p in payments if p.method in ("card", "ach")]
    if not ids:
        return {}
    return {row.payment_id: (row.brand, row.last4) for row in session.execute(
        select(CardPayment.payment_id, CardPayment.brand, CardPayment.last4)
        .where(CardPayment.payment_id.in_(ids)))}


def _listed(session: Session, rows: list[tuple[Payment, dt.datetime]]) -> list[Listed]:
    """Return ``(payment, paid at)`` rows with who paid, what they paid and the card."""
    payments = [payment for payment, _ in rows]
    shares, who = shares_of(session, payments), payers(session, payments)
    cards = cards_of(session, payments)
    return [Listed(p, _aware(paid_at), who[p.id], tuple(shares[p.id]),
                   *cards.get(p.id, (None, None))) for p, paid_at in rows]


def payment_page(session: Session, customer_id: int, params: ListParams,
                 zone: ZoneInfo) -> Page:
    """Return the page of the customer's payments that ``params`` asks for."""
    backwards = params.before is not None and params.after is None
    key = decode_cursor(params.before if backwards else params.after)
    backwards = backwards and key is not None
    stmt = select(Payment, when_paid.label("paid_at")).where(
        *conditions(customer_id, params.filter, zone))
    rows = session.execute(keyset(stmt, key, backwards=backwards,
                                  limit=params.per_page + 1)).all()
    more = len(rows) > params.per_page
    rows = rows[:params.per_page]
    if backwards:
        rows.reverse()
    has_next, has_prev = (True, more) if backwards else (more, key is not None)
    page = Page(_listed(session, rows))
    if page.rows and has_next:
        last = page.rows[-1]
        page.next_cursor = encode_cursor((last.paid_at, last.payment.id))
    if page.rows and has_prev:
        first = page.rows[0]
        page.prev_cursor = encode_cursor((first.paid_at, first.payment.id))
    return page


def _aware(moment: dt.datetime | str) -> dt.datetime:
    """The paid-at value as read back: SQLite may return the expression's text, naive."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def csv_batch(session: Session, customer_id: int, f: PaymentFilter, zone: ZoneInfo,
              after: tuple[dt.datetime, int] | None, limit: int) -> list[Listed]:
    """Return up to ``limit`` payments of the CSV export after the key ``after``."""
    stmt = select(Payment, when_paid.label("paid_at")).where(*conditions(customer_id, f, zone))
    rows = session.execute(keyset(stmt, after, backwards=False, limit=limit)).all()
    return _listed(session, rows)


def payment_of(session: Session, customer_id: int, payment_id: int) -> Payment | None:
    """Return the customer's payment ``payment_id``, or None (also for another's)."""
    return session.scalar(select(Payment).where(Payment.id == payment_id,
                                                Payment.customer_id == customer_id))


def payment_or_404(session: Session, customer_id: int, payment_id: int) -> Payment:
    """Return the customer's payment ``payment_id``; 404 if absent or another's."""
    payment = payment_of(session, customer_id, payment_id)
    if payment is None:
        abort(404)
    return payment


def listed(session: Session, payment: Payment) -> Listed:
    """Return one payment as the list and the detail page show it."""
    paid_at = payment.received_at if payment.method == "external" and payment.received_at \
        else payment.created_at
    return _listed(session, [(payment, paid_at)])[0]


def failure_words(code: str | None, message: str | None) -> str | None:
    """Say why a payment failed or was reversed, in the current language where the code is
    known; else the gateway's own message; None when nothing was said."""
    if code and code in FAILURE_WORDS:
        return str(FAILURE_WORDS[code])
    return message or None


def reason_label(vendor: Vendor, code: str | None) -> str | None:
    """Return the vendor's label of a short-pay reason code (None for none).

    The label as stored: templates show it through ``_()``, so the default labels
    (marked ``N_`` in :mod:`portal.vendor.services`) appear translated.
    """
    return vendor.short_pay_label(code) if code else None
