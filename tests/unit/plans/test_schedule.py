"""Installment schedules (amounts that do not split evenly, month ends) and the vendor's
policy at its boundaries: inside, and just outside each limit."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.plans.schedule import (
    BIWEEKLY,
    FREQUENCIES,
    MONTHLY,
    WEEKLY,
    Policy,
    Record,
    ScheduleError,
    add_months,
    judge,
    schedule,
)

TODAY = dt.date(2026, 12, 2)


def test_an_amount_that_does_not_split_evenly_puts_the_rest_on_the_last():
    plan = schedule(1000_00, 3, MONTHLY, dt.date(2027, 1, 15), today=TODAY)
    assert [(p.number, p.due_on, p.amount_minor) for p in plan] == [
        (1, dt.date(2027, 1, 15), 333_33), (2, dt.date(2027, 2, 15), 333_33),
        (3, dt.date(2027, 3, 15), 333_34)]


def test_a_down_payment_is_due_today_and_the_rest_is_split():
    plan = schedule(1000_01, 2, WEEKLY, dt.date(2026, 12, 9), today=TODAY, down_minor=100_00)
    assert [(p.number, p.due_on, p.amount_minor) for p in plan] == [
        (0, TODAY, 100_00), (1, dt.date(2026, 12, 9), 450_00), (2, dt.date(2026, 12, 16), 450_01)]
    assert plan[0].is_down_payment and not plan[1].is_down_payment


def test_monthly_dates_keep_the_day_or_take_the_months_last():
    plan = schedule(300_00, 4, MONTHLY, dt.date(2027, 1, 31), today=TODAY)
    assert [p.due_on for p in plan] == [dt.date(2027, 1, 31), dt.date(2027, 2, 28),
                                        dt.date(2027, 3, 31), dt.date(2027, 4, 30)]
    assert add_months(dt.date(2027, 12, 31), 2) == dt.date(2028, 2, 29)  # a leap year


def test_every_two_weeks():
    plan = schedule(90_00, 3, BIWEEKLY, dt.date(2026, 12, 10), today=TODAY)
    assert [p.due_on for p in plan] == [dt.date(2026, 12, 10), dt.date(2026, 12, 24),
                                        dt.date(2027, 1, 7)]


@pytest.mark.parametrize("args, message", [
    ((0, 3, MONTHLY, dt.date(2027, 1, 1)), "positive amount"),
    ((100_00, 0, MONTHLY, dt.date(2027, 1, 1)), "at least one installment"),
    ((100_00, 3, MONTHLY, TODAY), "after today"),
    ((100_00, 3, "yearly", dt.date(2027, 1, 1)), "unknown frequency"),
    ((2, 3, MONTHLY, dt.date(2027, 1, 1)), "at least one minor unit"),
])
def test_what_cannot_be_scheduled_says_why(args, message):
    with pytest.raises(ScheduleError, match=message):
        schedule(*args, today=TODAY)


def test_a_down_payment_of_the_whole_total_is_refused():
    with pytest.raises(ScheduleError, match="less than the total"):
        schedule(100_00, 2, MONTHLY, dt.date(2027, 1, 1), today=TODAY, down_minor=100_00)


@given(total=st.integers(1, 10**12), count=st.integers(1, 36),
       frequency=st.sampled_from(FREQUENCIES), delay=st.integers(1, 400),
       down_share=st.integers(0, 99))
def test_the_payments_always_add_up_to_the_total(total, count, frequency, delay, down_share):
    down = total * down_share // 100
    if total - down < count:
        return
    plan = schedule(total, count, frequency, TODAY + dt.timedelta(days=delay), today=TODAY,
                    down_minor=down)
    assert sum(p.amount_minor for p in plan) == total
    installments = [p for p in plan if not p.is_down_payment]
    assert len(installments) == count
    assert len({p.amount_minor for p in installments[:-1]}) <= 1
    assert 0 <= installments[-1].amount_minor - installments[0].amount_minor < count
    assert all(a.due_on < b.due_on for a, b in itertools.pairwise(installments))


# The policy --------------------------------------------------------------------------------

POLICY = Policy(max_total_minor=10_000_00, max_installments=6, max_first_delay_days=30,
                min_down_percent=Decimal("10"))
INSIDE = {"total_minor": 10_000_00, "count": 6, "frequency": MONTHLY,
          "first": TODAY + dt.timedelta(days=30), "today": TODAY, "down_minor": 1_000_00,
          "record": Record(open_ar_minor=50_000_00, credit_limit_minor=50_000_00)}


def test_a_request_at_every_limit_is_approved_at_once():
    assert judge(POLICY, **INSIDE).approved


@pytest.mark.parametrize("change, reason", [
    ({"total_minor": 10_000_01, "down_minor": 1_000_01}, "total"),
    ({"count": 7}, "installments"),
    ({"first": TODAY + dt.timedelta(days=31)}, "first_date"),
    ({"down_minor": 999_99}, "down_payment"),
    ({"record": Record(defaulted_within_lookback=True)}, "defaulted"),
    ({"record": Record(open_ar_minor=50_000_01, credit_limit_minor=50_000_00)},
     "credit_limit"),
    ({"frequency": WEEKLY}, None),  # weekly is allowed by default: still inside
])
def test_just_outside_each_limit_goes_to_staff_for_that_reason(change, reason):
    verdict = judge(POLICY, **{**INSIDE, **change})
    assert verdict.reasons == ([reason] if reason else [])


def test_a_frequency_the_vendor_does_not_offer_goes_to_staff():
    weekly_off = Policy(frequencies=(MONTHLY,))
    assert judge(weekly_off, **{**INSIDE, "frequency": WEEKLY, "total_minor": 100_00,
                                "down_minor": 10_00}).reasons == ["frequency"]


def test_the_minimum_down_payment_rounds_up_to_the_minor_unit():
    assert Policy(min_down_percent=Decimal("10")).min_down_minor(1_000_01) == 100_01
    assert Policy(min_down_percent=Decimal("0")).min_down_minor(1_000_01) == 0


# The vendor's policy setting (portal vendor set plan_policy) -------------------------------


def test_a_policy_setting_overrides_only_what_it_names():
    policy = Policy.from_settings({"max_installments": 12, "min_down_percent": "0",
                                   "frequencies": ["monthly"], "grace_days": 15})
    assert (policy.max_installments, policy.min_down_percent, policy.frequencies,
            policy.grace_days) == (12, Decimal("0"), ("monthly",), 15)
    assert policy.max_total_minor == Policy().max_total_minor
    assert Policy.from_settings(None) == Policy() == Policy.from_settings({})


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_instalments": 3}, "unknown plan_policy setting(s): max_instalments"),
    ({"max_installments": 0}, "max_installments must be a whole number of at least 1"),
    ({"max_total_minor": 12.5}, "max_total_minor must be a whole number of at least 1"),
    ({"grace_days": True}, "grace_days must be a whole number of at least 0"),
    ({"min_down_percent": 120}, "min_down_percent must be a number from 0 to 100"),
    ({"min_down_percent": "ten"}, "min_down_percent must be a number from 0 to 100"),
    ({"frequencies": ["daily"]}, "frequencies must be a list of weekly, biweekly, monthly"),
    ([1, 2], "plan_policy must be a JSON object"),
])
def test_a_bad_policy_setting_is_refused_with_its_name(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Policy.from_settings(settings)
