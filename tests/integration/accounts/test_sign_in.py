"""Sign-in, throttle, sessions that really end, redirects that stay on this site."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from portal.accounts.models import AuditEvent, UserSession
from tests.integration.accounts.conftest import PASSWORD


def test_sign_in_and_wrong_password_and_unknown_email_look_the_same(world, browser):
    b = browser()
    wrong = b.sign_in("payer@acme.example", "not the password at all")
    unknown = b.sign_in("nobody@nowhere.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("nobody@nowhere.example", "X").replace(  # noqa: E731
        "payer@acme.example", "X")
    import re

    token = re.compile(r'value="[^"]{40,}"')
    assert token.sub("", strip(wrong)) == token.sub("", strip(unknown))
    ok = b.sign_in("payer@acme.example")
    assert ok.status_code == 302 and ok.location == "/invoices"  # customers land on their invoices
    assert "Acme Corp" in b.client.get("/account").get_data(as_text=True)


def test_eleventh_failure_in_a_minute_is_refused_even_with_the_right_password(world, browser,
                                                                              app):
    b = browser()
    for _ in range(10):
        assert b.sign_in("payer@acme.example", "wrong password here").status_code == 401
    refused = b.sign_in("payer@acme.example", PASSWORD)
    assert refused.status_code == 401
    assert "do not match" in refused.get_data(as_text=True)
    # An unknown address is throttled the same way, so locks reveal nothing either.
    for _ in range(10):
        b.sign_in("ghost@acme.example", "wrong password here")
    ghost = b.sign_in("ghost@acme.example", "wrong password here")
    assert ghost.status_code == 401
    with app.extensions["portal.db"].session() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).where(
            AuditEvent.actor_email == "payer@acme.example").order_by(AuditEvent.id))]
    assert actions == ["sign_in_failed"] * 10 + ["sign_in_locked"]
    # Another e-mail is not affected by this one's lock.
    assert b.sign_in("admin@acme.example").status_code == 302


def test_sign_out_ends_the_session_on_the_server(world, browser):
    b = browser()
    b.sign_in("payer@acme.example")
    stolen_cookie = b.client.get_cookie("portal_session").value
    assert b.post("/logout", form_page="/account").status_code == 302
    thief = browser()
    thief.client.set_cookie("portal_session", stolen_cookie)
    response = thief.client.get("/account")
    assert response.status_code == 302 and "/login" in response.location


def test_removed_user_is_signed_out_at_once(world, browser):
    payer = browser()
    payer.sign_in("payer@acme.example")
    assert payer.client.get("/account").status_code == 200
    admin = browser()
    admin.sign_in("admin@acme.example")
    removed = admin.post(f"/account/users/{world.ids['acme_payer']}/remove",
                         form_page="/account/users")
    assert removed.status_code == 302
    assert "/login" in payer.client.get("/account").location


def test_password_change_ends_other_sessions_but_not_this_one(world, browser):
    laptop, phone = browser(), browser()
    laptop.sign_in("viewer@acme.example")
    phone.sign_in("viewer@acme.example")
    changed = laptop.post("/account/password", {
        "pw-current": PASSWORD, "pw-password": "a brand new passphrase",
        "pw-confirm": "a brand new passphrase"}, form_page="/account/profile")
    assert changed.status_code == 302
    assert laptop.client.get("/account").status_code == 200
    assert "/login" in phone.client.get("/account").location


def test_idle_and_absolute_timeouts(world, browser, app):
    b = browser()
    b.sign_in("payer@acme.example")
    database = app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        uow.session.execute(update(UserSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)))
        uow.commit()
    assert "/login" in b.client.get("/account").location
    # The page view (a read-only request) still wrote the revocation: it never comes back.
    with database.session() as session:
        [reason] = session.scalars(select(UserSession.revoked_reason)).all()
    assert reason == "idle_timeout"
    b.sign_in("payer@acme.example")
    with database.unit_of_work() as uow:
        uow.session.execute(update(UserSession).where(UserSession.revoked_at.is_(None)).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)))
        uow.commit()
    assert "/login" in b.client.get("/account").location


def test_a_page_view_touches_last_seen_at_most_once_a_minute(world, browser, app):
    b = browser()
    b.sign_in("payer@acme.example")
    database = app.extensions["portal.db"]
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with database.unit_of_work() as uow:
        uow.session.execute(update(UserSession).values(last_seen_at=earlier))
        uow.commit()

    assert b.client.get("/account").status_code == 200
    with database.session() as session:
        first = session.scalars(select(UserSession.last_seen_at)).one()
    assert first > earlier + dt.timedelta(minutes=4)
    assert b.client.get("/account").status_code == 200
    with database.session() as session:
        assert session.scalars(select(UserSession.last_seen_at)).one() == first


def test_next_redirect_stays_on_this_site(world, browser):
    b = browser()
    for evil in ("https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"):
        token = b.csrf("/login")
        r = b.client.post("/login", data={"email": "payer@acme.example", "password": PASSWORD,
                                          "next": evil, "csrf_token": token})
        assert r.status_code == 302 and r.location == "/invoices", evil
        b.post("/logout", form_page="/account")
    token = b.csrf("/login")
    r = b.client.post("/login", data={"email": "payer@acme.example", "password": PASSWORD,
                                      "next": "/account/profile", "csrf_token": token})
    assert r.location == "/account/profile"


def test_post_without_csrf_token_is_refused(world, browser):
    b = browser()
    r = b.client.post("/login", data={"email": "payer@acme.example", "password": PASSWORD})
    assert r.status_code == 400
    assert b.client.get("/account").status_code == 302  # not signed in


def test_security_headers(world, browser):
    r = browser().client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "js.stripe.com" not in csp  # only payment pages may load Stripe
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP in tests


def test_staff_and_customers_reach_only_their_side(world, browser):
    staff = browser()
    staff.sign_in("ar@vendor.example")
    assert staff.client.get("/staff/?q=Acme").status_code == 200
    assert "Acme Corp" in staff.client.get("/staff/?q=Acme").get_data(as_text=True)
    assert staff.client.get("/account/users").status_code == 404
    customer = browser()
    customer.sign_in("admin@acme.example")
    assert customer.client.get("/staff/").status_code == 404


def test_viewer_cannot_manage_users(world, browser):
    viewer = browser()
    viewer.sign_in("viewer@acme.example")
    assert viewer.client.get("/account/users").status_code == 403
    r = viewer.post("/account/users/invite", {"email": "x@acme.example", "role": "admin"},
                    form_page="/account")
    assert r.status_code == 403


def test_sign_in_posts_are_rate_limited_per_address(world, browser):
    b = browser()
    statuses = [b.sign_in("someone@acme.example", "wrong password here").status_code
                for _ in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    # The limit is per client address: another address is not affected.
    token = b.csrf("/login")
    other = b.client.post("/login", data={"email": "payer@acme.example", "password": PASSWORD,
                                          "csrf_token": token},
                          environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 302


def test_audit_log_is_visible_to_the_account_admin_and_to_staff(world, browser):
    b = browser()
    b.sign_in("payer@acme.example", "a wrong password")
    b.sign_in("payer@acme.example")
    admin = browser()
    admin.sign_in("admin@acme.example")
    page = admin.client.get("/account/activity").get_data(as_text=True)
    assert "sign in failed" in page and "payer@acme.example" in page
    assert "globex" not in page.lower()
    staff = browser()
    staff.sign_in("ar@vendor.example")
    page = staff.client.get("/staff/audit").get_data(as_text=True)
    assert "sign in failed" in page and "payer@acme.example" in page
    assert browser().client.get("/staff/audit").status_code == 302
    assert admin.client.get("/staff/audit").status_code == 404
