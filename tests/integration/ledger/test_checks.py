"""``run_checks`` names the first broken invariant, for each invariant it re-derives.

Each test builds a clean ledger through the posting API, then corrupts one
thing the way another writer of the shared tables could: raw UPDATEs and
INSERTs on the ledger's other tables, and INSERTs (never UPDATE or DELETE,
which the journal refuses) into the journal. The checks run in the corrupting
transaction, which is then rolled back: on PostgreSQL the deferred balance
trigger would refuse some of these corruptions at COMMIT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from portal import ledger
from portal.ledger.checks import CurrencySummary, run_checks
from tests import builders

WHEN = dt.datetime(2026, 11, 5, 12, 0, tzinfo=dt.UTC)


@dataclass
class Ids:
    acme: int
    beta: int
    paid: int          # invoice INV-PAID, paid in full by `settled`
    open: int          # invoice INV-OPEN, 100.00, 40.00 of it reserved by `pending`
    eur: int           # invoice INV-EUR, EUR 80.00
    beta_inv: int      # invoice INV-BETA, beta's 70.00
    settled: int       # payment of 60.00 that paid INV-PAID (50.00) and 10.00 to credit
    pending: int       # payment reserving 40.00 of INV-OPEN
    prepay: int        # unsettled payment with no invoices


@pytest.fixture
def ids(db) -> Ids:
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s, number="ACME")
        beta = builders.customer(s, number="BETA")
        paid = builders.invoice(s, acme, 50_00, number="INV-PAID")
        open_ = builders.invoice(s, acme, 100_00, number="INV-OPEN", tax_minor=8_00)
        eur = builders.invoice(s, acme, 80_00, number="INV-EUR", currency="EUR")
        beta_inv = builders.invoice(s, beta, 70_00, number="INV-BETA")
        settled = ledger.start_payment(
            s, customer_id=acme.id, currency="USD", method="card", amount_minor=60_00,
            allocations=[ledger.AllocationInput(paid.id, 50_00)])
        ledger.settle_payment(s, settled.id, settled_at=WHEN)
        pending = ledger.start_payment(
            s, customer_id=acme.id, currency="USD", method="ach", amount_minor=40_00,
            allocations=[ledger.AllocationInput(open_.id, 40_00)])
        prepay = ledger.start_payment(s, customer_id=acme.id, currency="USD", method="card",
                                      amount_minor=5_00, allocations=[])
        uow.commit()
    return Ids(acme.id, beta.id, paid.id, open_.id, eur.id, beta_inv.id, settled.id,
               pending.id, prepay.id)


@pytest.fixture
def session(db, ids):
    with db.session() as s:  # rolled back afterwards
        assert run_checks(s).ok, run_checks(s).violation
        yield s


def sql(session, statement: str, **params):
    return session.execute(text(statement), params)


def insert_entry(session, key: str, lines: list[tuple], kind: str = "invoice_adjusted",
                 payment_id: int | None = None) -> int:
    """INSERT a journal entry with ``lines`` of (account, amount, currency, customer, invoice)."""
    entry_id = sql(session, """
        INSERT INTO ar_journal_entries (idempotency_key, kind, occurred_at, source, payment_id)
        VALUES (:key, :kind, :when, 'other-writer', :payment) RETURNING id""",
        key=key, kind=kind, when=WHEN, payment=payment_id).scalar_one()
    for account, amount, currency, customer_id, invoice_id in lines:
        sql(session, """
            INSERT INTO ar_journal_lines (entry_id, account, customer_id, invoice_id,
                                          amount_minor, currency)
            VALUES (:entry, :account, :customer, :invoice, :amount, :currency)""",
            entry=entry_id, account=account, customer=customer_id, invoice=invoice_id,
            amount=amount, currency=currency)
    return entry_id


def violation(session) -> str:
    result = run_checks(session)
    assert not result.ok, "run_checks found nothing wrong"
    return result.violation


def test_clean_ledger_summaries(db, ids):
    with db.session() as s:
        result = run_checks(s)
    assert result.ok, result.violation
    # USD: INV-PAID 50 + INV-OPEN 100 + INV-BETA 70 issued, settled payment 60.
    assert result.summaries == [
        CurrencySummary("EUR", entries=1, open_ar_minor=80_00, customer_credit_minor=0),
        CurrencySummary("USD", entries=4, open_ar_minor=170_00, customer_credit_minor=10_00),
    ]


def test_summaries_follow_credit_and_payments(db, ids):
    with db.unit_of_work() as uow:
        s = uow.session
        ledger.settle_payment(s, ids.pending)
        ledger.settle_payment(s, ids.prepay)
        ledger.issue_credit_memo(s, number="CM-1", customer_id=ids.acme, amount_minor=90_00,
                                 currency="EUR", reason="r", invoice_id=ids.eur)
        ledger.apply_credit(s, customer_id=ids.acme, invoice_id=ids.open, amount_minor=15_00,
                            idempotency_key="apply-1")
        uow.commit()
    with db.session() as s:
        result = run_checks(s)
    assert result.ok, result.violation
    assert [(x.currency, x.open_ar_minor, x.customer_credit_minor)
            for x in result.summaries] == [("EUR", 0, 10_00), ("USD", 115_00, 0)]


def test_unbalanced_entry(session, ids):
    entry = insert_entry(session, "bad-1", [
        ("revenue", -5_00, "USD", ids.acme, ids.open),
        ("sales_returns", 4_00, "USD", ids.acme, None),
    ])
    assert violation(session) == (
        f"entry {entry} ('bad-1') is unbalanced: its USD lines sum to -100, not zero")


def test_entry_balanced_overall_but_not_per_currency(session, ids):
    entry = insert_entry(session, "bad-fx", [
        ("revenue", -5_00, "USD", ids.acme, None),
        ("sales_returns", 5_00, "EUR", ids.acme, None),
    ])
    assert violation(session).startswith(f"entry {entry} ('bad-fx') is unbalanced: its ")


def test_entry_with_one_line(session, ids):
    entry = insert_entry(session, "bad-2", [("revenue", 5_00, "USD", ids.acme, None)])
    assert violation(session) == (
        f"entry {entry} ('bad-2') has 1 line(s); an entry needs at least two")


def test_entry_with_no_lines(session, ids):
    entry = insert_entry(session, "bad-0", [])
    assert violation(session) == (
        f"entry {entry} ('bad-0') has 0 line(s); an entry needs at least two")


def test_unknown_account(session, ids):
    entry = insert_entry(session, "bad-3", [
        ("petty_cash", 5_00, "USD", None, None),
        ("revenue", -5_00, "USD", ids.acme, None),
    ])
    assert violation(session).startswith(f"entry {entry}: line ")
    assert violation(session).endswith("is on unknown account 'petty_cash'")


def test_customer_credit_line_without_customer(session, ids):
    entry = insert_entry(session, "bad-4", [
        ("customer_credit", -5_00, "USD", None, None),
        ("sales_returns", 5_00, "USD", ids.acme, None),
    ])
    assert violation(session).startswith(f"entry {entry}: customer_credit line ")


def test_receivable_line_for_another_customers_invoice(session, ids):
    # Beta's receivable line on Acme's invoice (and Acme's balance moved to match).
    entry = insert_entry(session, "bad-5", [
        ("receivable", 5_00, "USD", ids.beta, ids.open),
        ("revenue", -5_00, "USD", ids.beta, None),
    ])
    sql(session, "UPDATE ar_invoices SET balance_minor = balance_minor + 500 WHERE id = :i",
        i=ids.open)
    assert violation(session).startswith(
        f"entry {entry}: receivable line ")
    assert violation(session).endswith("does not match invoice INV-OPEN's customer or currency")


def test_receivable_line_in_another_currency(session, ids):
    entry = insert_entry(session, "bad-6", [
        ("receivable", 5_00, "EUR", ids.acme, ids.open),
        ("revenue", -5_00, "EUR", ids.acme, None),
    ])
    assert "INV-OPEN's customer or currency" in violation(session)
    assert violation(session).startswith(f"entry {entry}: ")


def test_cached_balance_differs_from_lines(session, ids):
    sql(session, "UPDATE ar_invoices SET balance_minor = 99 WHERE id = :i", i=ids.beta_inv)
    assert violation(session) == (
        "invoice INV-BETA: balance 99 does not equal its receivable lines (7000) "
        "or is negative")


def test_lines_take_an_invoice_below_zero(session, ids):
    # A writer that credits 60.00 against a 50.00... already paid invoice; the cached
    # balance cannot follow (the table refuses a negative balance), the check sees it.
    insert_entry(session, "bad-7", [
        ("receivable", -20_00, "USD", ids.acme, ids.paid),
        ("bad_debt", 20_00, "USD", ids.acme, ids.paid),
    ])
    assert violation(session) == (
        "invoice INV-PAID: balance 0 does not equal its receivable lines (-2000) "
        "or is negative")


def test_active_reservation_on_a_succeeded_payment(session, ids):
    sql(session, "UPDATE ar_payments SET status = 'succeeded', settled_at = :t WHERE id = :p",
        t=WHEN, p=ids.pending)
    assert violation(session) == (
        f"payment {ids.pending}: has status succeeded but still reserves invoice id {ids.open}")


@pytest.mark.parametrize("status", ["failed", "canceled", "reversed"])
def test_active_reservation_on_a_finished_payment(session, ids, status):
    sql(session, "UPDATE ar_payments SET status = :s WHERE id = :p", s=status, p=ids.pending)
    assert violation(session) == (
        f"payment {ids.pending}: has status {status} but still reserves invoice id {ids.open}")


def test_reserved_total_differs_from_reservations(session, ids):
    sql(session, "UPDATE ar_invoices SET reserved_minor = reserved_minor + 1 WHERE id = :i",
        i=ids.open)
    assert violation(session) == (
        "invoice INV-OPEN: reserved 4001 does not equal its active reservations (4000)")


def test_released_reservation_still_counted(session, ids):
    sql(session, "UPDATE ar_reservations SET released_at = :t WHERE payment_id = :p",
        t=WHEN, p=ids.pending)
    assert violation(session) == (
        "invoice INV-OPEN: reserved 4000 does not equal its active reservations (0)")


def test_allocations_above_the_payment_amount(session, ids):
    sql(session, "UPDATE ar_payment_allocations SET amount_minor = 6001 WHERE payment_id = :p",
        p=ids.settled)
    assert violation(session) == (
        f"payment {ids.settled}: allocations (6001) exceed its amount (6000)")


def test_allocation_differs_from_the_settlement_entry(session, ids):
    sql(session, "UPDATE ar_payment_allocations SET amount_minor = 4000 WHERE payment_id = :p",
        p=ids.settled)
    assert violation(session) == (
        f"payment {ids.settled}: its settlement takes 5000 from invoice id {ids.paid} "
        "but allocates 4000")


def test_allocation_the_settlement_entry_does_not_take(session, ids):
    entry = sql(session, "SELECT entry_id FROM ar_payment_allocations WHERE payment_id = :p",
                p=ids.settled).scalar_one()
    sql(session, """INSERT INTO ar_payment_allocations (payment_id, invoice_id, entry_id,
                                                        amount_minor, discount_minor)
                    VALUES (:p, :i, :e, 500, 0)""", p=ids.settled, i=ids.open, e=entry)
    assert violation(session) == (
        f"payment {ids.settled}: its settlement takes 0 from invoice id {ids.open} "
        "but allocates 500")


@pytest.mark.parametrize("settled_at", [True, False], ids=["settled_at", "status_only"])
def test_settled_payment_without_settlement_entry(session, ids, settled_at):
    sql(session, "UPDATE ar_payments SET status = 'succeeded', settled_at = :t WHERE id = :p",
        t=WHEN if settled_at else None, p=ids.prepay)
    assert violation(session) == f"payment {ids.prepay} (succeeded) has 0 settlement entries"


def test_unsettled_payment_with_a_settlement_entry(session, ids):
    insert_entry(session, "other-writer-settles", [
        ("cash_clearing:external", 5_00, "USD", ids.acme, None),
        ("customer_credit", -5_00, "USD", ids.acme, None),
    ], kind="payment_settled", payment_id=ids.prepay)
    assert violation(session) == f"payment {ids.prepay} (pending) has 1 settlement entries"


def test_second_settlement_entry(session, ids):
    insert_entry(session, "settled-again", [
        ("cash_clearing:stripe", 1_00, "USD", ids.acme, None),
        ("customer_credit", -1_00, "USD", ids.acme, None),
    ], kind="payment_settled", payment_id=ids.settled)
    assert violation(session) == f"payment {ids.settled} (succeeded) has 2 settlement entries"


def test_first_violation_is_named(session, ids):
    # Two broken invoices: the lower id is named.
    sql(session, "UPDATE ar_invoices SET balance_minor = 1 WHERE id IN (:a, :b)",
        a=ids.open, b=ids.beta_inv)
    assert violation(session).startswith("invoice INV-OPEN: balance 1 ")
