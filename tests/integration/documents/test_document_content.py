"""What documents state, read from the ledger on fixed dates: applications that
reconcile, aging buckets at their edges, the early-pay offer and its deadline
(the invoice center's rules, so a PDF and the invoice page agree)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal import ledger
from portal.documents import queries
from portal.documents.content import Application, DiscountOffer
from portal.invoices import services as rules
from portal.ledger.checks import run_checks
from portal.vendor.services import get_vendor, local_today, update_vendor
from tests import builders

TODAY = dt.date(2026, 11, 23)


def contents(s, invoices, today=TODAY):
    return queries.invoice_contents(s, invoices, vendor=get_vendor(s), today=today,
                                    base_url="https://portal.example/")


def test_applications_reconcile_the_total_with_the_balance(db):
    """Worked example: a check, a credit memo, a card payment with its discount and its
    chargeback, then the invoice is reduced; total + applications = balance throughout."""
    noon = dt.datetime(2026, 11, 5, 17, 0, tzinfo=dt.UTC)  # 12:00 in New York
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 1_000_00, number="INV-W-1", terms="2/10 net 30",
                               issue_date=dt.date(2026, 11, 1))
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=300_00, currency="USD",
            idempotency_key="erp:w:1", reference="CHK-77", received_at=noon,
            allocations=[ledger.AllocationInput(inv.id, 300_00)])
        ledger.issue_credit_memo(s, number="CM-W-1", customer_id=acme.id, amount_minor=50_00,
                                 currency="USD", reason="damaged", invoice_id=inv.id,
                                 occurred_at=noon + dt.timedelta(days=1))
        card = ledger.start_payment(
            s, customer_id=acme.id, currency="USD", method="card", amount_minor=630_00,
            allocations=[ledger.AllocationInput(inv.id, 630_00, discount_minor=20_00)])
        ledger.settle_payment(s, card.id, settled_at=noon + dt.timedelta(days=2))
        ledger.reverse_payment(s, card.id, reason="chargeback", code="4853",
                               occurred_at=noon + dt.timedelta(days=3))
        ledger.adjust_invoice(s, inv.id, ledger.InvoiceInput(
            number="INV-W-1", customer_id=acme.id, issue_date=dt.date(2026, 11, 1),
            currency="USD", terms="2/10 net 30", lines=[ledger.LineInput("Widgets", 900_00)],
            occurred_at=noon + dt.timedelta(days=4)))
        # An invoice paid in full and then reduced: the excess goes to customer credit.
        paid = builders.invoice(s, acme, 500_00, number="INV-W-2",
                                issue_date=dt.date(2026, 11, 1))
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=500_00, currency="USD",
            idempotency_key="erp:w:2", received_at=noon,
            allocations=[ledger.AllocationInput(paid.id, 500_00)])
        ledger.adjust_invoice(s, paid.id, ledger.InvoiceInput(
            number="INV-W-2", customer_id=acme.id, issue_date=dt.date(2026, 11, 1),
            currency="USD", lines=[ledger.LineInput("Widgets", 400_00)], occurred_at=noon))
        uow.commit()
    with db.session() as s:
        first, second = contents(s, [s.merge(inv), s.merge(paid)], today=dt.date(2026, 11, 11))
        day = dt.date(2026, 11, 5)
        assert first.applications == (
            Application(day, "payment", -300_00, method="external", reference="CHK-77"),
            Application(day + dt.timedelta(1), "credit_memo", -50_00, reference="CM-W-1"),
            Application(day + dt.timedelta(2), "payment", -630_00, method="card"),
            Application(day + dt.timedelta(2), "discount", -20_00),
            Application(day + dt.timedelta(3), "payment_returned", 650_00, reference="4853"),
        )
        assert (first.total_minor, first.balance_minor) == (900_00, 550_00)
        assert second.applications == (
            Application(day, "payment", -500_00, method="external"),
            Application(day, "reduction_credited", 100_00))
        for content in (first, second):
            assert content.total_minor + sum(a.amount_minor for a in content.applications) \
                == content.balance_minor
        # Partly paid, and this vendor does not pro-rate: no discount offered any more.
        assert first.offer is None
        assert first.pay_url == "https://portal.example/invoices/INV-W-1"
        assert run_checks(s).ok


def test_the_offer_is_the_invoice_pages_on_the_vendors_date(db):
    with db.unit_of_work() as uow:
        s = uow.session
        update_vendor(s, name="Northwind", timezone="America/Los_Angeles",
                      discount_base="subtotal")
        acme = builders.customer(s)
        inv = builders.invoice(s, acme, 1_100_00, tax_minor=100_00, terms="2/10 net 30",
                               issue_date=dt.date(2026, 11, 1))
        net = builders.invoice(s, acme, 500_00, issue_date=dt.date(2026, 11, 1))
        uow.commit()
    with db.session() as s:
        vendor, inv, net = get_vendor(s), s.merge(inv), s.merge(net)
        # 05:00 UTC on the 12th is still the 11th, the last day, in Los Angeles.
        late_evening = local_today(vendor, dt.datetime(2026, 11, 12, 5, 0, tzinfo=dt.UTC))
        offered, plain = contents(s, [inv, net], today=late_evening)
        # 2 % of the $1,000.00 subtotal (this vendor's base), as the invoice page says.
        assert offered.offer == DiscountOffer(pay_minor=1_080_00, save_minor=20_00,
                                              deadline=dt.date(2026, 11, 11))
        page = rules.discount_offer(inv, vendor, late_evening)
        assert (page.pay.minor, page.save.minor) == (1_080_00, 20_00)
        assert plain.offer is None
        next_morning = local_today(vendor, dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.UTC))
        assert contents(s, [inv], today=next_morning)[0].offer is None


def test_statement_has_the_open_items_aging_and_credit_per_currency(db):
    with db.unit_of_work() as uow:
        s = uow.session
        acme = builders.customer(s, number="C-ST", currency="USD")
        other = builders.customer(s, name="Other Co")

        def make(number, due_days_ago, amount, currency="USD", customer=acme):
            # net 30: issued 30 days before it is due.
            issued = TODAY - dt.timedelta(days=due_days_ago + 30)
            return builders.invoice(s, customer, amount, number=number, issue_date=issued,
                                    currency=currency)

        # The edges of each bucket: 0 | 1-30 | 31-60 | 61-90 | 91-.
        for number, days, amount in (
                ("A-0", 0, 1_00), ("A-1", 1, 10_00), ("A-30", 30, 100_00),
                ("A-31", 31, 1_000_00), ("A-60", 60, 2_000_00), ("A-61", 61, 10_000_00),
                ("A-90", 90, 20_000_00), ("A-91", 91, 100_000_00), ("A-FUTURE", -12, 7_00)):
            make(number, days, amount)
        paid = make("A-PAID", 5, 40_00)
        make("E-45", 45, 250_00, currency="EUR")
        make("O-1", 1, 999_00, customer=other)
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=65_00, currency="USD", idempotency_key="erp:s",
            allocations=[ledger.AllocationInput(paid.id, 40_00)])  # $25.00 to credit
        uow.commit()
    with db.session() as s:
        statement = queries.statement_content(s, acme.id, vendor=get_vendor(s), today=TODAY,
                                              base_url="https://portal.example")
    assert statement.statement_date == TODAY and statement.bill_to.number == "C-ST"
    usd, eur = statement.sections
    assert [item.number for item in usd.items] == [
        "A-91", "A-90", "A-61", "A-60", "A-31", "A-30", "A-1", "A-0", "A-FUTURE"]  # by due date
    assert [(item.days_past_due, item.bucket) for item in usd.items] == [
        (91, "over_90"), (90, "61_90"), (61, "61_90"), (60, "31_60"), (31, "31_60"),
        (30, "1_30"), (1, "1_30"), (0, "current"), (0, "current")]
    assert [(b.key, b.amount_minor) for b in usd.aging] == [
        ("current", 8_00), ("1_30", 110_00), ("31_60", 3_000_00), ("61_90", 30_000_00),
        ("over_90", 100_000_00)]
    assert usd.open_minor == 133_118_00 and usd.credit_minor == 25_00
    assert usd.net_due_minor == 133_093_00 and usd.past_due_minor == 133_110_00
    assert (eur.currency, [i.number for i in eur.items], eur.open_minor) == ("EUR", ["E-45"],
                                                                           250_00)
    assert {b.key: b.amount_minor for b in eur.aging}["31_60"] == 250_00
    assert statement.pay_url == "https://portal.example/invoices"


def test_bill_to_does_not_repeat_the_name_as_the_first_address_line(db):
    with db.unit_of_work() as uow:
        acme = builders.customer(uow.session, name="Acme Corp")
        acme.billing_address = "ACME CORP\n  1 Road Runner Way\n\nPhoenix, AZ"
        assert queries.bill_to(acme).address == ("1 Road Runner Way", "Phoenix, AZ")
        acme.billing_address = None
        assert queries.bill_to(acme).address == ()


def test_quantities_stay_exact_decimals(db):
    with db.unit_of_work() as uow:
        s = uow.session
        inv = ledger.create_invoice(s, ledger.InvoiceInput(
            number="INV-Q", customer_id=builders.customer(s).id, issue_date=TODAY,
            currency="USD", lines=[ledger.LineInput("Hose, per ft", 9_90,
                                                    quantity=Decimal("2.5"),
                                                    unit_price_minor=3_96)]))
        uow.commit()
    with db.session() as s:
        [content] = contents(s, [s.merge(inv)])
    assert content.lines[0].quantity == Decimal("2.5")
    assert isinstance(content.lines[0].unit_price_minor, int)
