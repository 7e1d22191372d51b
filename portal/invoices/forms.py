"""The invoice list's query string: filters, sort and page, parsed leniently.

The list is a GET form, so anything may arrive: an unknown status or sort
falls back to the default, and a malformed date or amount is dropped (the list
is shown without that filter) with a message for its field. The same parser
reads the "all invoices matching this filter" token a later checkout receives
(:meth:`InvoiceFilter.token`), so both always mean the same invoices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l

from portal.i18n import parse_amount
from portal.invoices.services import AGING_BUCKETS

# Tabs across the top of the list, then the extra choices of the status filter.
TABS: tuple[str, ...] = ("open", "overdue", "due_soon", "paid", "all")
STATUSES: tuple[str, ...] = ("open", "overdue", "due_soon", "processing", "on_plan", "disputed",
                             "paid", "credited", "written_off", "void", "all")
SORTS: tuple[str, ...] = ("due_asc", "due_desc", "issued_asc", "issued_desc", "amount_asc",
                          "amount_desc")
PAGE_SIZES: tuple[int, ...] = (25, 50, 100)
DEFAULT_STATUS = "open"
DEFAULT_SORT = "due_asc"
MAX_SEARCH = 64  # invoice and PO numbers are at most 64 characters

_DATE_FIELDS = ("issue_from", "issue_to", "due_from", "due_to")
_AMOUNT_FIELDS = ("amount_min", "amount_max")


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """Which of the customer's invoices to list (never whose: that is the session's)."""

    status: str = DEFAULT_STATUS
    aging: str | None = None
    q: str = ""
    issue_from: dt.date | None = None
    issue_to: dt.date | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str | None = None

    def args(self) -> dict[str, str]:
        """Return the filter as query arguments, leaving out defaults."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, "") or (f.name == "status" and value == DEFAULT_STATUS):
                continue
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return out

    def token(self) -> str:
        """Return the canonical query string of this filter (the "all matching" token)."""
        return urlencode(sorted(self.args().items()))

    @classmethod
    def from_token(cls, token: str) -> InvoiceFilter:
        """Read a filter back from :meth:`token` (malformed parts are dropped)."""
        return parse_filter(dict(parse_qsl(token or "")))[0]

    @property
    def advanced(self) -> bool:
        """Tell whether a filter beyond the tabs and the search is in force."""
        return any(getattr(self, name) is not None
                   for name in (*_DATE_FIELDS, *_AMOUNT_FIELDS, "currency")) or \
            self.status not in TABS


@dataclass(frozen=True, slots=True)
class ListParams:
    """A page of the list: the filter, the order, the page size and where to start."""

    filter: InvoiceFilter = field(default_factory=InvoiceFilter)
    sort: str = DEFAULT_SORT
    per_page: int = PAGE_SIZES[0]
    after: str | None = None
    before: str | None = None

    def args(self) -> dict[str, str]:
        """Return the query arguments of this list's first page (no cursor)."""
        out = self.filter.args()
        if self.sort != DEFAULT_SORT:
            out["sort"] = self.sort
        if self.per_page != PAGE_SIZES[0]:
            out["per_page"] = str(self.per_page)
        return out

    def with_filter(self, **changes: object) -> ListParams:
        """Return these parameters with filter fields changed, from the first page."""
        return replace(self, filter=replace(self.filter, **changes), after=None, before=None)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip())


def _amount(text: str, locale: str) -> Decimal:
    value = parse_amount(text, locale)
    if value < 0:
        raise InvalidOperation
    return value


def amount_example(locale: str) -> str:
    """An amount written the way ``locale`` writes it, for messages."""
    return format_decimal(Decimal("1250.00"), format="#,##0.00", locale=locale)


def parse_filter(args: Mapping[str, str],
                 locale: str = "en") -> tuple[InvoiceFilter, dict[str, str]]:
    """Read a filter from query arguments; return it and messages for fields dropped.

    Amounts typed by the user are read in ``locale`` (see :func:`_amount`).
    """
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    status = (args.get("status") or "").strip()
    values["status"] = status if status in STATUSES else DEFAULT_STATUS
    aging = (args.get("aging") or "").strip()
    values["aging"] = aging if aging in AGING_BUCKETS else None
    values["q"] = (args.get("q") or "").strip()[:MAX_SEARCH]
    for name in _DATE_FIELDS:
        text = (args.get(name) or "").strip()
        if text:
            try:
                values[name] = _date(text)
            except ValueError:
                errors[name] = str(_l("Enter a date as YYYY-MM-DD."))
    for name in _AMOUNT_FIELDS:
        text = (args.get(name) or "").strip()
        if text:
            try:
                values[name] = _amount(text, locale)
            except (InvalidOperation, ValueError):
                errors[name] = str(_l("Enter an amount such as %(example)s.",
                                      example=amount_example(locale)))
    currency = (args.get("currency") or "").strip().upper()
    if len(currency) == 3 and currency.isalpha():
        values["currency"] = currency
    return InvoiceFilter(**values), errors


def parse_list(args: Mapping[str, str],
               locale: str = "en") -> tuple[ListParams, dict[str, str]]:
    """Read a page of the list from query arguments; return it and field messages."""
    invoice_filter, errors = parse_filter(args, locale)
    sort = (args.get("sort") or "").strip()
    try:
        per_page = int(args.get("per_page") or PAGE_SIZES[0])
    except ValueError:
        per_page = PAGE_SIZES[0]
    return ListParams(
        filter=invoice_filter,
        sort=sort if sort in SORTS else DEFAULT_SORT,
        per_page=per_page if per_page in PAGE_SIZES else PAGE_SIZES[0],
        after=(args.get("after") or None),
        before=(args.get("before") or None),
    ), errors
