"""The open-invoice totals the list's summary reads (portal.invoices.open_totals)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.invoices import open_totals, queries
from portal.invoices.models import OpenInvoiceDelta, OpenInvoiceTotal
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer
from tests import builders
from tests.integration.invoices.conftest import TODAY, issue


def _summary(database, customer_id: int) -> queries.Summary:
    with database.session() as s:
        found = queries.summary(s, customer_id, TODAY, queries.customer_currencies(s, customer_id))
    found.pending_deltas = 0
    return found


def _count(database, table) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_folding_the_deltas_changes_no_figure(book, app):
    database = book.database
    before = _summary(database, book.acme_id)
    assert _count(database, OpenInvoiceDelta) > 0

    with database.unit_of_work() as unit:
        folded = open_totals.compact(unit.session)
        unit.commit()

    assert folded > 0 and _count(database, OpenInvoiceDelta) == 0
    assert _summary(database, book.acme_id) == before
    with database.session() as s:
        assert run_checks(s).ok
        # One row per customer, currency and due date with something open; nothing else.
        assert s.scalar(select(func.count()).select_from(OpenInvoiceTotal)) == 11


def test_the_list_folds_the_deltas_once_many_wait(book, signed_in, monkeypatch):
    monkeypatch.setattr(open_totals, "COMPACT_AFTER", 5)
    browser = signed_in()
    first = browser.client.get("/invoices").get_data(as_text=True)

    assert _count(book.database, OpenInvoiceDelta) < 5  # only Globex's are left
    # The same page from the folded totals (but for the forms' time-stamped CSRF tokens).
    again = browser.client.get("/invoices").get_data(as_text=True)
    assert _without_tokens(again) == _without_tokens(first)


def _without_tokens(page: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", page)


@pytest.mark.postgres
def test_a_fold_while_a_payment_is_uncommitted_loses_nothing(pg_db):
    with pg_db.unit_of_work() as unit:
        customer = builders.customer(unit.session)
        issue(unit.session, customer, "OT-1", 100_00)
        unit.commit()
        customer_id = customer.id
    writer = pg_db.unit_of_work().__enter__()
    try:
        issue(writer.session, writer.session.get(Customer, customer_id), "OT-2", 250_00)
        writer.session.flush()  # its deltas exist, uncommitted
        with pg_db.unit_of_work() as folder:
            assert open_totals.compact(folder.session) > 0  # folds OT-1's only
            folder.commit()
        writer.commit()
    finally:
        writer.__exit__(None, None, None)

    with pg_db.session() as s:
        assert run_checks(s).ok
        figures = open_totals.figures(s, customer_id, TODAY)
    assert figures.pending > 0
    assert sum(row.balance_minor for row in figures.rows) == 350_00
