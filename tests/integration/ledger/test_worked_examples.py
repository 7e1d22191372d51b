"""Accounting worked examples: each ends with the ledger check."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import ledger
from portal.ledger.checks import run_checks
from portal.ledger.models import Allocation, Invoice
from tests import builders


def assert_ledger_ok(session):
    result = run_checks(session)
    assert result.ok, result.violation
    return result


def test_pay_two_invoices_with_discount_and_overpayment(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        a = builders.invoice(s, acme, 100_00, terms="2/10 net 30")
        b = builders.invoice(s, acme, 50_00)
        payment = ledger.start_payment(
            s, customer_id=acme.id, currency="USD", method="card", amount_minor=160_00,
            allocations=[ledger.AllocationInput(a.id, 98_00, discount_minor=2_00),
                         ledger.AllocationInput(b.id, 50_00)])
        assert a.reserved_minor == 100_00 and a.available_minor == 0
        posted = ledger.settle_payment(s, payment.id)
        uow.commit()
    with db.session() as s:
        a, b = s.get(Invoice, a.id), s.get(Invoice, b.id)
        assert (a.balance_minor, a.reserved_minor, a.status) == (0, 0, "paid")
        assert (b.balance_minor, b.status) == (0, "paid")
        assert ledger.customer_credit(s, acme.id, "USD") == 12_00
        allocations = s.query(Allocation).filter_by(payment_id=payment.id).all()
        assert sorted((x.amount_minor, x.discount_minor) for x in allocations) == [
            (50_00, 0), (98_00, 2_00)]
        summary = assert_ledger_ok(s).summaries
        assert [(x.currency, x.open_ar_minor, x.customer_credit_minor) for x in summary] == [
            ("USD", 0, 12_00)]
        assert posted.created


def test_settle_twice_posts_once(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 100_00)
        payment = ledger.start_payment(s, customer_id=acme.id, currency="USD", method="card",
                                       amount_minor=40_00,
                                       allocations=[ledger.AllocationInput(inv.id, 40_00)])
        first = ledger.settle_payment(s, payment.id)
        second = ledger.settle_payment(s, payment.id)
        assert first.created and not second.created
        assert first.entry.id == second.entry.id
        assert inv.balance_minor == 60_00 and inv.status == "open"
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)


def test_reservation_limits_what_others_can_pay_and_failure_releases(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 100_00)
        p1 = ledger.start_payment(s, customer_id=acme.id, currency="USD", method="ach",
                                  amount_minor=70_00,
                                  allocations=[ledger.AllocationInput(inv.id, 70_00)])
        ledger.mark_payment(s, p1.id, "processing")
        with pytest.raises(ledger.LedgerError, match=r"30\.00 USD open"):
            ledger.start_payment(s, customer_id=acme.id, currency="USD", method="card",
                                 amount_minor=40_00,
                                 allocations=[ledger.AllocationInput(inv.id, 40_00)])
        ledger.fail_payment(s, p1.id, code="R01", message="Insufficient funds")
        ledger.fail_payment(s, p1.id, code="R01")  # a duplicate callback is a no-op
        assert inv.reserved_minor == 0 and inv.balance_minor == 100_00
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)


def test_reversal_reopens_invoices_and_takes_back_discount(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 100_00, terms="2/10 net 30")
        p = ledger.start_payment(s, customer_id=acme.id, currency="USD", method="ach",
                                 amount_minor=98_00,
                                 allocations=[ledger.AllocationInput(inv.id, 98_00, 2_00)])
        ledger.settle_payment(s, p.id)
        assert inv.status == "paid"
        ledger.reverse_payment(s, p.id, reason="Account closed", code="R02")
        again = ledger.reverse_payment(s, p.id, reason="Account closed", code="R02")
        assert not again.created
        assert inv.balance_minor == 100_00 and inv.status == "open"
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)


def test_credit_memo_beyond_balance_goes_to_credit_and_credit_is_applied(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        a = builders.invoice(s, acme, 30_00)
        b = builders.invoice(s, acme, 50_00)
        ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=45_00,
                                 currency="USD", reason="Damaged goods", invoice_id=a.id)
        assert a.balance_minor == 0 and a.status == "credited"
        assert ledger.customer_credit(s, acme.id, "USD") == 15_00
        with pytest.raises(ledger.LedgerError, match="credit"):
            ledger.apply_credit(s, customer_id=acme.id, invoice_id=b.id, amount_minor=16_00,
                                idempotency_key="apply-1")
        ledger.apply_credit(s, customer_id=acme.id, invoice_id=b.id, amount_minor=15_00,
                            idempotency_key="apply-1")
        assert b.balance_minor == 35_00
        ledger.write_off(s, invoice_id=b.id, reason="Uncollectable")
        assert b.balance_minor == 0 and b.status == "written_off"
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)


def test_external_payment_and_invoice_adjustment(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 100_00, number="INV-ADJ")
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=60_00, currency="USD",
            idempotency_key="erp:check:1001", reference="check 1001",
            received_at=dt.datetime(2026, 11, 5, tzinfo=dt.UTC),
            allocations=[ledger.AllocationInput(inv.id, 60_00)])
        # The ERP lowers the invoice to 50.00: the customer paid 10.00 too much.
        data = ledger.InvoiceInput(number="INV-ADJ", customer_id=acme.id,
                                   issue_date=inv.issue_date, currency="USD",
                                   lines=[ledger.LineInput("Widgets", 50_00)])
        ledger.adjust_invoice(s, inv.id, data)
        assert inv.balance_minor == 0 and inv.total_minor == 50_00
        assert ledger.customer_credit(s, acme.id, "USD") == 10_00
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)


def test_check_names_an_invoice_whose_status_does_not_fit_its_balance(db):
    from sqlalchemy import text

    with db.unit_of_work() as uow:
        acme = builders.customer(uow.session)
        builders.invoice(uow.session, acme, 10_00, number="INV-STATUS")
        uow.commit()
    with db.unit_of_work() as uow:
        uow.session.execute(text("UPDATE ar_invoices SET status = 'paid' "
                                 "WHERE number = 'INV-STATUS'"))
        uow.commit()
    with db.session() as s:
        result = run_checks(s)
    assert result.violation == "invoice INV-STATUS: status 'paid' does not fit its balance 1000"


def test_timestamps_come_back_in_utc(db):
    eastern = dt.timezone(dt.timedelta(hours=-5))
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 10_00)
        posted = ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=10_00, currency="USD",
            idempotency_key="erp:tz", allocations=[ledger.AllocationInput(inv.id, 10_00)],
            received_at=dt.datetime(2026, 11, 5, 22, 0, tzinfo=eastern))
        entry_id = posted.entry.id
        uow.commit()
    with db.session() as s:
        from portal.ledger.models import JournalEntry

        occurred = s.get(JournalEntry, entry_id).occurred_at
    assert occurred == dt.datetime(2026, 11, 6, 3, 0, tzinfo=dt.UTC)
    assert occurred.utcoffset() == dt.timedelta(0)


def test_check_names_a_reversed_payment_without_its_reversal(db):
    from sqlalchemy import text

    with db.unit_of_work() as uow:
        acme = builders.customer(uow.session)
        inv = builders.invoice(uow.session, acme, 10_00)
        posted = ledger.record_external_payment(
            uow.session, customer_id=acme.id, amount_minor=10_00, currency="USD",
            idempotency_key="erp:rev", allocations=[ledger.AllocationInput(inv.id, 10_00)])
        payment_id = posted.entry.payment_id
        uow.commit()
    with db.unit_of_work() as uow:
        uow.session.execute(text(f"UPDATE ar_payments SET status = 'reversed' "
                                 f"WHERE id = {payment_id}"))
        uow.commit()
    with db.session() as s:
        assert run_checks(s).violation == f"payment {payment_id} (reversed) has 0 reversal entries"


def test_credit_memo_to_a_paid_invoice_leaves_its_status(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 10_00)
        ledger.record_external_payment(s, customer_id=acme.id, amount_minor=10_00,
                                       currency="USD", idempotency_key="erp:paid",
                                       allocations=[ledger.AllocationInput(inv.id, 10_00)])
        ledger.issue_credit_memo(s, number="CM-LATE", customer_id=acme.id, amount_minor=2_00,
                                 currency="USD", reason="Rebate", invoice_id=inv.id)
        assert inv.status == "paid"
        assert ledger.customer_credit(s, acme.id, "USD") == 2_00
        uow.commit()
    with db.session() as s:
        assert_ledger_ok(s)
