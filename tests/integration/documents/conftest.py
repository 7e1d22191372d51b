"""Fixtures for the document tests: a vendor profile, two customers with users,
signed-in clients, an invoice builder, and a PDF reader (pypdf, on the bytes the portal served)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from portal import ledger
from portal.accounts import services
from portal.ledger.models import Customer, Invoice
from portal.vendor.services import update_vendor
from tests import pdf

PASSWORD = "correct horse battery staple"
VENDOR = {
    "name": "Northwind Industrial Supply",
    "legal_name": "Northwind Industrial Supply, Inc.",
    "logo_path": "img/vendor-logo.svg",
    "remit_to": "Northwind Industrial Supply, Inc.\nP.O. Box 74120\nCleveland, OH 44194-4120",
    "support_email": "ar@northwind.example",
    "support_phone": "+1 (216) 555-0142",
    "timezone": "America/New_York",
    "prorate_partial_discounts": True,
}


@dataclasses.dataclass
class World:
    acme_id: int
    globex_id: int


@pytest.fixture
def world(app) -> World:
    """The vendor; Acme (a viewer and a French-speaking viewer) and Globex (a viewer); staff."""
    with app.extensions["portal.db"].unit_of_work() as uow:
        s = uow.session
        update_vendor(s, **VENDOR)
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD",
                        billing_address="Acme Corp\nAttn: Accounts Payable\n"
                                        "1 Road Runner Way\nPhoenix, AZ 85001")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        for email, customer, locale in (("viewer@acme.example", acme, None),
                                        ("lecteur@acme.example", acme, "fr"),
                                        ("viewer@globex.example", globex, None)):
            user = services.create_user(s, email=email, name=email, password=PASSWORD,
                                        locale=locale)
            services.add_membership(s, user, customer.id, "viewer")
        services.create_user(s, email="ar@vendor.example", name="Vera", password=PASSWORD,
                             staff_role="ar_admin")
        uow.commit()
        return World(acme_id=acme.id, globex_id=globex.id)


@pytest.fixture
def sign_in(app):
    """Return a function that signs ``email`` in on a new test client and returns it."""
    def make(email: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
            re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on /login"
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token.group(1)})
        assert response.status_code == 302, f"{email} could not sign in"
        return client
    return make


def issue(session: Session, customer_id: int, number: str, *, issue_date: dt.date,
          lines: list[tuple[str, str | None, str, int]], terms: str = "net 30",
          po_number: str | None = None, tax_minor: int = 0,
          currency: str = "USD") -> Invoice:
    """Issue an invoice of ``(description, sku, quantity, unit price minor)`` lines."""
    inputs = [ledger.LineInput(description, int(Decimal(qty) * price), quantity=Decimal(qty),
                               unit_price_minor=price, sku=sku)
              for description, sku, qty, price in lines]
    return ledger.create_invoice(session, ledger.InvoiceInput(
        number=number, customer_id=customer_id, issue_date=issue_date, currency=currency,
        lines=inputs, terms=terms, po_number=po_number, extra_tax_minor=tax_minor))


@pytest.fixture
def issue_invoice():
    """The :func:`issue` builder, for tests."""
    return issue


@pytest.fixture
def pdf_pages():
    """Return a function: PDF bytes -> the text of each page."""
    return pdf.pages
