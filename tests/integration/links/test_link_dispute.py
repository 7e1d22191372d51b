"""Disputing through an invoice link, without an account: the same form and rules as
signed-in users, the name and e-mail typed for the vendor's answers, the thread, and
nothing of another invoice's disputes."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import AuditEvent
from portal.disputes.models import Dispute
from portal.vendor.services import update_vendor
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.links.conftest import text

SUPPORT = "ar@vendor.example"


@pytest.fixture
def config(config, tmp_path):
    return dataclasses.replace(config, attachments_dir=str(tmp_path / "attachments"))


@pytest.fixture
def vendor(world):
    with world.database.unit_of_work() as uow:
        update_vendor(uow.session, name="Northwind", support_email=SUPPORT)
        accounts.create_user(uow.session, email="collector@vendor.example", name="Casey",
                             password=PASSWORD, staff_role="collector")
        uow.commit()
    return world


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 12), (10, 120, 60)).save(out, "PNG")
    return out.getvalue()


def dispute_through(browser, **fields):
    page = browser.client.get("/i/dispute").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "contact_name": "Robin Receiver",
            "contact_email": "robin@outside.example", "reason": "quantity", "amount": "200",
            "description": "Only 8 of 10 boxes arrived.",
            "files": [(io.BytesIO(photo()), "pallet.png")], **fields}
    return browser.client.post("/i/dispute", data=data, content_type="multipart/form-data",
                               headers={"User-Agent": "LinkDispute/1.0"})


def opened(visitor, world, number: str = "L-1"):
    browser = visitor()
    assert browser.open(world.link(number)).status_code == 303
    return browser


def test_a_payer_without_an_account_disputes_and_reads_the_answer(app, vendor, visitor,
                                                                  smtp_sink):
    browser = opened(visitor, vendor)
    assert "Dispute" in text(browser.client.get("/i/invoice").get_data(as_text=True))
    response = dispute_through(browser)
    assert response.status_code == 303, text(response.get_data(as_text=True))
    with vendor.database.session() as session:
        dispute = session.scalars(select(Dispute)).one()
        session.expunge(dispute)
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "link.dispute_opened")).one()
        assert (event.user_agent, f"dispute={dispute.id}" in event.detail) == (
            "LinkDispute/1.0", True)
    assert (dispute.amount_minor, dispute.opened_by_email, dispute.opened_by_user_id) == (
        200_00, "robin@outside.example", None)
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your dispute is open. $200.00 of the invoice is on hold" in text(page)
    assert "e-mailed to robin@outside.example" in text(page)
    [attachment] = re.findall(r'href="(/i/disputes/\d+/attachments/\d+)"', page)
    assert browser.client.get(attachment).data == photo()
    invoice_page = text(browser.client.get("/i/invoice").get_data(as_text=True))
    assert "Disputed: $200.00" in invoice_page and f"Dispute {dispute.id}: $200.00" in invoice_page
    # The vendor answers; the payer is e-mailed (no account: told to open the link again).
    staff = Browser(app.test_client())
    staff.sign_in("collector@vendor.example")
    token = csrf(staff.client.get(f"/staff/disputes/{dispute.id}").get_data(as_text=True))
    staff.client.post(f"/staff/disputes/{dispute.id}/messages",
                      data={"csrf_token": token, "body": "Checking with the carrier."})
    [answer] = smtp_sink.to("robin@outside.example")
    body = smtp_sink.text(answer)
    assert "Checking with the carrier." in body and "open the invoice link" in body
    assert "http://" not in body
    # The payer replies through the link, name and e-mail remembered.
    thread = browser.client.get(f"/i/disputes/{dispute.id}").get_data(as_text=True)
    assert 'value="robin@outside.example"' in thread
    reply = browser.client.post(f"/i/disputes/{dispute.id}/messages", data={
        "csrf_token": csrf(thread), "contact_name": "Robin Receiver",
        "contact_email": "robin@outside.example", "body": "Photos of the pallet attached."},
        content_type="multipart/form-data")
    assert reply.status_code == 303
    assert "Photos of the pallet attached." in text(
        browser.client.get(f"/i/disputes/{dispute.id}").get_data(as_text=True))
    assert any("New message" in m["Subject"] for m in smtp_sink.to(SUPPORT))


def test_the_contact_is_required_and_nothing_is_written(app, vendor, visitor):
    browser = opened(visitor, vendor)
    response = dispute_through(browser, contact_email="not an address", contact_name="")
    assert response.status_code == 422
    words = text(response.get_data(as_text=True))
    assert "Enter your name." in words and "Enter your e-mail address" in words
    with vendor.database.session() as session:
        assert session.scalars(select(Dispute)).all() == []


def test_a_link_reaches_only_disputes_opened_through_links_to_its_invoice(app, vendor,
                                                                          visitor):
    first = opened(visitor, vendor, "L-1")
    dispute_through(first)
    with vendor.database.session() as session:
        dispute_id = session.scalars(select(Dispute.id)).one()
    other = opened(visitor, vendor, "L-2")
    token = csrf(other.client.get("/i/invoice").get_data(as_text=True))
    assert other.client.get(f"/i/disputes/{dispute_id}").status_code == 404
    assert other.client.post(f"/i/disputes/{dispute_id}/messages", data={
        "csrf_token": token, "body": "x", "contact_name": "x",
        "contact_email": "x@example.com"}).status_code == 404
    assert other.client.post(f"/i/disputes/{dispute_id}/withdraw",
                             data={"csrf_token": token}).status_code == 404
    assert "Only 8 of 10" not in other.client.get("/i/invoice").get_data(as_text=True)
    assert visitor().client.get(f"/i/disputes/{dispute_id}").status_code == 404
    # A fresh link to the same invoice reaches it; the invoice's one dispute is shown there.
    again = opened(visitor, vendor, "L-1")
    assert again.client.get("/i/dispute").headers["Location"] == f"/i/disputes/{dispute_id}"
