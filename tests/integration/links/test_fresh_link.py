""""Send me a fresh link" on a dead link's page: a new link e-mailed to known addresses only,
the same answer for everyone, rate-limited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from portal.accounts.models import AuditEvent
from portal.ledger.models import CustomerContact, utcnow
from portal.links.models import InvoiceLink
from tests.integration.links.conftest import form_token, text

SAME_ANSWER = "If that address is one"


def expire_all(world) -> None:
    with world.database.unit_of_work() as uow:
        for row in uow.session.scalars(select(InvoiceLink)):
            row.expires_at = utcnow() - dt.timedelta(seconds=1)
        uow.commit()


def ask(visitor, token: str, email: str):
    page = visitor.client.get(f"/i/{token}")
    assert page.status_code == 404
    return visitor.client.post(f"/i/{token}/fresh", data={
        "csrf_token": form_token(page.get_data(as_text=True)), "email": email})


def links(world) -> list[InvoiceLink]:
    with world.database.session() as session:
        rows = list(session.scalars(select(InvoiceLink).order_by(InvoiceLink.id)))
        session.expunge_all()
        return rows


@pytest.fixture
def contact(world):
    with world.database.unit_of_work() as uow:
        uow.session.add(CustomerContact(customer_id=world.acme_id, name="Ann Billing",
                                        email="Billing@Acme.example"))
        uow.commit()


def test_a_known_contact_gets_a_fresh_link_by_email(world, visitor, contact, smtp_sink):
    token = world.link("L-1")
    expire_all(world)

    response = ask(visitor(), token, "billing@acme.example")

    assert response.status_code == 200 and SAME_ANSWER in text(response.get_data(as_text=True))
    old, new = links(world)
    assert (new.invoice_id, new.sent_to, new.created_by) == (old.invoice_id,
                                                            "billing@acme.example", "fresh-link")
    [message] = smtp_sink.to("billing@acme.example")
    body = smtp_sink.text(message)
    [fresh] = re.findall(r"http://portal\.test/i/([A-Za-z0-9_-]{43})", body)
    assert fresh != token
    landing = visitor().client.get(f"/i/{fresh}")
    assert landing.status_code == 200 and "L-1" in landing.get_data(as_text=True)
    assert fresh not in response.get_data(as_text=True)  # never shown on the page


def test_a_portal_user_of_the_account_gets_one_too(world, visitor, smtp_sink):
    token = world.link("L-2")
    expire_all(world)
    assert ask(visitor(), token, "payer@acme.example").status_code == 200
    assert len(smtp_sink.to("payer@acme.example")) == 1 and len(links(world)) == 2


def test_unknown_addresses_and_tokens_get_the_same_answer_and_nothing(world, visitor, contact,
                                                                      smtp_sink):
    token = world.link("L-1")
    expire_all(world)
    answers = [text(ask(visitor(), token, "payer@globex.example").get_data(as_text=True)),
               text(ask(visitor(), "A" * 43, "billing@acme.example").get_data(as_text=True))]
    known = text(ask(visitor(), token, "billing@acme.example").get_data(as_text=True))

    assert answers == [known, known]
    assert [m["To"] for m in smtp_sink.messages] == ["billing@acme.example"]
    with world.database.session() as session:
        refused = session.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "link.fresh_refused")).all()
    assert refused == ["link.fresh_refused"]  # Globex's payer, asking about Acme's link


def test_bad_input_is_refused_and_changes_nothing(world, visitor, smtp_sink):
    token = world.link("L-1")
    expire_all(world)
    b = visitor()
    response = ask(b, token, "not an address")
    assert response.status_code == 422
    assert "Enter your e-mail address" in text(response.get_data(as_text=True))
    forged = b.client.post(f"/i/{token}/fresh", data={"csrf_token": "x",
                                                     "email": "payer@acme.example"})
    assert forged.status_code == 404
    assert len(links(world)) == 1 and smtp_sink.messages == []


def test_fresh_links_are_rate_limited_per_link(world, visitor, contact, smtp_sink):
    token = world.link("L-1")
    expire_all(world)
    statuses = [ask(visitor(), token, "billing@acme.example").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    page = visitor().client.get(f"/i/{token}").get_data(as_text=True)
    limited = visitor().client.post(f"/i/{token}/fresh", data={
        "csrf_token": form_token(page), "email": "billing@acme.example"})
    assert limited.status_code == 429
    assert len(smtp_sink.to("billing@acme.example")) == 3
