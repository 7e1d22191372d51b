"""entries.validate: the one gate every journal entry passes."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.ledger import accounts
from portal.ledger.entries import (
    EntryDraft,
    LedgerError,
    LineDraft,
    UnbalancedEntry,
    imbalances,
    validate,
)

WHEN = dt.datetime(2026, 11, 5, 12, 0, tzinfo=dt.UTC)


def draft(*lines: LineDraft, kind: str = "payment_settled", key: str | None = "k-1",
          occurred_at: dt.datetime = WHEN) -> EntryDraft:
    return EntryDraft(kind, key, occurred_at, lines=list(lines))


def receivable(amount: int, currency: str = "USD", *, customer_id: int | None = 1,
               invoice_id: int | None = 10) -> LineDraft:
    return LineDraft(accounts.RECEIVABLE, amount, currency, customer_id, invoice_id)


def cash(amount: int, currency: str = "USD") -> LineDraft:
    return LineDraft(accounts.cash_clearing("stripe"), amount, currency)


def test_a_balanced_entry_passes():
    validate(draft(cash(100), receivable(-60), receivable(-40, invoice_id=11)))
    validate(draft(cash(100), cash(-30, "EUR"), receivable(-100),
                   receivable(30, "EUR", invoice_id=12)))
    validate(draft(LineDraft(accounts.CUSTOMER_CREDIT, -5, "USD", customer_id=1),
                   LineDraft(accounts.SALES_RETURNS, 5, "USD")))


@pytest.mark.parametrize("lines", [(), (cash(100),)])
def test_fewer_than_two_lines_refused(lines):
    with pytest.raises(LedgerError, match="at least two lines"):
        validate(draft(*lines))


def test_zero_line_refused():
    with pytest.raises(LedgerError, match="cannot be zero"):
        validate(draft(cash(100), receivable(-100), cash(0)))


@pytest.mark.parametrize("amount", [100.0, True, "100", None])
def test_non_integer_amount_refused(amount):
    with pytest.raises(LedgerError, match="not an integer"):
        validate(draft(LineDraft(accounts.cash_clearing("stripe"), amount, "USD"),
                       receivable(-100)))


def test_unknown_account_refused():
    with pytest.raises(LedgerError, match="unknown account 'cash'"):
        validate(draft(LineDraft("cash", 100, "USD"), receivable(-100)))


@pytest.mark.parametrize("currency", ["XYZ", "", "US"])
def test_unknown_currency_refused(currency):
    with pytest.raises(LedgerError, match="unknown currency"):
        validate(draft(cash(100, currency), cash(-100, currency)))


def test_receivable_without_invoice_refused():
    with pytest.raises(LedgerError, match="receivable line must name its invoice"):
        validate(draft(cash(100), receivable(-100, invoice_id=None)))


def test_receivable_without_customer_refused():
    with pytest.raises(LedgerError, match="must name its customer"):
        validate(draft(cash(100), receivable(-100, customer_id=None)))


def test_customer_credit_without_customer_refused():
    with pytest.raises(LedgerError, match="customer_credit line must name its customer"):
        validate(draft(cash(100), LineDraft(accounts.CUSTOMER_CREDIT, -100, "USD")))


def test_unbalanced_entry_refused():
    with pytest.raises(UnbalancedEntry, match=r"USD by \+1"):
        validate(draft(cash(100), receivable(-99)))


def test_balance_is_per_currency():
    # Each currency is off by 100; together they "sum" to zero. Still refused.
    lines = (cash(100, "USD"), receivable(-100, "USD"), cash(100, "EUR"),
             receivable(-200, "EUR"), receivable(100, "USD", invoice_id=11))
    with pytest.raises(UnbalancedEntry, match=r"EUR by -100, USD by \+100"):
        validate(draft(*lines))
    assert imbalances(list(lines)) == {"USD": 100, "EUR": -100}


def test_naive_datetime_refused():
    with pytest.raises(LedgerError, match="timezone-aware"):
        validate(draft(cash(100), receivable(-100), occurred_at=dt.datetime(2026, 11, 5)))


@pytest.mark.parametrize("key", ["", None, "k" * 201])
def test_missing_or_overlong_idempotency_key_refused(key):
    with pytest.raises(LedgerError, match="idempotency key"):
        validate(draft(cash(100), receivable(-100), key=key))


def test_unknown_kind_refused():
    with pytest.raises(LedgerError, match="unknown entry kind"):
        validate(draft(cash(100), receivable(-100), kind="gift"))


def test_add_skips_zero_lines():
    entry = draft()
    entry.add(accounts.DISCOUNTS_ALLOWED, 0, "USD")
    entry.add(accounts.RECEIVABLE, -5, "USD", customer_id=1, invoice_id=2)
    assert entry.lines == [LineDraft(accounts.RECEIVABLE, -5, "USD", 1, 2)]
