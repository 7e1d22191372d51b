"""Invitations, password resets and the second factor, e-mailed through real SMTP."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from sqlalchemy import select, update

from portal.accounts.models import AuditEvent, Invitation, PasswordReset, User
from tests.integration.accounts.conftest import PASSWORD


def link_in(sink, address: str) -> str:
    messages = sink.to(address)
    assert messages, f"no e-mail to {address}"
    match = re.search(r"http://portal\.test(/\S+)", sink.text(messages[-1]))
    assert match
    return match.group(1)


def test_admin_invites_a_payer_who_joins_and_signs_in(world, browser, smtp_sink, app):
    admin = browser()
    admin.sign_in("admin@acme.example")
    r = admin.post("/account/users/invite", {"email": "New.Clerk@Acme.example", "name": "Nia Clerk",
                                              "role": "payer"}, form_page="/account/users")
    assert r.status_code == 302
    [message] = smtp_sink.to("new.clerk@acme.example")
    assert "Acme Corp" in message["Subject"]
    assert message.get_body(preferencelist=("html",)) is not None
    path = link_in(smtp_sink, "new.clerk@acme.example")
    token = path.rsplit("/", 1)[1]
    with app.extensions["portal.db"].session() as s:
        stored = s.scalar(select(Invitation.token_hash))
    assert token not in stored and len(token) >= 43  # 256 bits, only its hash stored

    newcomer = browser()
    assert "Join Acme Corp" in newcomer.client.get(path).get_data(as_text=True)
    weak = newcomer.post(path, {"name": "Nia Clerk", "password": "short", "confirm": "short"})
    assert "at least 12" in weak.get_data(as_text=True)
    ok = newcomer.post(path, {"name": "Nia Clerk", "password": "a long enough passphrase",
                              "confirm": "a long enough passphrase"})
    assert ok.status_code == 302
    assert newcomer.client.get(path).status_code == 404  # single use
    assert newcomer.sign_in("new.clerk@acme.example", "a long enough passphrase").status_code == 302
    home = newcomer.client.get("/account").get_data(as_text=True)
    assert "Role: Payer" in home
    with app.extensions["portal.db"].session() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"user_invited", "invitation_accepted", "sign_in"} <= actions


def test_expired_invitation_is_refused(world, browser, smtp_sink, app):
    admin = browser()
    admin.sign_in("admin@acme.example")
    admin.post("/account/users/invite", {"email": "late@acme.example", "role": "viewer"},
               form_page="/account/users")
    path = link_in(smtp_sink, "late@acme.example")
    with app.extensions["portal.db"].unit_of_work() as uow:
        uow.session.execute(update(Invitation).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        uow.commit()
    r = browser().client.get(path)
    assert r.status_code == 404 and "expired" in r.get_data(as_text=True)


def test_password_reset_is_single_use_and_silent_about_unknown_addresses(world, browser,
                                                                         smtp_sink, app):
    b = browser()
    known = b.post("/password/forgot", {"email": "payer@acme.example"})
    unknown = b.post("/password/forgot", {"email": "nobody@acme.example"})
    def same(response) -> str:
        """The page less the address typed and the CSRF tokens (signed with the time)."""
        page = response.get_data(as_text=True).replace("payer@acme.example", "X")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page.replace(
            "nobody@acme.example", "X"))

    assert known.status_code == unknown.status_code == 200
    assert same(known) == same(unknown)
    assert smtp_sink.to("nobody@acme.example") == []
    path = link_in(smtp_sink, "payer@acme.example")
    other = browser()
    other.sign_in("payer@acme.example")  # a session that the reset must end
    r = b.post(path, {"password": "my new passphrase!", "confirm": "my new passphrase!"})
    assert r.status_code == 302
    assert b.client.get(path).status_code == 404
    assert "/login" in other.client.get("/account").location
    assert b.sign_in("payer@acme.example", PASSWORD).status_code == 401
    assert b.sign_in("payer@acme.example", "my new passphrase!").status_code == 302
    with app.extensions["portal.db"].session() as s:
        assert s.scalar(select(PasswordReset.used_at)) is not None


def test_second_factor_set_up_and_required_at_sign_in(world, browser, app):
    b = browser()
    b.sign_in("payer@acme.example")
    page = b.post("/account/two-step", {"action": "start"},
                  form_page="/account/two-step").get_data(as_text=True)
    secret = re.search(r'id="totp-key">([A-Z2-7]+)<', page).group(1)
    wrong = b.post("/account/two-step", {"action": "confirm", "code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).now()
    assert b.post("/account/two-step", {"action": "confirm", "code": code}).status_code == 302
    b.post("/logout", form_page="/account")

    r = b.sign_in("payer@acme.example")
    assert r.location == "/login/verify"
    assert "/login/verify" in b.client.get("/account").location  # not in without the code
    reused = b.post("/login/verify", {"code": code})  # a code works only once
    assert "not right" in reused.get_data(as_text=True)
    with app.extensions["portal.db"].unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.email == "payer@acme.example"))
        uow.session.execute(update(User).where(User.id == user.id).values(totp_last_step=0))
        uow.commit()
    assert b.post("/login/verify", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert b.client.get("/account").status_code == 200


def test_account_admin_can_require_a_second_factor(world, browser):
    admin = browser()
    admin.sign_in("admin@acme.example")
    admin.post("/account/security", {"require_totp": "on"}, form_page="/account/users")
    payer = browser()
    payer.sign_in("payer@acme.example")
    for path in ("/account", "/account/profile"):
        r = payer.client.get(path)
        assert r.status_code == 302 and r.location == "/account/two-step", path
    page = payer.post("/account/two-step", {"action": "start"},
                      form_page="/account/two-step").get_data(as_text=True)
    assert "requires two-step verification" in page
    secret = re.search(r'id="totp-key">([A-Z2-7]+)<', page).group(1)
    payer.post("/account/two-step", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert payer.client.get("/account").status_code == 200
    # Globex did not require it: its users are not asked.
    other = browser()
    other.sign_in("payer@globex.example")
    assert other.client.get("/account").status_code == 200
