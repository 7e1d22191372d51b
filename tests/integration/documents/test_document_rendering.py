"""Rendering: assets only from static/, never the network; paper by the vendor's locale;
the letterhead's logo; page numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
from decimal import Decimal

import pytest

from portal.documents import render
from portal.documents.content import BillTo, InvoiceContent, Letterhead, LineRow
from portal.documents.render import STATIC_ROOT, AssetRefused, StaticFileFetcher
from portal.vendor.services import default_vendor
from tests import pdf

LETTERHEAD = Letterhead(name="Northwind", legal_name="Northwind Industrial Supply, Inc.",
                        logo_path="img/vendor-logo.svg",
                        remit_to=("P.O. Box 74120", "Cleveland, OH 44194-4120"),
                        support_email="ar@northwind.example", support_phone=None,
                        website=None)
CONTENT = InvoiceContent(
    number="INV-R-1", bill_to=BillTo("Acme Corp", "C-ACME", ("1 Road Runner Way",)),
    po_number=None, issue_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 12, 1),
    currency="USD", terms="net 30", net_days=30, discount_percent=None, discount_days=None,
    memo=None, lines=(LineRow("Widgets", None, Decimal(1), 100_00, 100_00),), subtotal_minor=100_00,
    tax_minor=0, total_minor=100_00, applications=(), balance_minor=100_00,
    processing_minor=0, status="open", days_past_due=0, offer=None,
    pay_url="https://portal.example/invoices/INV-R-1")
LOGO_URL = (STATIC_ROOT / "img" / "vendor-logo.svg").as_uri()


def test_fetcher_serves_files_under_static():
    response = StaticFileFetcher().fetch(LOGO_URL)
    assert response.content_type == "image/svg+xml"
    assert b"<svg" in response.read()


@pytest.mark.parametrize("url", [
    "http://example.com/logo.svg",
    "https://example.com/logo.svg",
    "HTTPS://example.com/logo.svg",
    "ftp://example.com/logo.svg",
    "data:image/svg+xml;base64,PHN2Zy8+",
    "file:///etc/passwd",
    LOGO_URL.replace("/img/vendor-logo.svg", "/../pyproject.toml"),
    LOGO_URL.replace("/img/vendor-logo.svg", "/%2e%2e/pyproject.toml"),
    LOGO_URL.replace("file:///", "file://files.example/"),
    LOGO_URL.replace("/vendor-logo.svg", ""),  # a directory
    LOGO_URL.replace("vendor-logo.svg", "missing.svg"),
])
def test_fetcher_refuses_everything_else(url):
    with pytest.raises(AssetRefused):
        StaticFileFetcher().fetch(url)


def test_fetcher_does_not_follow_links_out_of_its_folder(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for documents")
    (root / "logo.svg").symlink_to(secret)
    (root / "ok.svg").write_text("<svg/>")
    fetcher = StaticFileFetcher(root)
    assert fetcher.fetch((root / "ok.svg").as_uri()).read() == b"<svg/>"
    with pytest.raises(AssetRefused):
        fetcher.fetch((root / "logo.svg").as_uri())


@pytest.fixture
def listener():
    """A local TCP port that records whether anything connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def connected(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_a_logo_on_the_network_is_never_fetched(app, listener, pdf_pages):
    port = listener.getsockname()[1]
    with pytest.raises(AssetRefused):
        StaticFileFetcher().fetch(f"http://127.0.0.1:{port}/logo.svg")
    remote = dataclasses.replace(LETTERHEAD, logo_path=f"http://127.0.0.1:{port}/logo.svg")
    with app.test_request_context():
        document = render.render_invoice(CONTENT, remote, paper="letter")
    assert not connected(listener)
    [page] = pdf_pages(document)
    assert "INV-R-1" in page and "NORTHWIND" not in page  # rendered, without the logo


def test_the_vendors_logo_is_drawn_from_static(app, pdf_pages):
    with app.test_request_context():
        with_logo = render.render_invoice(CONTENT, LETTERHEAD, paper="letter")
        without = render.render_invoice(CONTENT, dataclasses.replace(LETTERHEAD, logo_path=None),
                                        paper="letter")
    # The demo logo is an SVG whose word mark is text: it shows in the PDF's text.
    assert "NORTHWIND" in pdf_pages(with_logo)[0]
    assert "NORTHWIND" not in pdf_pages(without)[0]


@pytest.mark.parametrize(("timezone", "locale", "paper", "points"), [
    ("America/New_York", "en_US", "letter", (612, 792)),
    ("America/Los_Angeles", "en_US", "letter", (612, 792)),
    ("Europe/Paris", "fr_FR", "A4", (595, 842)),
    ("America/Toronto", "en_CA", "A4", (595, 842)),
    ("UTC", "en", "A4", (595, 842)),
])
def test_paper_follows_the_vendors_locale(app, timezone, locale, paper, points):
    vendor = default_vendor()
    vendor.timezone = timezone
    assert (render.vendor_locale(vendor), render.paper_size(vendor)) == (locale, paper)
    with app.test_request_context():
        document = render.render_invoice(CONTENT, LETTERHEAD, paper=render.paper_size(vendor))
    width, height = pdf.page_size(document)
    assert (round(width), round(height)) == points


def test_page_numbers_count_the_pages(app, pdf_pages):
    many = dataclasses.replace(CONTENT, lines=tuple(
        LineRow(f"Spare part {i}", f"SP-{i}", Decimal(1), 1_00, 1_00) for i in range(80)))
    with app.test_request_context():
        pages = pdf_pages(render.render_invoice(many, LETTERHEAD, paper="A4"))
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "INV-R-1" in page  # the running title names the invoice on later pages
    assert "Spare part 79" in pages[-1] or "Spare part 79" in pages[-2]


def test_rendering_needs_at_least_one_invoice(app):
    with app.test_request_context(), pytest.raises(ValueError):
        render.render_invoices([], LETTERHEAD, paper="A4")
