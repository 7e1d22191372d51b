"""/invoices.csv: the filtered list for the customer's AP system, byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import ledger
from portal.invoices import export
from portal.ledger.models import Customer
from tests.integration.invoices.conftest import TODAY, issue


@pytest.fixture
def ledger_rows(world):
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        paid = issue(s, acme, "C-3", 1_234_56, due=TODAY - dt.timedelta(days=3), po="PO 9, rush")
        issue(s, acme, "C-1", 99_99, due=TODAY - dt.timedelta(days=40), po="=HYPERLINK(1)",
              tax_minor=7_41)
        issue(s, acme, "C-2", 12_000, due=TODAY + dt.timedelta(days=5), currency="JPY")
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=1_000_00, currency="USD", idempotency_key="k1",
            allocations=[ledger.AllocationInput(paid.id, 1_000_00)])
        partly = issue(s, acme, "C-4", 50_00, due=TODAY + dt.timedelta(days=60))
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=50_00, currency="USD", idempotency_key="k2",
            allocations=[ledger.AllocationInput(partly.id, 50_00)])
        uow.commit()
    return world


HEADER = "number,po_number,issue_date,due_date,currency,total,balance,status\r\n"


def test_csv_of_all_invoices_exactly(ledger_rows, signed_in):
    response = signed_in().client.get("/invoices.csv?status=all")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="invoices-2026-11-20.csv"'
    assert response.get_data(as_text=True) == (
        HEADER
        + "C-1,'=HYPERLINK(1),2026-09-11,2026-10-11,USD,99.99,99.99,open\r\n"
        + 'C-3,"PO 9, rush",2026-10-18,2026-11-17,USD,1234.56,234.56,open\r\n'
        + "C-2,,2026-10-26,2026-11-25,JPY,12000,12000,open\r\n"
        + "C-4,,2026-12-20,2027-01-19,USD,50.00,0.00,paid\r\n")


def test_csv_follows_the_lists_filter_and_sort(ledger_rows, signed_in):
    b = signed_in()
    overdue = b.client.get("/invoices.csv?status=overdue&sort=amount_desc")
    assert overdue.get_data(as_text=True) == (
        HEADER
        + 'C-3,"PO 9, rush",2026-10-18,2026-11-17,USD,1234.56,234.56,open\r\n'
        + "C-1,'=HYPERLINK(1),2026-09-11,2026-10-11,USD,99.99,99.99,open\r\n")
    searched = b.client.get("/invoices.csv?status=all&q=PO%209").get_data(as_text=True)
    assert searched.splitlines()[1:] == ['C-3,"PO 9, rush",2026-10-18,2026-11-17,USD,1234.56,'
                                         '234.56,open']
    assert b.client.get("/invoices.csv?status=void").get_data(as_text=True) == HEADER


def test_csv_streams_in_batches_across_keyset_pages(ledger_rows, signed_in, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 1)  # one row per read: every batch boundary crossed
    body = signed_in().client.get("/invoices.csv?status=all&sort=due_desc").get_data(
        as_text=True)
    assert [line.split(",")[0] for line in body.splitlines()] == \
        ["number", "C-4", "C-2", "C-3", "C-1"]


def test_another_customers_invoice_is_never_in_the_csv(ledger_rows, signed_in):
    body = signed_in().client.get("/invoices.csv?status=all&q=A-").get_data(as_text=True)
    assert body == HEADER  # Globex's A-GLOBEX-1 matches the search, but it is not Acme's
    globex = signed_in("payer@globex.example").client.get("/invoices.csv?status=all")
    assert globex.get_data(as_text=True) == (
        HEADER + "A-GLOBEX-1,PO-7781-GLOBEX,2026-09-06,2026-10-06,USD,777.77,777.77,open\r\n")
