"""/invoices: tabs and filters, search, the summary and its aging buckets, roles, landing."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.invoices import forms, queries
from portal.ledger.models import Customer
from tests.integration.accounts.conftest import Browser
from tests.integration.invoices.conftest import TODAY, aging, days, figure, issue, numbers


def listed(browser, query: str = "") -> list[str]:
    response = browser.client.get(f"/invoices{query}")
    assert response.status_code == 200
    return numbers(response.get_data(as_text=True))


OPEN_BY_DUE = ["A-1005", "A-1004", "A-1001", "A-1003", "A-1002", "A-1006", "B-3001", "A-1007",
               "A-1008", "A-2002"]


@pytest.mark.parametrize(("query", "expected"), [
    ("", OPEN_BY_DUE),
    ("?status=open", OPEN_BY_DUE),
    ("?status=overdue", ["A-1005", "A-1004", "A-1001", "A-1003", "A-1002"]),
    ("?status=due_soon", ["A-1006", "B-3001", "A-1007"]),
    ("?status=paid", ["A-2001"]),
    ("?status=processing", ["A-2002"]),
    ("?status=credited", ["A-2003"]),
    ("?status=written_off", ["A-2004"]),
    ("?status=overdue&sort=due_desc", ["A-1002", "A-1003", "A-1001", "A-1004", "A-1005"]),
    ("?status=overdue&sort=amount_desc", ["A-1005", "A-1004", "A-1003", "A-1002", "A-1001"]),
    ("?status=all&amount_min=300&amount_max=500.00",
     ["A-2004", "A-1005", "A-1004", "A-1003", "A-2003"]),
    ("?due_from=2026-11-19&due_to=2026-11-27", ["A-1002", "A-1006", "B-3001", "A-1007"]),
    ("?status=all&issue_from=2026-10-21&issue_to=2026-10-24", ["A-1006", "B-3001"]),
])
def test_tabs_and_filters(book, signed_in, query, expected):
    assert listed(signed_in(), query) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("?q=A-100", ["A-1005", "A-1004", "A-1001", "A-1003", "A-1002", "A-1006", "A-1007",
                  "A-1008"]),
    ("?q=a-1001", ["A-1001"]),  # case does not matter
    ("?q=PO-77", ["A-1001", "A-1007"]),  # PO numbers too; Globex's PO-7781-GLOBEX is not Acme's
    ("?q=PO-7781&status=all", ["A-1001"]),
    ("?q=zz", ["B-3001"]),
    ("?q=1001", []),  # a prefix, not a substring
    ("?q=A-%25", []),  # LIKE wildcards are matched literally
    ("?q=A-2&status=all", ["A-2004", "A-2003", "A-2002", "A-2001"]),
])
def test_search_by_invoice_and_po_number_prefix(book, signed_in, query, expected):
    assert listed(signed_in(), query) == expected


def test_summary_and_aging_buckets(book, signed_in):
    page = signed_in().client.get("/invoices").get_data(as_text=True)
    assert aging(page) == {
        "current": (5, ["$2,400.00"]),  # A-1006, A-1007, A-1008, A-2002, B-3001 (50.00 left)
        "1_30": (2, ["$500.00"]),
        "31_60": (1, ["$100.00"]),
        "61_90": (1, ["$400.00"]),
        "over_90": (1, ["$500.00"]),
    }
    assert figure(page, "open") == "Total open $3,900.00 10 invoices"
    assert figure(page, "overdue") == "Overdue $1,500.00 5 invoices past due"
    assert figure(page, "due_soon") == "Due in the next 7 days $1,350.00 3 invoices"
    assert figure(page, "credit").startswith("Credits available $50.00")
    assert figure(page, "processing") == "Payments processing $250.00 on 1 invoice"


@pytest.mark.parametrize(("bucket", "expected"), [
    ("current", ["A-1006", "B-3001", "A-1007", "A-1008", "A-2002"]),
    ("1_30", ["A-1003", "A-1002"]),
    ("31_60", ["A-1001"]),
    ("61_90", ["A-1004"]),
    ("over_90", ["A-1005"]),
])
def test_an_aging_bucket_filters_the_list(book, signed_in, bucket, expected):
    b = signed_in()
    page = b.client.get("/invoices").get_data(as_text=True)
    href = f'href="/invoices?status=open&amp;aging={bucket}"'
    assert href in page
    filtered = b.client.get(f"/invoices?status=open&aging={bucket}").get_data(as_text=True)
    assert numbers(filtered) == expected
    assert f'data-bucket="{bucket}" data-count="{len(expected)}"' in filtered


def test_today_is_the_vendors_date(book, signed_in, clock):
    clock.today = TODAY + dt.timedelta(days=1)  # A-1006, due TODAY, is now a day late
    page = signed_in().client.get("/invoices?status=overdue").get_data(as_text=True)
    assert numbers(page)[-1] == "A-1006"
    assert "1 day overdue" in page


def test_overdue_rows_say_so_in_words(book, signed_in):
    page = signed_in().client.get("/invoices?q=A-1005").get_data(as_text=True)
    assert "91 days overdue" in page
    assert '<span class="badge badge-bad"><span aria-hidden="true">! </span>Overdue</span>' in page


def test_totals_are_per_currency(world, signed_in):
    with world.session() as uow:
        acme = uow.session.get(Customer, world.acme_id)
        issue(uow.session, acme, "USD-1", 100_00, due=days(-5))
        issue(uow.session, acme, "EUR-1", 200_00, due=days(-5), currency="EUR")
        issue(uow.session, acme, "JPY-1", 5_000, due=days(3), currency="JPY")
        uow.commit()
    page = signed_in().client.get("/invoices").get_data(as_text=True)
    assert figure(page, "open") == "Total open €200.00 ¥5,000 $100.00 3 invoices"
    assert aging(page)["1_30"] == (2, ["€200.00", "$100.00"])
    assert '<option value="EUR" >EUR</option>' in page  # a currency filter appears
    assert listed(signed_in(), "?currency=EUR") == ["EUR-1"]
    # An amount range means each currency's own units: 5000 yen, 100 dollars.
    assert listed(signed_in(), "?amount_min=100&amount_max=5000") == ["USD-1", "EUR-1", "JPY-1"]
    assert listed(signed_in(), "?amount_min=100.01") == ["EUR-1", "JPY-1"]


def test_bad_filter_values_are_shown_not_fatal(book, signed_in):
    response = signed_in().client.get("/invoices?due_from=yesterday&amount_max=lots&after=junk")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert numbers(page) == OPEN_BY_DUE
    assert "Enter a date as YYYY-MM-DD." in page and "Enter an amount such as 1,250.00." in page
    assert 'id="due_from" name="due_from" value="" aria-invalid="true"' in page
    assert 'id="amount_max" name="amount_max" value="lots" aria-invalid="true"' in page


def test_payers_select_and_pay_viewers_only_look(book, signed_in):
    payer = signed_in().client.get("/invoices").get_data(as_text=True)
    assert 'id="pay-form"' in payer and 'action="/pay"' in payer and "Pay selected" in payer
    # Every open invoice with something left to pay has a box; A-2002 is fully reserved.
    boxes = payer.count('class="select-invoice"')
    assert boxes == len(OPEN_BY_DUE) - 1
    assert 'value="A-2002" id=' not in payer
    assert 'data-matching-count="9"' in payer
    assert "invoices.js" in payer
    viewer = signed_in("viewer@acme.example").client.get("/invoices").get_data(as_text=True)
    assert numbers(viewer) == OPEN_BY_DUE
    for absent in ("select-invoice", "pay-form", "Pay selected", 'action="/pay"',
                   "invoices.js"):
        assert absent not in viewer


def test_customers_land_on_their_invoices(world, app):
    b = Browser(app.test_client())
    response = b.sign_in("payer@acme.example")
    assert response.status_code == 302 and response.location == "/invoices"
    home = b.client.get("/")
    assert home.location == "/invoices"
    assert 'aria-current="page">Invoices</a>' in b.client.get("/invoices").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app):
    for path in ("/invoices", "/invoices.csv", "/invoices/A-1001"):
        response = app.test_client().get(path)
        assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("args", [
    {}, {"status": "overdue"}, {"status": "due_soon"}, {"aging": "current"},
    {"aging": "1_30"}, {"aging": "31_60"}, {"aging": "61_90"}, {"aging": "over_90"},
    {"status": "overdue", "aging": "1_30"}, {"status": "paid"}, {"q": "A-10"},
    {"status": "open", "amount_min": "100"}])
def test_what_matches_a_tab_is_the_same_from_the_summary_as_counted(book, args, app):
    # The list reads the tabs' counts and payable totals off the summary's single pass;
    # they must be exactly what counting the filter's own rows gives.
    f, _errors = forms.parse_filter(args)
    with app.test_request_context(), book.session() as uow:
        s = uow.session
        currencies = queries.customer_currencies(s, book.acme_id)
        summary = queries.summary(s, book.acme_id, TODAY, currencies)
        counted = queries.matching(s, book.acme_id, f, TODAY, currencies)
        derived = summary.matching(f)
    if f.q or f.advanced or f.status not in ("open", "overdue", "due_soon") or \
            (f.aging and f.status != "open"):
        assert derived is None
    else:
        assert derived == counted and counted.count > 0


def test_a_broad_filter_counts_up_to_the_cap(book, signed_in, monkeypatch):
    # Counting every match of any filter would cost as much as the customer has invoices:
    # past the cap the list says "more than", and offers no "select all".
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    page = signed_in().client.get("/invoices?status=all").get_data(as_text=True)
    assert "More than 5 invoices match" in page
    assert 'id="select-all-matching"' not in page
    assert len(numbers(page)) == 13  # the list itself is whole

    page = signed_in().client.get("/invoices?status=all&q=A-20").get_data(as_text=True)
    assert "4 invoices match" in page and "More than" not in page
