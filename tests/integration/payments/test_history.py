"""The payment history as a customer's browser sees it: every payment of the account,
portal and external, in words; filters; keyset pages; the CSV; one payment; and nothing
of another customer's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from portal import ledger
from portal.ledger.checks import run_checks
from tests.integration.payments.history_data import (
    CHECK_RECEIVED,
    World,
    build,
    flat,
    ids_on,
    sign_in,
)


@pytest.fixture
def world(app) -> World:
    return build(app.extensions["portal.db"])


def row_text(page: str, payment_id: int) -> str:
    match = re.search(rf'<tr data-payment="{payment_id}">(.*?)</tr>', page, re.S)
    assert match, f"payment {payment_id} is not listed"
    return flat(match.group(1))


def test_list_shows_portal_and_external_payments_newest_first_in_words(app, world):
    page = sign_in(app).client.get("/payments").get_data(as_text=True)

    assert ids_on(page) == [world.declined, world.ach, world.card, world.check]
    assert world.wire not in ids_on(page)  # Globex's
    card = row_text(page, world.card)
    for expected in ("Visa ending in 4242", "Pat Payer", "A-100", "A-200", "$1,490.00",
                     "Succeeded", "Discount taken: $10.00"):
        assert expected in card
    check = row_text(page, world.check)
    for expected in ("Check or wire CHK-1001", "A-300", "$400.00", "Succeeded"):
        assert expected in check
    assert CHECK_RECEIVED.strftime("%b %-d, %Y") in check  # the day it was received
    assert "Bank account (ACH)" in row_text(page, world.ach)
    assert "Processing" in row_text(page, world.ach)
    assert "Camille Payeur" in row_text(page, world.ach)
    assert "Failed" in row_text(page, world.declined)
    assert 'href="/invoices/A-100"' in page
    assert 'href="/payments"' in page and 'aria-current="page">Payments</a>' in page


@pytest.mark.parametrize(("query", "expected"), [
    ("status=succeeded", ["card", "check"]),
    ("status=processing", ["ach"]),
    ("status=failed", ["declined"]),
    ("method=external", ["check"]),
    ("method=card", ["declined", "card"]),
    ("method=card&status=succeeded", ["card"]),
    ("method=ach", ["ach"]),
])
def test_filters_by_status_and_method(app, world, query, expected):
    page = sign_in(app).client.get(f"/payments?{query}").get_data(as_text=True)
    assert ids_on(page) == [getattr(world, name) for name in expected]


def test_filters_by_date_in_the_vendors_time_zone(app, world):
    client = sign_in(app).client
    check_day = CHECK_RECEIVED.date()
    only_check = f"/payments?date_from={check_day}&date_to={check_day}"
    assert ids_on(client.get(only_check).get_data(as_text=True)) == [world.check]
    since = check_day + dt.timedelta(days=1)
    assert ids_on(client.get(f"/payments?date_from={since}").get_data(as_text=True)) == \
        [world.declined, world.ach, world.card]
    # A date that is not one is dropped, with a message by its field; the rest still applies.
    page = client.get("/payments?date_to=2026-13-45&status=failed").get_data(as_text=True)
    assert ids_on(page) == [world.declined]
    assert 'id="date_to-error"' in page and "Enter a date as YYYY-MM-DD." in page
    empty = client.get("/payments?status=reversed").get_data(as_text=True)
    assert ids_on(empty) == [] and "No payments match these filters." in empty


def test_keyset_pages_forward_and_back(app, world):
    with app.extensions["portal.db"].unit_of_work() as uow:
        for i in range(30):  # one check a day, older than everything else
            ledger.record_external_payment(
                uow.session, customer_id=world.acme_id, amount_minor=10_00 + i,
                currency="USD", idempotency_key=f"erp:old-{i}", reference=f"OLD-{i:02d}",
                received_at=CHECK_RECEIVED - dt.timedelta(days=i + 1))
        uow.commit()
    client = sign_in(app).client
    first = client.get("/payments").get_data(as_text=True)
    assert len(ids_on(first)) == 25 and 'rel="prev"' not in first
    assert ids_on(first)[:4] == [world.declined, world.ach, world.card, world.check]
    next_url = re.search(r'<a rel="next"[^>]*href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert len(ids_on(second)) == 9 and 'rel="next"' not in second
    assert "OLD-29" in second and not set(ids_on(first)) & set(ids_on(second))
    prev_url = re.search(r'<a rel="prev"[^>]*href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert ids_on(client.get(prev_url).get_data(as_text=True)) == ids_on(first)
    # A filter travels with the pages; a cursor that is not one starts from the top.
    assert ids_on(client.get("/payments?after=garbage").get_data(as_text=True)) == \
        ids_on(first)


def test_csv_has_what_an_ap_system_imports(app, world):
    response = sign_in(app).client.get("/payments.csv?status=succeeded")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["payment_id", "reference", "date", "method", "amount", "currency",
                       "status", "invoices", "discount", "to_credit"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {str(world.card), str(world.check)}
    card = by_id[str(world.card)]
    assert card[3:] == ["card", "1490.00", "USD", "succeeded", "A-100;A-200", "10.00", "0.00"]
    assert by_id[str(world.check)] == [
        str(world.check), "CHK-1001", CHECK_RECEIVED.date().isoformat(), "external", "400.00",
        "USD", "succeeded", "A-300", "0.00", "150.00"]


def test_detail_shows_allocations_discount_and_short_pay_reason(app, world):
    client = sign_in(app).client
    card = flat(client.get(f"/payments/{world.card}").get_data(as_text=True))
    for expected in (f"Payment {world.card}", "$1,490.00", "Succeeded", "Visa ending in 4242",
                     "Pat Payer", "A-100 ", "$1,000.00", "A-200", "$490.00", "$10.00",
                     "Early-payment discounts of $10.00 were taken as well", "$1,500.00",
                     "Download receipt"):
        assert expected in card

    check = client.get(f"/payments/{world.check}").get_data(as_text=True)
    assert f'href="/payments/{world.check}/receipt.pdf"' in check
    check = flat(check)
    for expected in ("Check or wire", "CHK-1001", "A-300", "$250.00",
                     "Goods damaged or defective", "Two cases arrived broken",
                     "To account credit", "$150.00", "Received by Northwind Industrial Supply"):
        assert expected in check


def test_detail_explains_failures_processing_and_reversals(app, world):
    client = sign_in(app).client
    declined = flat(client.get(f"/payments/{world.declined}").get_data(as_text=True))
    assert "This payment failed." in declined
    assert "The card was declined by the bank that issued it." in declined
    assert "Download receipt" not in declined
    ach = flat(client.get(f"/payments/{world.ach}").get_data(as_text=True))
    assert "This payment is not settled yet." in ach and "A-400" in ach

    with app.extensions["portal.db"].unit_of_work() as uow:
        ledger.reverse_payment(uow.session, world.card, code="R01",
                               reason="Insufficient funds")
        uow.commit()
    reversed_ = flat(client.get(f"/payments/{world.card}").get_data(as_text=True))
    assert "Reversed on" in reversed_
    assert "The bank returned the debit: not enough money in the account." in reversed_
    assert "Download receipt" in reversed_  # the receipt stays, and says it was reversed
    with app.extensions["portal.db"].session() as session:
        assert run_checks(session).ok


def test_another_customers_payment_is_not_found(app, world):
    client = sign_in(app).client
    assert client.get(f"/payments/{world.wire}").status_code == 404
    assert client.get(f"/payments/{world.wire}/receipt.pdf").status_code == 404
    assert client.get("/payments/999999").status_code == 404
    assert "WIRE-9" not in client.get("/payments.csv").get_data(as_text=True)
    globex = sign_in(app, "payer@globex.example").client
    assert ids_on(globex.get("/payments").get_data(as_text=True)) == [world.wire]
    assert globex.get(f"/payments/{world.card}").status_code == 404


def test_viewers_see_payments_and_signed_out_visitors_sign_in(app, world):
    assert sign_in(app, "viewer@acme.example").client.get(
        f"/payments/{world.card}").status_code == 200
    response = app.test_client().get("/payments")
    assert response.status_code == 302 and "/login" in response.location
