"""``/staff/links``: staff list, create and revoke a customer's invoice links and see
what was done through them; nobody else reaches the page; bad input changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.accounts import services as accounts
from portal.accounts.models import AuditEvent
from portal.links import services
from portal.links.models import InvoiceLink
from tests.conftest import SmtpSink
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.links.conftest import BASE_URL, text

PAGE = "/staff/links?customer=C-ACME"


@pytest.fixture
def staff(app, world):
    """A signed-in AR admin (a role with ``manage_links``)."""
    with world.database.unit_of_work() as uow:
        accounts.create_user(uow.session, email="ar@vendor.example", name="Vera Vendor",
                             password=PASSWORD, staff_role="ar_admin")
        accounts.create_user(uow.session, email="look@vendor.example", name="Lou Looker",
                             password=PASSWORD, staff_role="viewer")
        uow.commit()
    browser = Browser(app.test_client())
    browser.sign_in("ar@vendor.example")
    return browser


def create(staff: Browser, **fields):
    data = {"customer": "C-ACME", "invoice": "L-1", "days": "", "email": "", **fields}
    return staff.post("/staff/links/create", data, form_page=PAGE)


def new_url(page: str) -> str:
    match = re.search(r"data-new-link>([^<]+)<", page)
    assert match, "no new link on the page"
    return match.group(1).strip()


def link_count(world) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(InvoiceLink))


def test_staff_create_a_link_that_opens_the_invoice_and_see_it_listed(world, staff, visitor):
    response = create(staff, days="10")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    url = new_url(page)
    assert url.startswith(f"{BASE_URL}/i/")
    assert "Link to invoice L-1 created" in text(page)
    token = url.rsplit("/", 1)[1]
    with world.database.session() as s:
        link = s.scalars(select(InvoiceLink)).one()
        assert link.created_by == "ar@vendor.example" and link.sent_to is None
        assert services.find(s, token).id == link.id
        link_id = link.id
    assert visitor().open(token).status_code == 303

    listed = staff.client.get(PAGE).get_data(as_text=True)
    assert url not in listed and token not in listed  # shown once, never again
    assert f'data-link="{link_id}"' in listed
    assert "ar@vendor.example" in listed and "Never" not in text(listed)  # it was viewed


def test_staff_revoke_a_link_and_its_landing_page_is_the_dead_link_page(world, staff,
                                                                        visitor):
    token = world.link("L-2")
    with world.database.session() as s:
        link_id = s.scalars(select(InvoiceLink.id)).one()
    assert f'data-link="{link_id}"' in staff.client.get(PAGE).get_data(as_text=True)
    response = staff.post(f"/staff/links/{link_id}/revoke", form_page=PAGE)
    assert response.status_code == 302 and response.location.endswith(PAGE)
    page = staff.client.get(PAGE).get_data(as_text=True)
    assert "The link to invoice L-2 is revoked" in text(page)
    assert f'data-link="{link_id}"' not in page
    dead = visitor().client.get(f"/i/{token}")
    assert dead.status_code == 404
    assert "This link is not valid or has expired" in text(dead.get_data(as_text=True))
    with world.database.session() as s:
        assert s.get(InvoiceLink, link_id).revoked_by == "ar@vendor.example"
    again = staff.post(f"/staff/links/{link_id}/revoke", form_page=PAGE, follow_redirects=True)
    assert "was already revoked" in text(again.get_data(as_text=True))
    assert staff.post("/staff/links/9999/revoke", form_page=PAGE).status_code == 404


def test_the_email_goes_out_when_asked(world, staff, smtp_sink: SmtpSink):
    page = create(staff, email="AP@Acme.example").get_data(as_text=True)
    url = new_url(page)
    assert "It has been e-mailed to ap@acme.example" in text(page)
    [message] = smtp_sink.to("ap@acme.example")
    assert message["Subject"] == "Invoice L-1 from Payment portal"
    assert url in SmtpSink.text(message)


def test_bad_input_changes_nothing_and_says_why(world, staff, smtp_sink: SmtpSink):
    cases = [({"invoice": "L-404"}, "Customer C-ACME has no invoice L-404."),
             ({"invoice": "G-1"}, "Customer C-ACME has no invoice G-1."),  # Globex's
             ({"invoice": ""}, "Enter the invoice number."),
             ({"days": "0"}, "A link expires after 1 to 120 days."),
             ({"days": "121"}, "A link expires after 1 to 120 days."),
             ({"days": "soon"}, "Not a valid integer value."),
             ({"email": "nobody", "days": "5"}, "Enter an e-mail address.")]
    for fields, message in cases:
        response = create(staff, **fields)
        assert response.status_code == 400, fields
        page = response.get_data(as_text=True)
        assert message in text(page), (fields, text(page))
        assert "data-new-link" not in page
    assert create(staff, customer="C-NOPE").status_code == 404
    assert link_count(world) == 0
    assert smtp_sink.messages == []
    with world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action.startswith("link."))) == 0


def test_unknown_customer_and_empty_picker(world, staff):
    page = staff.client.get("/staff/links?customer=C-NOPE").get_data(as_text=True)
    assert "There is no customer with number C-NOPE." in text(page)
    assert "Create a link" not in page
    empty = staff.client.get("/staff/links")
    assert empty.status_code == 200 and "Customer number" in empty.get_data(as_text=True)


def test_customers_anonymous_users_and_staff_viewers_cannot_reach_it(app, world, staff):
    token = world.link("L-1")
    with world.database.session() as s:
        link_id = s.scalars(select(InvoiceLink.id)).one()
    anonymous = app.test_client()
    assert anonymous.get(PAGE).status_code == 302
    assert "/login" in anonymous.get(PAGE).location
    assert anonymous.post(f"/staff/links/{link_id}/revoke").status_code in (302, 400)
    customer = Browser(app.test_client())
    customer.sign_in("payer@acme.example")
    assert customer.client.get(PAGE).status_code == 404
    assert customer.post(f"/staff/links/{link_id}/revoke", form_page="/invoices").status_code \
        == 404
    assert customer.post("/staff/links/create", {"customer": "C-ACME", "invoice": "L-1"},
                         form_page="/invoices").status_code == 404
    looker = Browser(app.test_client())
    looker.sign_in("look@vendor.example")
    assert looker.client.get(PAGE).status_code == 403
    assert "Invoice links" not in looker.client.get("/staff/").get_data(as_text=True)
    with world.database.session() as s:
        assert s.get(InvoiceLink, link_id).revoked_at is None
        assert services.find(s, token) is not None
        assert s.scalar(select(func.count()).select_from(InvoiceLink)) == 1


def test_the_staff_home_links_to_the_page(world, staff):
    home = staff.client.get("/staff/?q=Acme").get_data(as_text=True)
    assert 'href="/staff/links"' in home
    assert 'href="/staff/links?customer=C-ACME"' in home


def test_link_events_are_shown_per_invoice_with_ip_and_browser(world, staff, visitor):
    token = world.link("L-1")
    world.link("L-2")
    visitor().open(token)  # User-Agent: LinkTest/1.0
    with world.database.session() as s:
        link_id = s.scalars(select(InvoiceLink.id).order_by(InvoiceLink.id)).first()
    staff.post(f"/staff/links/{link_id}/revoke", form_page=PAGE,
               headers={"User-Agent": "StaffBrowser/2.0"})
    page = staff.client.get(PAGE).get_data(as_text=True)
    l1 = re.search(r'data-activity="L-1">(.*?)</table>', page, re.S).group(1)
    l2 = re.search(r'data-activity="L-2">(.*?)</table>', page, re.S).group(1)
    rows = [text(row) for row in re.findall(r"<tr>(.*?)</tr>", l1, re.S)][1:]
    assert [w.strip() for w in re.findall(r'data-label="What">([^<]+)', l1)] == \
        ["Revoked", "Viewed", "Created"], rows
    # In the vendor's time zone, like every time on the staff pages.
    assert all(re.search(r"\d{1,2}:\d\d\s?[AP]M", row) for row in rows), rows
    assert "LinkTest/1.0" in rows[1] and "127.0.0.1" in rows[1]
    assert "StaffBrowser/2.0" in rows[0] and "ar@vendor.example" in rows[0]
    assert "Created" in text(l2) and "Viewed" not in text(l2)


def test_the_page_reads_link_events_in_one_query(app, world, staff):
    """Two invoices with events: still one query on the audit table."""
    from sqlalchemy import event

    world.link("L-1")
    world.link("L-2")
    engine = app.extensions["portal.db"].engine
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert staff.client.get(PAGE).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert sum("FROM portal_audit_events" in s for s in statements) == 1, \
        [s for s in statements if "audit" in s]
