"""/i/<token>, /i/invoice and /i/invoice.pdf: a GET changes nothing, the POST grants one
invoice for a while (never a sign-in), and every dead link gets the same page."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.accounts.models import AuditEvent, UserSession
from portal.ledger.models import utcnow
from portal.links import access
from portal.links.models import InvoiceLink
from tests import pdf
from tests.integration.links.conftest import DUE, form_token, long_date, text

PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                   "X-Robots-Tag": "noindex"}


def counts(world) -> tuple:
    with world.database.session() as s:
        return (s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).select_from(UserSession)),
                tuple(s.scalars(select(InvoiceLink.last_viewed_at).order_by(InvoiceLink.id))))


def assert_private(response):
    for name, value in PRIVATE_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_landing_page_shows_the_invoice_and_a_get_changes_nothing(world, visitor):
    token = world.link()
    before = counts(world)
    b = visitor()
    response = b.client.get(f"/i/{token}")
    assert response.status_code == 200
    page = text(response.get_data(as_text=True))
    for expected in ("Invoice L-1", "Amount due $1,234.56", f"Due date {long_date(DUE)}",
                     "View invoice"):
        assert expected in page, expected
    assert "Acme" not in page and "Hex bolts" not in page  # the invoice itself waits
    assert "Set-Cookie" not in response.headers
    assert_private(response)
    head = b.client.head(f"/i/{token}")
    assert head.status_code == 200 and "Set-Cookie" not in head.headers
    assert_private(head)
    # Loaded by a mail scanner a hundred times over: nothing is written or granted.
    assert counts(world) == before
    assert b.client.get("/i/invoice").status_code == 404


def test_every_dead_link_gets_the_same_page(world, visitor):
    live = world.link()
    expired, revoked = world.link(), world.link()
    with world.database.unit_of_work() as uow:
        rows = {r.id: r for r in uow.session.scalars(select(InvoiceLink))}
        *_, expired_row, revoked_row = sorted(rows.values(), key=lambda r: r.id)
        expired_row.expires_at = utcnow() - dt.timedelta(seconds=1)
        revoked_row.revoked_at = utcnow()
        uow.commit()
    tampered = live[:-1] + ("A" if live[-1] != "A" else "B")
    answers = []
    for token in (expired, revoked, tampered, "unknown", "A" * 43, "x" * 300, "%00"):
        b = visitor()
        response = b.client.get(f"/i/{token}")
        assert response.status_code == 404, token
        assert "Set-Cookie" not in response.headers
        assert_private(response)
        # The same words for all; only the fresh-link form's address and token differ.
        answers.append(text(response.get_data(as_text=True)))
        posted = b.client.post(f"/i/{token}", data={"csrf_token": "x"})
        assert posted.status_code == 404 and text(posted.get_data(as_text=True)) == answers[0]
    assert all(answer == answers[0] for answer in answers)
    assert "This link is not valid or has expired" in answers[0]
    assert "Invoice L-1" not in answers[0]


def test_view_invoice_grants_that_invoice_without_signing_in(world, visitor):
    token = world.link()
    b = visitor()
    response = b.open(token)
    assert response.status_code == 303
    assert response.headers["Location"] == "/i/invoice"  # the token is left behind
    assert "portal_session=" in response.headers["Set-Cookie"]
    assert_private(response)

    page = b.client.get("/i/invoice")
    assert page.status_code == 200
    assert_private(page)
    html = page.get_data(as_text=True)
    words = text(html)
    for expected in ("Invoice L-1", "Acme Corp", "Hex bolts M8, box of 100", "Total $1,234.56",
                     "Balance due $1,234.56", "PO number PO-L-1", "Download PDF"):
        assert expected in words, expected
    for absent in ("All invoices", "payment plan", "Sign out", "/invoices", "/payments",
                   "/account", "/disputes"):
        assert absent not in html, absent
    # Its own actions only: pay, dispute, download.
    assert 'href="/i/invoice.pdf"' in html and 'href="/i/dispute"' in html
    assert 'href="/i/pay"' in html

    download = b.client.get("/i/invoice.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "invoice-L-1.pdf" in download.headers["Content-Disposition"]
    assert_private(download)
    document = pdf.text(download.data)
    assert "L-1" in document and "1,234.56" in document

    # Not a sign-in: no user, no server-side session, other pages ask to sign in.
    with world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(UserSession)) == 0
    assert b.client.get("/invoices").headers["Location"].startswith("/login")
    assert b.client.get("/invoices/L-1").headers["Location"].startswith("/login")
    with b.client.session_transaction() as session:
        assert "_user_id" not in session
        grant = session[access.GRANT_KEY]
    assert set(grant) == {"link", "invoice", "until"}


def test_the_view_and_the_download_are_audited(world, visitor):
    token = world.link()
    b = visitor()
    b.open(token)
    b.client.get("/i/invoice.pdf", headers={"User-Agent": "LinkTest/1.0"})
    with world.database.session() as s:
        link = s.scalars(select(InvoiceLink)).one()
        assert link.last_viewed_at is not None
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.like("link.%"))
                           .where(AuditEvent.action != "link.created")
                           .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["link.viewed", "link.pdf_downloaded"]
        for event in events:
            assert event.customer_id == world.acme_id and event.subject == "L-1"
            assert event.detail == f"link={link.id}" and event.user_id is None
            assert event.ip == "127.0.0.1" and event.user_agent == "LinkTest/1.0"


def test_the_post_needs_the_form_token(world, visitor):
    token = world.link()
    b = visitor()
    landing = b.client.get(f"/i/{token}").get_data(as_text=True)
    assert b.client.post(f"/i/{token}").status_code == 400
    assert b.client.post(f"/i/{token}", data={"csrf_token": "0" * 64}).status_code == 400
    other = world.link()  # another link's form token does not open this one
    other_token = form_token(b.client.get(f"/i/{other}").get_data(as_text=True))
    assert b.client.post(f"/i/{token}", data={"csrf_token": other_token}).status_code == 400
    # A form posted from another site, as the browser reports it.
    cross = b.client.post(f"/i/{token}", data={"csrf_token": form_token(landing)},
                          headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 400
    assert b.client.get("/i/invoice").status_code == 404
    same = b.client.post(f"/i/{token}", data={"csrf_token": form_token(landing)},
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303


def test_revoking_or_expiry_ends_the_grant(world, visitor):
    token = world.link()
    b = visitor()
    b.open(token)
    assert b.client.get("/i/invoice").status_code == 200
    with world.database.unit_of_work() as uow:
        uow.session.scalars(select(InvoiceLink)).one().revoked_at = utcnow()
        uow.commit()
    ended = b.client.get("/i/invoice")
    assert ended.status_code == 404 and "This invoice view has ended" in ended.get_data(
        as_text=True)
    assert b.client.get("/i/invoice.pdf").status_code == 404

    b = visitor()
    b.open(world.link())
    with b.client.session_transaction() as session:
        grant = dict(session[access.GRANT_KEY])
        session[access.GRANT_KEY] = {**grant, "until": int(utcnow().timestamp()) - 1}
    assert b.client.get("/i/invoice").status_code == 404


def test_a_grant_reaches_its_own_invoice_only(world, visitor):
    b = visitor()
    b.open(world.link("L-1"))
    with world.database.session() as s:
        other_id = world.invoice(s, "L-2").id
    # Even a grant whose invoice was changed (the cookie is signed, but say it were not).
    with b.client.session_transaction() as session:
        session[access.GRANT_KEY] = {**session[access.GRANT_KEY], "invoice": other_id}
    assert b.client.get("/i/invoice").status_code == 404
    assert b.client.get("/invoices/L-2").status_code == 302
    assert b.client.get("/invoices/L-2.pdf").status_code == 302


def test_a_newer_link_replaces_the_grant(world, visitor):
    b = visitor()
    b.open(world.link("L-1"))
    b.open(world.link("G-1"))
    words = text(b.client.get("/i/invoice").get_data(as_text=True))
    assert "Invoice G-1" in words and "L-1" not in words


def test_token_routes_are_rate_limited_per_address(world, visitor):
    token = world.link()
    b = visitor()
    statuses = [b.client.get(f"/i/{'A' * 43}").status_code for _ in range(20)]
    statuses += [b.client.post(f"/i/{token}").status_code for _ in range(10)]
    assert statuses == [404] * 20 + [400] * 10
    limited = b.client.get(f"/i/{token}")
    assert limited.status_code == 429  # a good token too, once the address is over
    other = b.client.get(f"/i/{token}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
