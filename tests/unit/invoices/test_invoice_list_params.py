"""The list's query string and its keyset cursors: lenient parsing, stable round trips."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.invoices import forms, queries


def test_defaults_and_unknown_values_fall_back():
    params, errors = forms.parse_list({"status": "bogus", "sort": "sideways", "per_page": "7",
                                       "aging": "forever"})
    assert params == forms.ListParams()
    assert errors == {}
    assert params.args() == {}


def test_malformed_dates_and_amounts_are_dropped_with_a_message():
    params, errors = forms.parse_list({"issue_from": "2026-13-01", "amount_min": "ten",
                                       "amount_max": "-5", "due_to": "2026-11-30"})
    assert params.filter.issue_from is None and params.filter.amount_min is None
    assert params.filter.amount_max is None
    assert params.filter.due_to == dt.date(2026, 11, 30)
    assert set(errors) == {"issue_from", "amount_min", "amount_max"}


def test_filter_token_round_trips():
    f, _ = forms.parse_filter({"status": "overdue", "q": "  PO-77 ", "amount_min": "1,250.50",
                               "due_from": "2026-10-01", "currency": "cad"})
    assert f.q == "PO-77" and f.amount_min == Decimal("1250.50") and f.currency == "CAD"
    assert f.token() == ("amount_min=1250.50&currency=CAD&due_from=2026-10-01&q=PO-77"
                         "&status=overdue")
    assert forms.InvoiceFilter.from_token(f.token()) == f
    assert forms.InvoiceFilter.from_token("") == forms.InvoiceFilter()


def test_with_filter_starts_from_the_first_page():
    params = forms.ListParams(sort="amount_desc", after="abc")
    moved = params.with_filter(status="paid")
    assert (moved.filter.status, moved.sort, moved.after) == ("paid", "amount_desc", None)
    assert moved.args() == {"status": "paid", "sort": "amount_desc"}


@pytest.mark.parametrize(("sort", "key"), [
    ("due_asc", [dt.date(2026, 11, 30), 42]),
    ("issued_desc", [dt.date(2026, 1, 2), 7]),
    ("amount_asc", ["EUR", 123_45, 9]),
])
def test_cursor_round_trip(sort, key):
    assert queries.decode_cursor(sort, queries.encode_cursor(sort, key)) == key


@pytest.mark.parametrize("token", ["", "not base64 !", "e30", "WyJkdWVfYXNjIl0"])
def test_broken_cursors_are_ignored(token):
    assert queries.decode_cursor("due_asc", token) is None


def test_a_cursor_of_another_sort_is_ignored():
    token = queries.encode_cursor("due_asc", [dt.date(2026, 11, 30), 42])
    assert queries.decode_cursor("issued_asc", token) is None
    assert queries.decode_cursor("due_desc", token) is None
    wrong_types = queries.encode_cursor("amount_asc", [1, "x", 3])
    assert queries.decode_cursor("amount_asc", wrong_types) is None


@pytest.mark.parametrize(("typed", "locale", "amount"), [
    ("1250.00", "en", "1250.00"), ("1,250.00", "en", "1250.00"),
    ("1250,00", "fr", "1250.00"), ("1 250,00", "fr", "1250.00"), ("1\u00a0250,5", "fr", "1250.5"),
    ("1250,00", "es", "1250.00"), ("12.500,50", "es", "12500.50"),
    ("99.95", "fr", "99.95"),  # the list's own links, in any language
])
def test_amounts_are_read_as_written_in_the_users_language(typed, locale, amount):
    params, errors = forms.parse_list({"amount_min": typed}, locale)
    assert errors == {} and params.filter.amount_min == Decimal(amount)


@pytest.mark.parametrize(("typed", "locale"), [("1,5", "en"), ("1.250,00", "fr"), ("-5", "en"),
                                               ("12,50,0", "es"), ("NaN", "en")])
def test_ambiguous_amounts_are_refused_not_guessed(typed, locale):
    params, errors = forms.parse_list({"amount_min": typed}, locale)
    assert params.filter.amount_min is None and "amount_min" in errors
