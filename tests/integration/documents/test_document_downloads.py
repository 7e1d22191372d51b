"""The PDF downloads, as a customer's browser gets them: what they say, who gets them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from werkzeug.http import parse_options_header

from portal import ledger
from portal.core.request_db import uow
from portal.documents import render
from portal.vendor.services import get_vendor, local_today
from tests.pdf import title as pdf_title

LINES = [("Deep groove ball bearing 6205-2RS, 25 x 52 x 15 mm", "BRG-6205-2RS", "40", 8_45),
         ("Hydraulic oil AW 46, 5 gal pail", "LUB-AW46-5", "5", 98_00),
         ("Filter-regulator-lubricator, 1/2 in. NPT", "PNU-FRL-12", "2", 142_00)]


def vendor_today(app) -> dt.date:
    with app.extensions["portal.db"].session() as s:
        return local_today(get_vendor(s))


def flat(text: str) -> str:
    """Text with every run of whitespace (layout, line wraps, no-break spaces) as one space."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.fixture
def acme_invoice(app, world, issue_invoice):
    """Acme's INV-DOC-0001: issued today, 2/10 net 30, $1,234.50 with tax, $200.00 paid by check."""
    today = vendor_today(app)
    with app.extensions["portal.db"].unit_of_work() as unit:
        s = unit.session
        invoice = issue_invoice(s, world.acme_id, "INV-DOC-0001", issue_date=today,
                                lines=LINES, terms="2/10 net 30", po_number="PO-7781",
                                tax_minor=122_50)
        ledger.record_external_payment(
            s, customer_id=world.acme_id, amount_minor=200_00, currency="USD",
            idempotency_key="erp:test:chk-1001", reference="CHK-1001",
            allocations=[ledger.AllocationInput(invoice.id, 200_00)])
        issue_invoice(s, world.globex_id, "INV-GLOBEX-0001", issue_date=today,
                      lines=[("Globex secret widget", None, "1", 500_00)])
        unit.commit()
    return "INV-DOC-0001"


def test_invoice_pdf_says_what_is_owed_and_how_to_pay(app, world, acme_invoice, sign_in,
                                                     pdf_pages):
    response = sign_in("viewer@acme.example").get("/invoices/INV-DOC-0001.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("attachment", "invoice-INV-DOC-0001.pdf")
    assert response.headers["Cache-Control"] == "no-store"
    [page] = pdf_pages(response.data)
    text = flat(page)
    for expected in ("INV-DOC-0001", "PO-7781", "Acme Corp", "1 Road Runner Way", "C-ACME",
                     *(description for description, *_ in LINES), "BRG-6205-2RS",
                     "Subtotal $1,112.00", "Tax $122.50", "Total $1,234.50",
                     "Payment (check/wire)", "CHK-1001", "-$200.00",
                     "Balance due (USD) $1,034.50",
                     "P.O. Box 74120", "Cleveland, OH 44194-4120", "ar@northwind.example",
                     "+1 (216) 555-0142", "Page 1 of 1"):
        assert expected in text, expected
    # 2 % of the total ($24.69), pro-rated to what is open ($20.69: this vendor pro-rates),
    # on or before the 10th day after the invoice date.
    deadline = format_date(vendor_today(app) + dt.timedelta(days=10), "medium", locale="en")
    # The offer wraps beside the totals (how far depends on the date's length), and text
    # extraction interleaves the two columns: the amount saved may come after a total.
    assert re.search(rf"Pay \$1,013\.81 by {re.escape(deadline)} and save (.{{0,60}} )?\$20\.69",
                     text), text
    assert "2% discount if paid within 10 days of the invoice date" in text
    pay_url = f"{app.config['PORTAL'].base_url}/invoices/INV-DOC-0001"
    assert pay_url in "".join(page.split())
    assert "Globex" not in text


def test_documents_use_the_readers_language_formats(app, world, acme_invoice, sign_in,
                                                    pdf_pages):
    [page] = pdf_pages(sign_in("lecteur@acme.example").get("/invoices/INV-DOC-0001.pdf").data)
    french_total = format_currency(Decimal("1234.50"), "USD", locale="fr")
    french_date = format_date(vendor_today(app), "medium", locale="fr")
    assert flat(french_total) in flat(page) and "$1,234.50" not in page
    assert flat(french_date) in flat(page)


def test_the_pdf_is_laid_out_after_the_read_transaction_ends(app, world, acme_invoice,
                                                             sign_in, monkeypatch):
    # On SQLite a transaction holds the write lock: no payment should wait for a layout.
    seen = []
    original = render.render_invoice

    def spy(*args, **kwargs):
        seen.append(uow().session.in_transaction())
        pdf = original(*args, **kwargs)
        seen.append(uow().session.in_transaction())
        return pdf

    monkeypatch.setattr(render, "render_invoice", spy)
    client = sign_in("viewer@acme.example")
    assert client.get("/invoices/INV-DOC-0001.pdf").status_code == 200
    assert seen == [False, False]


def test_statement_lists_the_open_invoices_with_their_aging(app, world, issue_invoice,
                                                            sign_in, pdf_pages):
    today = vendor_today(app)
    with app.extensions["portal.db"].unit_of_work() as unit:
        s = unit.session

        def make(number, days_ago, amount, customer=world.acme_id):
            return issue_invoice(s, customer, number, issue_date=today - dt.timedelta(days_ago),
                                 lines=[("Widgets", None, "1", amount)])

        make("INV-ST-CURRENT", 10, 1_000_00)       # due in 20 days
        part = make("INV-ST-LATE", 45, 2_500_00)   # 15 days past due, partly paid
        make("INV-ST-OLD", 130, 300_00)            # 100 days past due
        paid = make("INV-ST-PAID", 40, 400_00)
        credited = make("INV-ST-CREDITED", 50, 150_00)
        make("INV-ST-GLOBEX", 45, 900_00, customer=world.globex_id)
        ledger.record_external_payment(
            s, customer_id=world.acme_id, amount_minor=1_450_00, currency="USD",
            idempotency_key="erp:test:run-1",  # $50.00 more than it pays: customer credit
            allocations=[ledger.AllocationInput(part.id, 1_000_00),
                         ledger.AllocationInput(paid.id, 400_00)])
        ledger.issue_credit_memo(s, number="CM-ST-1", customer_id=world.acme_id,
                                 amount_minor=150_00, currency="USD", reason="returned",
                                 invoice_id=credited.id)
        unit.commit()

    response = sign_in("viewer@acme.example").get("/statement.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == (
        "attachment", f"statement-C-ACME-{today.isoformat()}.pdf")
    text = flat(" ".join(pdf_pages(response.data)))
    assert set(re.findall(r"INV-ST-[A-Z]+", text)) == {
        "INV-ST-CURRENT", "INV-ST-LATE", "INV-ST-OLD"}
    # Current, 1-30, 31-60, 61-90, over 90, total open.
    assert "$1,000.00 $1,500.00 $0.00 $0.00 $300.00 $2,800.00" in text
    assert "Unapplied credits -$50.00" in text
    assert "Amount due (USD) $2,750.00" in text
    assert f"Statement date {format_date(today, 'medium', locale='en')}" in text
    assert "P.O. Box 74120" in text and "Globex" not in text


def test_merged_pdf_has_each_invoice_on_its_own_pages(app, world, issue_invoice, sign_in,
                                                      pdf_pages):
    today = vendor_today(app)
    many_lines = [(f"Spare part number {i}", f"SKU-{i:03d}", "1", 10_00) for i in range(45)]
    with app.extensions["portal.db"].unit_of_work() as unit:
        for number, lines in (("INV-M-1", LINES), ("INV-M-2", many_lines), ("INV-M-3", LINES)):
            issue_invoice(unit.session, world.acme_id, number, issue_date=today, lines=lines)
        unit.commit()
    client = sign_in("viewer@acme.example")
    long_pages = len(pdf_pages(client.get("/invoices/INV-M-2.pdf").data))
    assert long_pages >= 2

    response = client.get("/invoices/documents.pdf?numbers=INV-M-1,INV-M-2,INV-M-3")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment"
    assert options["filename"] == f"invoices-C-ACME-{today.isoformat()}.pdf"
    pages = pdf_pages(response.data)
    assert len(pages) == 1 + long_pages + 1
    assert pdf_title(response.data) == "3 invoices · Northwind Industrial Supply"
    owners = [re.findall(r"INV-M-\d", page) for page in pages]
    assert [set(found) for found in owners] == (
        [{"INV-M-1"}] + [{"INV-M-2"}] * long_pages + [{"INV-M-3"}])
    # Pages are numbered within each invoice.
    numbering = [re.search(r"Page (\d+) of (\d+)", page).groups() for page in pages]
    assert numbering == ([("1", "1")] + [(str(i), str(long_pages))
                                         for i in range(1, long_pages + 1)] + [("1", "1")])
    # The order asked for, each invoice once.
    again = pdf_pages(client.get("/invoices/documents.pdf?numbers=INV-M-3,INV-M-1,INV-M-3").data)
    assert [re.findall(r"INV-M-\d", page)[0] for page in again] == ["INV-M-3", "INV-M-1"]


def test_merged_pdf_refuses_the_whole_request_for_any_invoice_not_yours(
        app, world, acme_invoice, sign_in):
    client = sign_in("viewer@acme.example")
    for numbers in ("INV-DOC-0001,INV-GLOBEX-0001", "INV-GLOBEX-0001", "INV-DOC-0001,NOPE"):
        response = client.get(f"/invoices/documents.pdf?numbers={numbers}")
        assert response.status_code == 404, numbers
        assert not response.data.startswith(b"%PDF")
    assert client.get("/invoices/documents.pdf").status_code == 400
    assert client.get("/invoices/documents.pdf?numbers=,").status_code == 400
    too_many = ",".join(["INV-DOC-0001"] + [f"X-{i}" for i in range(100)])
    assert client.get(f"/invoices/documents.pdf?numbers={too_many}").status_code == 400


def test_only_the_customers_own_users_get_its_documents(app, world, acme_invoice, sign_in,
                                                        client, pdf_pages):
    globex = sign_in("viewer@globex.example")
    assert globex.get("/invoices/INV-DOC-0001.pdf").status_code == 404
    assert globex.get("/invoices/NO-SUCH-INVOICE.pdf").status_code == 404
    assert sign_in("ar@vendor.example").get("/invoices/INV-DOC-0001.pdf").status_code == 404
    # Each customer's statement is its own, one after the other in the same app.
    acme_text = " ".join(pdf_pages(sign_in("viewer@acme.example").get("/statement.pdf").data))
    globex_text = " ".join(pdf_pages(globex.get("/statement.pdf").data))
    assert "INV-DOC-0001" in acme_text and "Globex" not in acme_text
    assert "INV-GLOBEX-0001" in globex_text and "Acme" not in globex_text
    for url in ("/invoices/INV-DOC-0001.pdf", "/statement.pdf",
                "/invoices/documents.pdf?numbers=INV-DOC-0001"):
        response = client.get(url)  # signed out
        assert response.status_code == 302 and "/login" in response.location


def test_pdf_routes_win_over_the_invoice_page_route(app):
    # The invoice page (/invoices/<number>) would also match "INV-1.pdf" as a number.
    app.add_url_rule("/invoices/<number>", endpoint="competing_invoice_page",
                     view_func=lambda number: number)
    urls = app.url_map.bind("portal.test")
    assert urls.match("/invoices/INV-1.pdf") == ("documents.invoice_pdf", {"number": "INV-1"})
    assert urls.match("/invoices/INV.2026.7.pdf") == (
        "documents.invoice_pdf", {"number": "INV.2026.7"})
    assert urls.match("/invoices/documents.pdf") == ("documents.invoices_pdf", {})
    assert urls.match("/statement.pdf") == ("documents.statement_pdf", {})
    assert urls.match("/invoices/INV-1")[0] != "documents.invoice_pdf"
