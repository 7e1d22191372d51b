"""When a bank debit should have settled: four banking days of the Federal Reserve after it
started, so weekends and the Fed's holidays are not counted."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.payments.ach_authorization import banking_day, expected_by

D = dt.date


@pytest.mark.parametrize(("started", "expected"), [
    pytest.param(D(2026, 12, 7), D(2026, 12, 11), id="Monday: Friday"),
    pytest.param(D(2026, 12, 3), D(2026, 12, 9), id="over a weekend"),
    pytest.param(D(2026, 11, 20), D(2026, 11, 27), id="over Thanksgiving (Thu Nov 26)"),
    pytest.param(D(2026, 12, 23), D(2026, 12, 30), id="over Christmas (Fri Dec 25)"),
    pytest.param(D(2026, 12, 31), D(2027, 1, 7), id="over New Year's Day (Fri Jan 1)"),
    # July 4, 2026 is a Saturday: the Federal Reserve Banks are open on Friday the 3rd.
    pytest.param(D(2026, 7, 1), D(2026, 7, 7), id="Independence Day on a Saturday"),
    # June 19, 2027 is a Saturday too: the Friday before stays open.
    pytest.param(D(2027, 6, 17), D(2027, 6, 23), id="Juneteenth on a Saturday"),
    # Christmas 2027 is a Saturday: Friday the 24th is a banking day.
    pytest.param(D(2027, 12, 23), D(2027, 12, 29), id="Christmas on a Saturday"),
])
def test_four_banking_days(started, expected):
    assert expected_by(started) == expected


@pytest.mark.parametrize(("day", "open_"), [
    (D(2026, 11, 26), False),  # Thanksgiving
    (D(2026, 10, 12), False),  # Columbus Day: the Fed closes, stock markets do not
    (D(2026, 11, 11), False),  # Veterans Day
    (D(2026, 7, 3), True),  # Friday before a Saturday Independence Day
    (D(2027, 7, 5), False),  # Independence Day on a Sunday: the Monday is closed
    (D(2026, 4, 3), True),  # Good Friday: the stock exchange closes, the Fed does not
    (D(2026, 12, 5), False),  # a Saturday
])
def test_the_federal_reserves_calendar(day, open_):
    assert banking_day(day) is open_
