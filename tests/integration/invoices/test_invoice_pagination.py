"""Keyset pagination: every invoice exactly once, in order, for every sort, ties included."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from portal.invoices.forms import SORTS
from portal.ledger.models import Customer, Invoice
from tests.integration.invoices.conftest import TODAY, issue, link, numbers

COUNT = 53  # three pages of 25, the last one short


@pytest.fixture
def many(world):
    """53 Acme invoices whose due dates, issue dates and amounts tie often; two currencies."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        for i in range(COUNT):
            issue(s, acme, f"P-{(i * 37) % 100:03d}", 100_00 + (i % 7) * 10_00,
                  due=TODAY + dt.timedelta(days=i % 5),
                  issued=TODAY - dt.timedelta(days=30 + i % 4),
                  currency="USD" if i % 3 else "EUR")
        uow.commit()
        rows = s.execute(select(Invoice.number, Invoice.id, Invoice.due_date,
                                Invoice.issue_date, Invoice.currency, Invoice.total_minor)
                         .where(Invoice.customer_id == world.acme_id)).all()
    return rows


def expected_order(rows, sort: str) -> list[str]:
    key, direction = sort.rsplit("_", 1)
    keyed = {"due": lambda r: (r.due_date, r.id), "issued": lambda r: (r.issue_date, r.id),
             "amount": lambda r: (r.currency, r.total_minor, r.id)}[key]
    return [r.number for r in sorted(rows, key=keyed, reverse=direction == "desc")]


@pytest.fixture
def statements(app):
    """Every SQL statement the app runs during the test."""
    seen: list[tuple[str, object]] = []
    engine = app.extensions["portal.db"].engine
    listener = lambda conn, cursor, statement, params, *args: seen.append(  # noqa: E731
        (statement, params))
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


@pytest.mark.parametrize("sort", SORTS)
def test_every_invoice_once_in_order_forwards_and_back(many, signed_in, statements, sort):
    b = signed_in()
    url, pages = f"/invoices?status=all&sort={sort}", []
    while url:
        page = b.client.get(url).get_data(as_text=True)
        pages.append(numbers(page))
        url = link(page, "next")
        assert len(pages) <= 4, "the pages never end"
    listed = [n for p in pages for n in p]
    assert [len(p) for p in pages] == [25, 25, 3]
    assert listed == expected_order(many, sort)
    assert len(set(listed)) == COUNT
    # Back from the last page, by the previous-page links: the same pages.
    back = [pages[-1]]
    url = link(page, "prev")
    while url:
        page = b.client.get(url).get_data(as_text=True)
        back.insert(0, numbers(page))
        url = link(page, "prev")
    assert back == pages
    assert link(page, "prev") is None and link(page, "next") is not None
    # Pages start after a key, never after skipping rows: a row-value comparison on the
    # sort key and id, and no OFFSET (SQLite's dialect always writes "OFFSET ?"; it is 0).
    # (The count of matches reads at most COUNT_CAP + 1 rows: LIMIT too, but no page.)
    listing = [(sql, params) for sql, params in statements
               if "FROM ar_invoices" in sql and "LIMIT" in sql and "count(" not in sql]
    assert len(listing) == 2 * len(pages) - 1
    assert sum(", ar_invoices.id) " in sql for sql, _ in listing) == 2 * len(pages) - 2
    for sql, params in listing:
        assert "OFFSET" not in sql or (sql.endswith("OFFSET ?") and params[-1] == 0)


def test_a_filtered_list_pages_too(many, signed_in):
    b = signed_in()
    page = b.client.get("/invoices?status=all&currency=USD&sort=amount_desc")
    first = page.get_data(as_text=True)
    second = b.client.get(link(first, "next")).get_data(as_text=True)
    usd = [r for r in many if r.currency == "USD"]
    assert numbers(first) + numbers(second) == expected_order(usd, "amount_desc")
    assert link(second, "next") is None


def test_larger_pages(many, signed_in):
    page = signed_in().client.get("/invoices?status=all&per_page=100").get_data(as_text=True)
    assert numbers(page) == expected_order(many, "due_asc")
    assert link(page, "next") is None and link(page, "prev") is None
