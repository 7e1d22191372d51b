"""Fixtures for invoice links: Acme with two invoices and a user, Globex with one, links
made through the service, and a browser that opens a link as a payer would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html import unescape

import pytest
from sqlalchemy import select

from portal import ledger
from portal.accounts import services as accounts
from portal.app import create_app
from portal.ledger.models import Customer, Invoice
from portal.links import services
from tests.integration.accounts.conftest import PASSWORD, Browser

BASE_URL = "http://portal.test"
# Due soon after the real today: links expire in real time (portal.links.services).
DUE = dt.date.today() + dt.timedelta(days=18)


def long_date(day: dt.date) -> str:
    """A date as the English pages write it ("December 20, 2026")."""
    return f"{day:%B} {day.day}, {day.year}"


@pytest.fixture
def app(config, smtp_sink):
    application = create_app(dataclasses.replace(config, smtp_url=smtp_sink.url,
                                                 base_url=BASE_URL))
    yield application
    application.extensions["portal.db"].dispose()


@dataclasses.dataclass
class World:
    database: object
    acme_id: int
    globex_id: int

    def invoice(self, session, number: str) -> Invoice:
        return session.scalars(select(Invoice).where(Invoice.number == number)).one()

    def link(self, number: str = "L-1", **options) -> str:
        """Make a link to invoice ``number`` (committed); return its token."""
        options.setdefault("expires_days", None)
        options.setdefault("email", None)
        with self.database.unit_of_work() as uow:
            _link, token = services.create(uow.session, self.invoice(uow.session, number),
                                           created_by="ar@vendor.example", **options)
            uow.commit()
        return token


def _issue(session, customer: Customer, number: str, total: int, due: dt.date) -> Invoice:
    return ledger.create_invoice(session, ledger.InvoiceInput(
        number=number, customer_id=customer.id, issue_date=due - dt.timedelta(days=30),
        due_date=due, currency="USD", terms="net 30", po_number=f"PO-{number}",
        lines=[ledger.LineInput("Hex bolts M8, box of 100", total - 10_00, sku="HB-M8",
                                tax_minor=10_00)]))


@pytest.fixture
def world(app) -> World:
    """Acme (L-1 for 1,234.56 and L-2) with a payer; Globex (G-1) with a payer."""
    database = app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        _issue(s, acme, "L-1", 1_234_56, DUE)
        _issue(s, acme, "L-2", 987_65, DUE + dt.timedelta(days=5))
        _issue(s, globex, "G-1", 555_55, DUE)
        for customer, slug in ((acme, "acme"), (globex, "globex")):
            user = accounts.create_user(s, email=f"payer@{slug}.example", name="Payer",
                                        password=PASSWORD)
            accounts.add_membership(s, user, customer.id, "payer")
        uow.commit()
        return World(database, acme.id, globex.id)


def form_token(page: str) -> str:
    """The landing page's CSRF token."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no form token on the landing page"
    return match.group(1)


class LinkBrowser(Browser):
    """A browser without an account that opens links."""

    def open(self, token: str):
        """Load the landing page and press "View invoice"; return the POST's response."""
        landing = self.client.get(f"/i/{token}")
        assert landing.status_code == 200, landing.status_code
        return self.client.post(f"/i/{token}",
                                data={"csrf_token": form_token(landing.get_data(as_text=True))},
                                headers={"User-Agent": "LinkTest/1.0"})


@pytest.fixture
def visitor(app):
    """Return a new :class:`LinkBrowser` each call (one browser each)."""
    return lambda: LinkBrowser(app.test_client())


def text(html: str) -> str:
    """The page's visible words, one space between them."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
