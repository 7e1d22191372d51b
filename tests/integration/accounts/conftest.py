"""Fixtures for the accounts tests: an app that e-mails through a real SMTP sink,
two customer accounts with users of every role, and vendor staff."""

from __future__ import annotations

import dataclasses
import re

import pytest

from portal.accounts import services
from portal.app import create_app
from portal.ledger.models import Customer

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(config, smtp_sink):
    application = create_app(dataclasses.replace(config, smtp_url=smtp_sink.url,
                                                 base_url="http://portal.test"))
    yield application
    application.extensions["portal.db"].dispose()


@dataclasses.dataclass
class World:
    acme: Customer
    globex: Customer
    ids: dict


@pytest.fixture
def world(app) -> World:
    """Acme and Globex, each with an admin, a payer and a viewer; plus staff."""
    database = app.extensions["portal.db"]
    ids: dict = {}
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        for customer, slug in ((acme, "acme"), (globex, "globex")):
            for role in ("admin", "payer", "viewer"):
                user = services.create_user(s, email=f"{role}@{slug}.example",
                                            name=f"{slug.title()} {role.title()}",
                                            password=PASSWORD)
                services.add_membership(s, user, customer.id, role)
                ids[f"{slug}_{role}"] = user.id
        staff = services.create_user(s, email="ar@vendor.example", name="Vera Vendor",
                                     password=PASSWORD, staff_role="ar_admin")
        ids["staff"] = staff.id
        uow.commit()
    return World(acme=acme, globex=globex, ids=ids)


class Browser:
    """A test client that signs in and posts forms with their CSRF token."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf(self, path: str) -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
            re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, form_page: str | None = None, **kw):
        token = self.csrf(form_page or path)
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kw)

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password})


@pytest.fixture
def browser(app):
    def make() -> Browser:
        return Browser(app.test_client())
    return make
