"""Fixtures for the invoice center: Acme and Globex with users, invoices built through the
ledger's API, a fixed "today" in the vendor's time zone, and parsers of the pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

import pytest

from portal import ledger
from portal.accounts import services
from portal.ledger.models import Customer, Invoice
from tests.integration.accounts.conftest import PASSWORD, Browser

TODAY = dt.date(2026, 11, 20)


class Clock:
    """The portal's clock (``PORTAL_CLOCK``), pinned to a day; tests may move it."""

    def __init__(self, app, today: dt.date) -> None:
        self._app = app
        self.today = today

    @property
    def today(self) -> dt.date:
        return self._today

    @today.setter
    def today(self, day: dt.date) -> None:
        self._today = day  # noon UTC: the same date in every vendor time zone we use
        self._app.config["PORTAL"] = dataclasses.replace(self._app.config["PORTAL"],
                                                         clock=day.isoformat())


@pytest.fixture
def clock(app) -> Clock:
    """Pin the portal's "today" to :data:`TODAY`."""
    return Clock(app, TODAY)


def issue(session, customer: Customer, number: str, total_minor: int, *,
          due: dt.date | None = None, issued: dt.date | None = None, terms: str = "net 30",
          po: str | None = None, currency: str | None = None, tax_minor: int = 0,
          lines: list[ledger.LineInput] | None = None) -> Invoice:
    """Issue an invoice through the ledger; by default due on ``due`` and issued 30 days before."""
    due = due or TODAY + dt.timedelta(days=10)
    return ledger.create_invoice(session, ledger.InvoiceInput(
        number=number, customer_id=customer.id, issue_date=issued or due - dt.timedelta(days=30),
        due_date=due, currency=currency or customer.currency, terms=terms, po_number=po,
        lines=lines or [ledger.LineInput("Widgets", total_minor - tax_minor,
                                         tax_minor=tax_minor)]))


@dataclasses.dataclass
class World:
    acme_id: int
    globex_id: int
    database: object

    def session(self):
        """A unit of work on the test database (commit to keep what it does)."""
        return self.database.unit_of_work()


@pytest.fixture
def world(app, clock) -> World:
    """Acme (USD) with an admin, a payer and a viewer; Globex with a payer and one invoice."""
    database = app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        for customer, slug, roles in ((acme, "acme", ("admin", "payer", "viewer")),
                                      (globex, "globex", ("payer",))):
            for role in roles:
                user = services.create_user(s, email=f"{role}@{slug}.example",
                                            name=f"{slug.title()} {role.title()}",
                                            password=PASSWORD)
                services.add_membership(s, user, customer.id, role)
        # Another customer's invoice, named and numbered to match Acme's searches.
        issue(s, globex, "A-GLOBEX-1", 777_77, due=TODAY - dt.timedelta(days=45),
              po="PO-7781-GLOBEX")
        uow.commit()
        return World(acme.id, globex.id, database)


@pytest.fixture
def signed_in(app, world):
    """Return a signed-in :class:`Browser` for an e-mail (``payer@acme.example`` by default)."""
    def make(email: str = "payer@acme.example") -> Browser:
        b = Browser(app.test_client())
        response = b.sign_in(email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return b
    return make


def numbers(page: str) -> list[str]:
    """The invoice numbers listed on a page, in order."""
    return re.findall(r'<tr data-number="([^"]+)"', page)


def link(page: str, rel: str) -> str | None:
    """The URL of the page's ``rel="next"`` or ``rel="prev"`` link, or None."""
    match = re.search(rf'<a rel="{rel}"[^>]*href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def aging(page: str) -> dict[str, tuple[int, list[str]]]:
    """The aging buckets on a page: bucket -> (count, amounts shown)."""
    found = {}
    for match in re.finditer(r'data-bucket="([^"]+)" data-count="(\d+)"(.*?)</a>', page, re.S):
        amounts = re.findall(r'class="aging-amount money d-block">([^<]+)<', match.group(3))
        found[match.group(1)] = (int(match.group(2)), amounts)
    return found


def figure(page: str, name: str) -> str:
    """The text of one summary figure (``open``, ``overdue``, ``due_soon``, ``credit``...)."""
    rest = page[page.index(f'data-figure="{name}"'):]
    ends = [i for i in (rest.find("</a>"), rest.find("</div>")) if i > 0]
    return " ".join(re.sub(r"<[^>]+>", " ", rest[rest.index(">") + 1:min(ends)]).split())


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def book(world):
    """Acme's invoices in every state, with due dates around TODAY (2026-11-20)."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        inv = {}
        for number, total, due, po in (
                ("A-1001", 100_00, days(-45), "PO-7781"), ("A-1002", 200_00, days(-1), None),
                ("A-1003", 300_00, days(-30), None), ("A-1004", 400_00, days(-61), None),
                ("A-1005", 500_00, days(-91), None), ("A-1006", 600_00, days(0), None),
                ("A-1007", 700_00, days(7), "PO-7790"), ("A-1008", 800_00, days(8), None),
                ("A-2001", 150_00, days(20), None), ("A-2002", 250_00, days(15), None),
                ("A-2003", 350_00, days(-10), None), ("A-2004", 450_00, days(-100), None),
                ("B-3001", 90_00, days(3), "ZZ-1")):
            inv[number] = issue(s, acme, number, total, due=due, po=po)
        # Paid by check, with 50.00 more than the invoice: customer credit.
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=200_00, currency="USD",
            idempotency_key="chk-1", reference="CHK 1001",
            allocations=[ledger.AllocationInput(inv["A-2001"].id, 150_00)])
        # Partly paid.
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=40_00, currency="USD", idempotency_key="chk-2",
            allocations=[ledger.AllocationInput(inv["B-3001"].id, 40_00)])
        # A bank debit still processing.
        ledger.start_payment(s, customer_id=acme.id, currency="USD", method="ach",
                             amount_minor=250_00,
                             allocations=[ledger.AllocationInput(inv["A-2002"].id, 250_00)])
        ledger.issue_credit_memo(s, number="CM-1", customer_id=acme.id, amount_minor=350_00,
                                 currency="USD", reason="Returned", invoice_id=inv["A-2003"].id)
        ledger.write_off(s, invoice_id=inv["A-2004"].id, reason="Uncollectable")
        uow.commit()
    return world
