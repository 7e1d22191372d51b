"""In Chromium: an admin invites a payer over SMTP, the payer joins and signs in;
a removed user's open session ends; a viewer cannot manage users."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.accounts import services
from portal.ledger.models import Customer
from tests.e2e.conftest import screenshot

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.e2e


@pytest.fixture
def acme(live_server):
    database = live_server.app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = Customer(number="C-ACME", name="Acme Corp", currency="USD")
        s.add(acme)
        s.flush()
        for role in ("admin", "viewer"):
            user = services.create_user(s, email=f"{role}@acme.example",
                                        name=f"Acme {role.title()}", password=PASSWORD)
            services.add_membership(s, user, acme.id, role)
        uow.commit()
    return acme


def sign_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_invite_join_sign_in_and_removal(live_server, acme, page_factory, smtp_sink):
    base = live_server.url
    admin = page_factory()
    sign_in(admin, base, "admin@acme.example")
    admin.get_by_role("link", name="Users").first.click()
    screenshot(admin, "account-users")
    admin.get_by_label("E-mail", exact=True).fill("nia.clerk@acme.example")
    admin.get_by_label("Name", exact=True).fill("Nia Clerk")
    admin.get_by_label("Role", exact=True).select_option("payer")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_text("Invitation sent to nia.clerk@acme.example")).to_be_visible()

    [message] = smtp_sink.to("nia.clerk@acme.example")
    link = re.search(r"(http://127\.0\.0\.1:\d+/invitations/\S+)", smtp_sink.text(message))[1]
    payer = page_factory(width=375, height=800)
    payer.goto(link)
    screenshot(payer, "accept-invitation-375")
    payer.get_by_label("New password", exact=True).fill("nia's long passphrase")
    payer.get_by_label("Repeat the new password").fill("nia's long passphrase")
    payer.get_by_role("button", name="Accept the invitation").click()
    sign_in(payer, base, "nia.clerk@acme.example", "nia's long passphrase")
    payer.wait_for_url(f"{base}/invoices")  # customers land on their invoices
    payer.get_by_role("link", name="Home").click()
    payer.wait_for_url(f"{base}/account")
    expect(payer.get_by_text("Role: Payer")).to_be_visible()
    assert payer.get_by_role("link", name="Users").count() == 0

    # The admin removes Nia; her open session ends at her next click.
    admin.reload()
    admin.get_by_role("button", name="Remove Nia Clerk").click()
    expect(admin.get_by_text("The user is removed and signed out.")).to_be_visible()
    payer.reload()
    assert payer.url.startswith(f"{base}/login")
    expect(payer.get_by_role("heading", name="Sign in")).to_be_visible()


def test_viewer_has_no_user_management(live_server, acme, page_factory):
    viewer = page_factory()
    sign_in(viewer, live_server.url, "viewer@acme.example")
    viewer.wait_for_url(f"{live_server.url}/invoices")
    viewer.get_by_role("link", name="Home").click()
    viewer.wait_for_url(f"{live_server.url}/account")
    expect(viewer.get_by_text("Role: Viewer")).to_be_visible()
    assert viewer.get_by_role("link", name="Users").count() == 0
    response = viewer.goto(f"{live_server.url}/account/users")
    assert response.status == 403
    screenshot(viewer, "viewer-403")
