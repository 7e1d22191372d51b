"""axe-core finds no WCAG 2.2 AA violation on the sign-in, account and staff pages."""

from __future__ import annotations

import pytest

from portal.accounts import services
from portal.ledger.models import Customer
from tests.e2e.axe import describe, violations
from tests.e2e.test_accounts_e2e import PASSWORD, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def people(live_server):
    database = live_server.app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        globex = Customer(number="C-GLOBEX", name="Globex Inc", currency="USD")
        s.add_all([acme, globex])
        s.flush()
        admin = services.create_user(s, email="admin@acme.example", name="Acme Admin",
                                     password=PASSWORD)
        services.add_membership(s, admin, acme.id, "admin")
        services.add_membership(s, admin, globex.id, "viewer")
        services.create_user(s, email="ar@vendor.example", name="Vera Vendor",
                             password=PASSWORD, staff_role="ar_admin")
        uow.commit()


@pytest.mark.parametrize("width", [1280, 375])
def test_pages_have_no_axe_violations(live_server, people, page_factory, width):
    base = live_server.url
    page = page_factory(width=width)
    pages = {}
    for path in ("/login", "/password/forgot"):
        page.goto(base + path)
        pages[path] = violations(page)
    sign_in(page, base, "admin@acme.example")
    for path in ("/account", "/account/users", "/account/profile", "/account/activity",
                 "/account/two-step"):
        page.goto(base + path)
        pages[path] = violations(page)
    staff = page_factory(width=width)
    sign_in(staff, base, "ar@vendor.example")
    for path in ("/staff/?q=Acme", "/staff/audit"):
        staff.goto(base + path)
        pages[path] = violations(staff)
    failing = {path: describe(found) for path, found in pages.items() if found}
    assert not failing, "\n".join(f"{path}:\n{text}" for path, text in failing.items())
