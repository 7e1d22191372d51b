"""The posting API's rules: refusals change nothing, replays change nothing.

Every refusal is checked in the same session the refused call ran in, without
rolling back: a posting must decide before it writes, so a caller that catches
the :class:`LedgerError` (to show the reason, say) and commits other work
cannot persist half a posting. Each test ends with the ledger check.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from portal import ledger
from portal.ledger.checks import run_checks
from portal.ledger.models import Allocation, Invoice, JournalEntry, Payment
from tests import builders

WHEN = dt.datetime(2026, 11, 5, 12, 0, tzinfo=dt.UTC)

_TABLES = ("ar_customers", "ar_invoices", "ar_invoice_lines", "ar_credit_memos", "ar_payments",
           "ar_reservations", "ar_payment_allocations", "ar_journal_entries",
           "ar_journal_lines")


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of the ledger's tables, as this session sees them now."""
    session.flush()
    return {table: [tuple(row) for row in session.execute(
        text(f"SELECT * FROM {table} ORDER BY id"))] for table in _TABLES}


def assert_refused(session, call, match, error=ledger.LedgerError):
    """``call`` raises ``error`` and leaves every ledger row as it was."""
    before = snapshot(session)
    with pytest.raises(error, match=match):
        call()
    assert snapshot(session) == before


def assert_ledger_ok(session):
    result = run_checks(session)
    assert result.ok, result.violation
    return result


def credit(session, customer, currency="USD") -> int:
    return ledger.customer_credit(session, customer.id, currency)


@pytest.fixture
def uow(db):
    with db.unit_of_work() as unit:
        yield unit
        assert_ledger_ok(unit.session)


def start(session, customer, amount, *allocs, currency="USD", method="card"):
    return ledger.start_payment(session, customer_id=customer.id, currency=currency,
                                method=method, amount_minor=amount,
                                allocations=[ledger.AllocationInput(*a) for a in allocs])


# --- start_payment -------------------------------------------------------------------


def test_start_payment_refusals_change_nothing(uow):
    s = uow.session
    acme, other = builders.customer(s), builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    eur = builders.invoice(s, acme, 50_00, currency="EUR")
    foreign = builders.invoice(s, other, 30_00)
    start(s, acme, 70_00, (inv.id, 70_00))  # leaves 30.00 open

    def pay(amount, *allocs, currency="USD", method="card"):
        return lambda: start(s, acme, amount, *allocs, currency=currency, method=method)

    assert_refused(s, pay(10_00, (foreign.id, 10_00)), "belongs to another customer")
    assert_refused(s, pay(10_00, (eur.id, 10_00)), "is in EUR, not USD")
    assert_refused(s, pay(10_00, (inv.id, 10_00), currency="EUR"), "is in USD, not EUR")
    assert_refused(s, pay(31_00, (inv.id, 31_00)), r"30\.00 USD open")
    assert_refused(s, pay(30_00, (inv.id, 30_00, 1)), r"asks for 30\.01 USD")
    assert_refused(s, pay(0), "positive amount")
    assert_refused(s, pay(-5_00), "positive amount")
    assert_refused(s, pay(5_00, (inv.id, 0)), "needs a positive amount")
    assert_refused(s, pay(5_00, (inv.id, -1_00)), "needs a positive amount")
    assert_refused(s, pay(5_00, (inv.id, 5_00, -1)), "needs a positive amount")
    assert_refused(s, pay(20_00, (inv.id, 10_00), (inv.id, 10_00)), "only once")
    assert_refused(s, pay(10_01, (inv.id, 10_00), (eur.id, 1)), "is in EUR, not USD")
    assert_refused(s, pay(18_99, (inv.id, 10_00), (foreign.id, 9_00)),
                   "more than the payment")
    assert_refused(s, pay(10_00.0, (inv.id, 10_00)), "integer")
    assert_refused(s, pay(10_00, (inv.id, 10_00.0)), "integer")
    assert_refused(s, pay(10_00, (10**9, 10_00)), "no invoice")
    assert_refused(s, pay(10_00, (inv.id, 10_00), method="cash"), "unknown payment method")
    assert_refused(s, pay(10_00, (inv.id, 10_00), currency="XYZ"), "unknown currency")
    assert (inv.balance_minor, inv.reserved_minor) == (100_00, 70_00)


def test_a_discount_only_allocation_and_a_prepayment_are_accepted(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00, terms="2/10 net 30")
    p = start(s, acme, 5_00, (inv.id, 0, 2_00))
    assert inv.reserved_minor == 2_00
    ledger.settle_payment(s, p.id)
    assert inv.balance_minor == 98_00 and credit(s, acme) == 5_00
    prepaid = start(s, acme, 7_00)
    ledger.settle_payment(s, prepaid.id)
    assert credit(s, acme) == 12_00


# --- settle, fail, reverse, mark -------------------------------------------------------


def test_settle_twice_returns_the_first_entry_and_changes_nothing(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 120_00, (inv.id, 100_00))
    first = ledger.settle_payment(s, p.id, settled_at=WHEN)
    before = snapshot(s)
    again = ledger.settle_payment(s, p.id)
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert credit(s, acme) == 20_00
    assert_refused(s, lambda: ledger.settle_payment(s, p.id, idempotency_key="other-key"),
                   "already settled")


def test_settle_with_a_key_used_for_another_kind_conflicts_and_changes_nothing(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=5_00,
                             currency="USD", reason="goodwill", idempotency_key="shared")
    p = start(s, acme, 40_00, (inv.id, 40_00))
    assert_refused(s, lambda: ledger.settle_payment(s, p.id, idempotency_key="shared"),
                   "credit_memo_issued", ledger.IdempotencyConflict)
    assert inv.reserved_minor == 40_00 and p.status == "pending"


def test_settle_with_another_payments_key_is_refused(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p1 = start(s, acme, 40_00, (inv.id, 40_00))
    p2 = start(s, acme, 60_00, (inv.id, 60_00))
    ledger.settle_payment(s, p1.id, idempotency_key="evt_1")
    # Were the key taken as a replay, p2 would be marked settled with no entry of
    # its own while its reservation was dropped: money lost.
    assert_refused(s, lambda: ledger.settle_payment(s, p2.id, idempotency_key="evt_1"),
                   "evt_1", ledger.IdempotencyConflict)
    assert p2.status == "pending" and inv.reserved_minor == 60_00
    assert ledger.settle_payment(s, p2.id).created
    assert inv.balance_minor == 0


def test_failed_then_succeeded_payment_still_settles(uow):
    s = uow.session
    acme = builders.customer(s)
    a = builders.invoice(s, acme, 100_00)
    b = builders.invoice(s, acme, 50_00)
    p = start(s, acme, 130_00, (a.id, 80_00), (b.id, 50_00))
    ledger.mark_payment(s, p.id, "requires_action")
    ledger.fail_payment(s, p.id, code="card_declined")
    assert (a.reserved_minor, b.reserved_minor) == (0, 0)
    assert_refused(s, lambda: ledger.reverse_payment(s, p.id, reason="x"),
                   "only a settled payment")
    ledger.mark_payment(s, p.id, "processing")  # a late callback: stays failed
    assert p.status == "failed"
    # Meanwhile someone else paid 30.00 of b.
    other = start(s, acme, 30_00, (b.id, 30_00))
    ledger.settle_payment(s, other.id)
    posted = ledger.settle_payment(s, p.id)  # the card went through after all
    assert posted.created and p.status == "succeeded"
    assert (a.balance_minor, b.balance_minor) == (20_00, 0)
    assert credit(s, acme) == 30_00  # 130 - 80 - 20 applied
    allocs = s.query(Allocation).filter_by(payment_id=p.id).order_by(Allocation.invoice_id)
    assert [(x.invoice_id, x.amount_minor) for x in allocs] == [(a.id, 80_00), (b.id, 20_00)]


def test_settlement_after_a_credit_memo_under_a_reservation_sends_the_excess_to_credit(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 80_00, (inv.id, 80_00), method="ach")
    ledger.mark_payment(s, p.id, "processing")
    # The ERP credits 50.00 while the ACH payment of 80.00 is processing.
    ledger.issue_credit_memo(s, number="CM-ERP-1", customer_id=acme.id, amount_minor=50_00,
                             currency="USD", reason="Returned goods", invoice_id=inv.id,
                             source="erp")
    assert inv.reserved_minor == 80_00 and inv.available_minor == 0
    ledger.settle_payment(s, p.id)
    # 80.00 cash + 50.00 credit against 100.00 owed: 30.00 is the customer's.
    assert (inv.balance_minor, inv.reserved_minor, inv.status) == (0, 0, "paid")
    assert credit(s, acme) == 30_00


def test_fail_twice_is_a_no_op_and_a_settled_payment_cannot_fail(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 40_00, (inv.id, 40_00))
    ledger.fail_payment(s, p.id, status="canceled")
    before = snapshot(s)
    assert ledger.fail_payment(s, p.id).status == "canceled"
    assert snapshot(s) == before
    q = start(s, acme, 40_00, (inv.id, 40_00))
    ledger.settle_payment(s, q.id)
    assert_refused(s, lambda: ledger.fail_payment(s, q.id), "reverse it instead")
    assert_refused(s, lambda: ledger.fail_payment(s, q.id, status="lost"), "not a failure")
    assert_refused(s, lambda: ledger.mark_payment(s, q.id, "succeeded"), "not an unsettled")
    assert_refused(s, lambda: ledger.settle_payment(s, 10**9), "no payment")


def test_reverse_twice_returns_the_first_entry_and_changes_nothing(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00, terms="2/10 net 30")
    p = start(s, acme, 110_00, (inv.id, 98_00, 2_00), method="ach")
    ledger.settle_payment(s, p.id)
    assert credit(s, acme) == 12_00
    first = ledger.reverse_payment(s, p.id, reason="R01", occurred_at=WHEN)
    before = snapshot(s)
    again = ledger.reverse_payment(s, p.id, reason="R01")
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert (inv.balance_minor, inv.status, credit(s, acme)) == (100_00, "open", 0)
    assert ledger.settle_payment(s, p.id).entry.payment_id == p.id  # a replay, not a refusal


def test_reverse_an_unsettled_payment_is_refused(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 40_00, (inv.id, 40_00))
    assert_refused(s, lambda: ledger.reverse_payment(s, p.id, reason="x"),
                   "only a settled payment")


def test_external_payment_twice_records_one_payment(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)

    def record():
        return ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=60_00, currency="USD",
            idempotency_key="erp:wire:7", allocations=[ledger.AllocationInput(inv.id, 60_00)])

    first = record()
    before = snapshot(s)
    again = record()
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert s.query(Payment).count() == 1 and inv.balance_minor == 40_00


# --- credit memos ------------------------------------------------------------------------


def test_credit_memo_refusals_change_nothing(uow):
    s = uow.session
    acme, other = builders.customer(s), builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    foreign = builders.invoice(s, other, 100_00)
    ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=1_00,
                             currency="USD", reason="r")

    def memo(number="CM-2", amount=10_00, currency="USD", invoice_id=inv.id, **kw):
        return lambda: ledger.issue_credit_memo(
            s, number=number, customer_id=acme.id, amount_minor=amount, currency=currency,
            reason="r", invoice_id=invoice_id, **kw)

    assert_refused(s, memo(amount=0), "positive amount")
    assert_refused(s, memo(amount=-10_00), "positive amount")
    assert_refused(s, memo(amount=10.0), "positive amount")
    assert_refused(s, memo(invoice_id=foreign.id), "belongs to another customer")
    assert_refused(s, memo(currency="EUR"), "is in USD, not EUR")
    assert_refused(s, memo(currency="XYZ"), "unknown currency")
    assert_refused(s, memo(number="CM-1", idempotency_key="new-key"), "already exists")
    assert_refused(s, memo(invoice_id=10**9), "no invoice")


def test_credit_memo_twice_returns_the_first_entry(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 30_00)
    first = ledger.issue_credit_memo(s, number="CM-9", customer_id=acme.id,
                                     amount_minor=45_00, currency="USD", reason="r",
                                     invoice_id=inv.id)
    before = snapshot(s)
    again = ledger.issue_credit_memo(s, number="CM-9", customer_id=acme.id,
                                     amount_minor=45_00, currency="USD", reason="r",
                                     invoice_id=inv.id)
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert (inv.balance_minor, inv.status, credit(s, acme)) == (0, "credited", 15_00)


# --- apply credit ------------------------------------------------------------------------


def test_apply_credit_refusals_change_nothing(uow):
    s = uow.session
    acme, other = builders.customer(s), builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    eur = builders.invoice(s, acme, 100_00, currency="EUR")
    foreign = builders.invoice(s, other, 100_00)
    ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=50_00,
                             currency="USD", reason="r")
    start(s, acme, 80_00, (inv.id, 80_00))  # 20.00 open

    def apply(amount, invoice_id=inv.id, key="apply-1"):
        return lambda: ledger.apply_credit(s, customer_id=acme.id, invoice_id=invoice_id,
                                           amount_minor=amount, idempotency_key=key)

    assert_refused(s, apply(21_00), r"only 20\.00 USD open")
    assert_refused(s, apply(10_00, eur.id), r"has 0\.00 EUR of credit")
    assert_refused(s, apply(10_00, foreign.id), "belongs to another customer")
    assert_refused(s, apply(0), "positive amount")
    assert_refused(s, apply(-1), "positive amount")
    assert_refused(s, apply(1.0), "integer")
    assert_refused(s, apply(10_00, 10**9), "no invoice")
    ledger.apply_credit(s, customer_id=acme.id, invoice_id=inv.id, amount_minor=20_00,
                        idempotency_key="apply-2")
    assert credit(s, acme) == 30_00
    payment = s.query(Payment).filter_by(amount_minor=80_00).one()
    ledger.fail_payment(s, payment.id)
    assert_refused(s, apply(31_00), r"has 30\.00 USD of credit; 31\.00 USD was asked")


def test_apply_credit_with_a_used_key_returns_the_first_entry(uow):
    s = uow.session
    acme = builders.customer(s)
    a = builders.invoice(s, acme, 100_00)
    b = builders.invoice(s, acme, 100_00)
    ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=50_00,
                             currency="USD", reason="r")
    first = ledger.apply_credit(s, customer_id=acme.id, invoice_id=a.id, amount_minor=10_00,
                                idempotency_key="apply-1")
    before = snapshot(s)
    # Same key, different invoice and amount: still the first posting.
    again = ledger.apply_credit(s, customer_id=acme.id, invoice_id=b.id, amount_minor=30_00,
                                idempotency_key="apply-1")
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert (a.balance_minor, b.balance_minor, credit(s, acme)) == (90_00, 100_00, 40_00)


# --- write-offs --------------------------------------------------------------------------


def test_write_off_refusals_change_nothing(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    start(s, acme, 60_00, (inv.id, 60_00))  # 40.00 open

    def off(amount=None, key="wo-1"):
        return lambda: ledger.write_off(s, invoice_id=inv.id, reason="r", amount_minor=amount,
                                        idempotency_key=key)

    assert_refused(s, off(40_01), r"more than the open balance \(4000\)")
    assert_refused(s, off(0), "nothing to write off")
    assert_refused(s, off(-1), "nothing to write off")
    assert_refused(s, off(1.0), "nothing to write off")
    assert_refused(s, off(10_00, key=None), "needs its own idempotency key")
    assert_refused(s, lambda: ledger.write_off(s, invoice_id=10**9, reason="r"), "no invoice")
    ledger.write_off(s, invoice_id=inv.id, reason="r")
    assert (inv.balance_minor, inv.reserved_minor) == (60_00, 60_00)
    assert_refused(s, off(None, key="wo-2"), "nothing to write off")


def test_write_off_twice_returns_the_first_entry(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    first = ledger.write_off(s, invoice_id=inv.id, reason="Uncollectable")
    before = snapshot(s)
    again = ledger.write_off(s, invoice_id=inv.id, reason="Uncollectable")  # a retried job
    assert first.created and not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert (inv.balance_minor, inv.status) == (0, "written_off")


def test_write_off_after_the_invoice_reopened_is_a_new_one(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 30_00, (inv.id, 30_00), method="ach")
    first = ledger.write_off(s, invoice_id=inv.id, reason="Uncollectable")  # 70.00
    ledger.fail_payment(s, p.id, code="R01")  # 30.00 open again
    second = ledger.write_off(s, invoice_id=inv.id, reason="Uncollectable")
    assert second.created and second.entry.id != first.entry.id
    assert (inv.balance_minor, inv.reserved_minor, inv.status) == (0, 0, "written_off")


def test_partial_write_off_twice_with_its_key(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    first = ledger.write_off(s, invoice_id=inv.id, reason="r", amount_minor=10_00,
                             idempotency_key="wo-part")
    before = snapshot(s)
    again = ledger.write_off(s, invoice_id=inv.id, reason="r", amount_minor=10_00,
                             idempotency_key="wo-part")
    assert not again.created and again.entry.id == first.entry.id
    assert snapshot(s) == before
    assert (inv.balance_minor, inv.status) == (90_00, "open")


# --- invoices ----------------------------------------------------------------------------


def _input(inv: Invoice, total: int, **changes) -> ledger.InvoiceInput:
    fields = dict(number=inv.number, customer_id=inv.customer_id, issue_date=inv.issue_date,
                  currency=inv.currency, lines=[ledger.LineInput("Widgets", total)])
    fields.update(changes)
    return ledger.InvoiceInput(**fields)


def test_adjusting_customer_or_currency_is_refused(uow):
    s = uow.session
    acme, other = builders.customer(s), builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    assert_refused(s, lambda: ledger.adjust_invoice(s, inv.id, _input(inv, 90_00,
                                                                       customer_id=other.id)),
                   "customer cannot change")
    assert_refused(s, lambda: ledger.adjust_invoice(s, inv.id, _input(inv, 90_00,
                                                                       currency="EUR")),
                   "currency cannot change")
    assert_refused(s, lambda: ledger.adjust_invoice(s, 10**9, _input(inv, 90_00)), "no invoice")
    assert (inv.total_minor, inv.balance_minor) == (100_00, 100_00)


def test_adjusting_twice_posts_once(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    first = ledger.adjust_invoice(s, inv.id, _input(inv, 120_00))
    assert first.created and inv.balance_minor == 120_00
    entries = s.query(JournalEntry).count()
    assert ledger.adjust_invoice(s, inv.id, _input(inv, 120_00)) is None
    assert s.query(JournalEntry).count() == entries
    assert (inv.total_minor, inv.balance_minor, inv.revision) == (120_00, 120_00, 2)


def test_adjusting_down_under_a_reservation_sends_the_excess_to_credit_at_settlement(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 70_00, (inv.id, 70_00))
    # The invoice now asks 50.00; the payment in flight holds 70.00.
    ledger.adjust_invoice(s, inv.id, _input(inv, 50_00))
    assert (inv.balance_minor, inv.reserved_minor, credit(s, acme)) == (50_00, 70_00, 0)
    assert inv.available_minor == 0
    ledger.settle_payment(s, p.id)
    assert (inv.balance_minor, inv.reserved_minor, inv.status) == (0, 0, "paid")
    assert credit(s, acme) == 20_00


def test_adjusting_down_under_a_reservation_that_then_fails(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    p = start(s, acme, 70_00, (inv.id, 70_00))
    ledger.adjust_invoice(s, inv.id, _input(inv, 50_00))
    ledger.fail_payment(s, p.id)
    assert (inv.balance_minor, inv.reserved_minor, inv.status) == (50_00, 0, "open")
    assert credit(s, acme) == 0


def test_adjusting_below_what_was_paid_sends_the_difference_to_credit(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    ledger.settle_payment(s, start(s, acme, 60_00, (inv.id, 60_00)).id)
    ledger.adjust_invoice(s, inv.id, _input(inv, 30_00))  # 60.00 paid on a 30.00 invoice
    assert (inv.balance_minor, inv.status, credit(s, acme)) == (0, "paid", 30_00)


def test_issuing_an_invoice_number_twice_is_refused(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00, number="INV-1")
    assert_refused(s, lambda: builders.invoice(s, acme, 100_00, number="INV-1"),
                   "already exists")
    assert_refused(s, lambda: builders.invoice(s, acme, 100_00, currency="XYZ"),
                   "unknown currency")
    assert inv.balance_minor == 100_00


# --- keys shared across kinds -------------------------------------------------------------


def test_a_key_used_for_another_kind_conflicts(uow):
    s = uow.session
    acme = builders.customer(s)
    inv = builders.invoice(s, acme, 100_00)
    ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=20_00,
                             currency="USD", reason="r", idempotency_key="k-memo")
    ledger.apply_credit(s, customer_id=acme.id, invoice_id=inv.id, amount_minor=5_00,
                        idempotency_key="k-apply")
    conflict = ledger.IdempotencyConflict
    assert_refused(s, lambda: ledger.apply_credit(
        s, customer_id=acme.id, invoice_id=inv.id, amount_minor=5_00,
        idempotency_key="k-memo"), "credit_memo_issued", conflict)
    assert_refused(s, lambda: ledger.issue_credit_memo(
        s, number="CM-2", customer_id=acme.id, amount_minor=5_00, currency="USD",
        reason="r", idempotency_key="k-apply"), "credit_applied", conflict)
    assert_refused(s, lambda: ledger.write_off(
        s, invoice_id=inv.id, reason="r", amount_minor=1_00, idempotency_key="k-apply"),
        "credit_applied", conflict)
    assert_refused(s, lambda: ledger.record_external_payment(
        s, customer_id=acme.id, amount_minor=5_00, currency="USD",
        idempotency_key="k-memo"), "credit_memo_issued", conflict)
    assert (inv.balance_minor, credit(s, acme)) == (95_00, 15_00)
