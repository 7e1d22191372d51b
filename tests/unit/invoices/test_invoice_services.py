"""The invoice center's rules: aging buckets, due windows, derived state, discount offers, terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.invoices import services
from portal.ledger.models import Invoice
from portal.money import Money
from portal.vendor.services import default_vendor

TODAY = dt.date(2026, 11, 20)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.mark.parametrize(("late", "bucket"), [
    (-30, "current"), (0, "current"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"),
    (61, "61_90"), (90, "61_90"), (91, "over_90"), (400, "over_90"),
])
def test_aging_bucket_by_days_past_due(late, bucket):
    assert services.aging_bucket(days_ago(late), TODAY) == bucket


@pytest.mark.parametrize("bucket", services.AGING_BUCKETS)
def test_due_date_ranges_match_the_buckets_day_by_day(bucket):
    earliest, latest = services.due_date_range(bucket, TODAY)
    for late in range(-10, 200):
        due = days_ago(late)
        inside = (earliest is None or due >= earliest) and (latest is None or due <= latest)
        assert inside == (services.aging_bucket(due, TODAY) == bucket), (bucket, late)


def test_overdue_and_due_soon_windows():
    assert services.due_date_range("overdue", TODAY) == (None, dt.date(2026, 11, 19))
    assert services.due_date_range("due_soon", TODAY) == (TODAY, dt.date(2026, 11, 27))


def invoice(**fields) -> Invoice:
    values = {"number": "INV-1", "currency": "USD", "issue_date": dt.date(2026, 11, 10),
              "due_date": dt.date(2026, 12, 10), "subtotal_minor": 100_00, "tax_minor": 0,
              "total_minor": 100_00, "balance_minor": 100_00, "reserved_minor": 0,
              "status": "open", "net_days": 30, "discount_percent": Decimal("2"),
              "discount_days": 10}
    values.update(fields)
    return Invoice(**values)


def test_state_of_an_open_invoice_past_due():
    state = services.invoice_state(invoice(due_date=days_ago(12), balance_minor=40_00), TODAY)
    assert (state.key, state.days_overdue, state.partly_paid, state.due_soon,
            state.processing, state.is_open) == ("overdue", 12, True, False, False, True)


def test_state_of_an_invoice_due_soon_with_a_payment_processing():
    state = services.invoice_state(invoice(due_date=TODAY + dt.timedelta(days=7),
                                           reserved_minor=100_00), TODAY)
    assert (state.key, state.due_soon, state.processing, state.days_overdue) == \
        ("open", True, True, 0)
    assert not services.invoice_state(invoice(due_date=TODAY + dt.timedelta(days=8)),
                                      TODAY).due_soon


def test_a_paid_invoice_is_never_overdue():
    state = services.invoice_state(invoice(status="paid", balance_minor=0,
                                           due_date=days_ago(40)), TODAY)
    assert (state.key, state.days_overdue, state.is_open) == ("paid", 0, False)


def test_discount_offer_until_and_on_the_deadline_not_after():
    vendor = default_vendor()
    issued = dt.date(2026, 11, 10)  # 2/10: the deadline is Nov 20
    offer = services.discount_offer(invoice(issue_date=issued), vendor, dt.date(2026, 11, 20))
    assert offer == services.DiscountOffer(pay=Money(98_00, "USD"), save=Money(2_00, "USD"),
                                           deadline=dt.date(2026, 11, 20), prorated=False)
    assert services.discount_offer(invoice(issue_date=issued), vendor,
                                   dt.date(2026, 11, 21)) is None


def test_discount_is_rounded_half_up_on_the_vendors_base():
    vendor = default_vendor()
    # 2 % of 123.25 is 2.465: half up gives 2.47 (half even would give 2.46).
    offer = services.discount_offer(invoice(total_minor=123_25, balance_minor=123_25,
                                            subtotal_minor=100_00, tax_minor=23_25),
                                    vendor, TODAY)
    assert (offer.save, offer.pay) == (Money(2_47, "USD"), Money(120_78, "USD"))
    vendor.discount_base = "subtotal"
    offer = services.discount_offer(invoice(total_minor=123_25, balance_minor=123_25,
                                            subtotal_minor=100_25, tax_minor=23_00),
                                    vendor, TODAY)
    # 2 % of the subtotal 100.25 is 2.005: 2.01.
    assert (offer.save, offer.pay) == (Money(2_01, "USD"), Money(121_24, "USD"))


def test_no_offer_on_a_partly_paid_invoice_unless_the_vendor_prorates():
    vendor = default_vendor()
    partly = invoice(balance_minor=60_00)
    assert services.discount_offer(partly, vendor, TODAY) is None
    vendor.prorate_partial_discounts = True
    offer = services.discount_offer(partly, vendor, TODAY)
    assert (offer.save, offer.pay, offer.prorated) == (Money(1_20, "USD"), Money(58_80, "USD"),
                                                       True)


@pytest.mark.parametrize("fields", [
    {"reserved_minor": 100_00},  # a payment in progress may be taking it
    {"status": "paid", "balance_minor": 0},
    {"discount_percent": None, "discount_days": None},
    {"status": "void", "total_minor": 0, "balance_minor": 0, "subtotal_minor": 0},
])
def test_no_offer(fields):
    vendor = default_vendor()
    vendor.prorate_partial_discounts = True
    assert services.discount_offer(invoice(**fields), vendor, TODAY) is None


def test_discount_in_a_currency_without_minor_units():
    offer = services.discount_offer(invoice(currency="JPY", total_minor=12_345,
                                            balance_minor=12_345, subtotal_minor=12_345),
                                    default_vendor(), TODAY)
    assert (offer.save, offer.pay) == (Money(247, "JPY"), Money(12_098, "JPY"))


@pytest.mark.parametrize(("args", "words"), [
    ((30, Decimal("2.00"), 10), "2% discount if paid within 10 days, otherwise net 30"),
    ((45, Decimal("1.50"), 15), "1.5% discount if paid within 15 days, otherwise net 45"),
    ((30, Decimal("1"), 1), "1% discount if paid within 1 day, otherwise net 30"),
    ((30, None, None), "Net 30: due 30 days after the invoice date"),
    ((1, None, None), "Net 1: due 1 day after the invoice date"),
    ((0, None, None), "Due on receipt"),
])
def test_terms_in_words(args, words):
    assert services.terms_in_words(*args) == words


def test_terms_in_words_use_the_locales_decimal_mark():
    assert services.terms_in_words(30, Decimal("1.50"), 15, locale="fr").startswith("1,5%")
