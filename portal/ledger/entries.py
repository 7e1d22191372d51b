"""Journal entries before they are stored, and every invariant an entry must keep.

An :class:`EntryDraft` is plain data. :func:`validate` is the one place that
decides whether it may enter the journal:

- it has at least two lines, each a non-zero integer amount of minor units in
  a known currency on a known account;
- its lines sum to zero in each currency (double entry);
- lines on ``receivable`` name a customer and an invoice, lines on
  ``customer_credit`` name a customer;
- it carries an idempotency key and a kind.

The database enforces the balance rule again at commit on PostgreSQL (see the
ledger guard migration), so a writer that bypasses this module is held to it too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from portal.ledger import accounts
from portal.money import MoneyError, check_currency

ENTRY_KINDS = frozenset({
    "invoice_issued",
    "invoice_adjusted",
    "credit_memo_issued",
    "payment_settled",
    "payment_reversed",
    "credit_applied",
    "write_off",
})


class LedgerError(Exception):
    """A posting the ledger refuses; the message says why, for people."""


class UnbalancedEntry(LedgerError):
    """An entry whose lines do not sum to zero in some currency."""


@dataclass(frozen=True, slots=True)
class LineDraft:
    """One signed line: positive debits ``account``, negative credits it."""

    account: str
    amount_minor: int
    currency: str
    customer_id: int | None = None
    invoice_id: int | None = None


@dataclass(slots=True)
class EntryDraft:
    """A journal entry to be posted."""

    kind: str
    idempotency_key: str
    occurred_at: dt.datetime
    lines: list[LineDraft] = field(default_factory=list)
    customer_id: int | None = None
    invoice_id: int | None = None
    payment_id: int | None = None
    credit_memo_id: int | None = None
    reverses_entry_id: int | None = None
    memo: str | None = None
    source: str = "portal"

    def add(self, account: str, amount_minor: int, currency: str, *,
            customer_id: int | None = None, invoice_id: int | None = None) -> None:
        """Add a line unless its amount is zero (a zero line says nothing)."""
        if amount_minor:
            self.lines.append(LineDraft(account, amount_minor, currency, customer_id,
                                        invoice_id))


def imbalances(lines: list[LineDraft]) -> dict[str, int]:
    """Return the currencies whose lines do not sum to zero, with the sum."""
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        sums[line.currency] += line.amount_minor
    return {currency: total for currency, total in sums.items() if total != 0}


def validate(draft: EntryDraft) -> None:
    """Raise :class:`LedgerError` unless ``draft`` may enter the journal."""
    if draft.kind not in ENTRY_KINDS:
        raise LedgerError(f"unknown entry kind {draft.kind!r}")
    if not draft.idempotency_key or len(draft.idempotency_key) > 200:
        raise LedgerError("every posting needs an idempotency key of 1 to 200 characters")
    if draft.occurred_at.tzinfo is None:
        raise LedgerError("occurred_at must be timezone-aware")
    if len(draft.lines) < 2:
        raise LedgerError(f"entry {draft.idempotency_key!r} needs at least two lines")
    for line in draft.lines:
        if isinstance(line.amount_minor, bool) or not isinstance(line.amount_minor, int):
            raise LedgerError(f"line amount {line.amount_minor!r} is not an integer")
        if line.amount_minor == 0:
            raise LedgerError("a journal line cannot be zero")
        try:
            check_currency(line.currency)
        except MoneyError as exc:
            raise LedgerError(str(exc)) from None
        if not accounts.is_known(line.account):
            raise LedgerError(f"unknown account {line.account!r}")
        if line.account in accounts.CUSTOMER_ACCOUNTS and line.customer_id is None:
            raise LedgerError(f"a {line.account} line must name its customer")
        if line.account == accounts.RECEIVABLE and line.invoice_id is None:
            raise LedgerError("a receivable line must name its invoice")
    unbalanced = imbalances(draft.lines)
    if unbalanced:
        detail = ", ".join(f"{c} by {v:+d}" for c, v in sorted(unbalanced.items()))
        raise UnbalancedEntry(f"entry {draft.idempotency_key!r} does not balance: {detail}")
