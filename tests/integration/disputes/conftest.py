"""Disputes: the invoice pages' world (Acme with an admin, a payer and a viewer; Globex
with a payer), an invoice of three lines, AR staff, e-mail to the SMTP sink and the
attachment store in the test's own directory."""

from __future__ import annotations

import dataclasses
import html
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from portal import ledger
from portal.accounts import services as accounts
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, Invoice
from portal.vendor.services import update_vendor
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    signed_in,
    world,
)

COLLECTOR = "collector@vendor.example"
SUPPORT = "ar@vendor.example"


@pytest.fixture
def config(config, smtp_sink, tmp_path):
    return dataclasses.replace(config, smtp_url=smtp_sink.url, base_url="http://portal.test",
                               attachments_dir=str(tmp_path / "attachments"))


@pytest.fixture
def book(world):  # noqa: F811
    """Acme's R-1: three lines (bolts $600 + $48 tax, nuts $250, freight $100.52), due in 10
    days; Globex's G-9; a collector; the vendor's AR address."""
    with world.session() as uow:
        s = uow.session
        acme, globex = s.get(Customer, world.acme_id), s.get(Customer, world.globex_id)
        issue(s, acme, "R-1", 0, lines=[
            ledger.LineInput("Hex bolts M8", 600_00, sku="HB-8", tax_minor=48_00),
            ledger.LineInput("Nylon lock nuts", 250_00, sku="NL-8"),
            ledger.LineInput("Freight", 100_52)])
        issue(s, globex, "G-9", 300_00)
        accounts.create_user(s, email=COLLECTOR, name="Casey Collector", password=PASSWORD,
                             staff_role="collector")
        update_vendor(s, name="Northwind", support_email=SUPPORT)
        uow.commit()
    return world


def staff(app) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(COLLECTOR).status_code == 302
    return browser


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def line_ids(book, number: str = "R-1") -> list[int]:
    with book.database.session() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.number == number)).one()
        return [line.id for line in invoice.lines]


def png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 90, 200)).save(out, "JPEG")
    return out.getvalue()


def open_dispute(browser, number: str = "R-1", files=(), **fields):
    """POST the "open a dispute" form of invoice ``number`` with ``fields`` and ``files``
    (name, bytes); return the response."""
    page = browser.client.get(f"/invoices/{number}/dispute").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "reason": "damaged", "amount": "",
            "description": "Two boxes arrived crushed.", **fields}
    data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return browser.client.post(f"/invoices/{number}/dispute", data=data,
                               content_type="multipart/form-data")


def ledger_ok(book) -> None:
    with book.database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation
