"""The footer's language switch: the user's own setting when signed in, a cookie before;
Accept-Language when neither says; nothing changes on a bad choice or a foreign ``next``."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.accounts.models import User


def lang_of(response) -> str:
    return re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True)).group(1)


def locale_of(app, email: str) -> str | None:
    with app.extensions["portal.db"].unit_of_work() as uow:
        return uow.session.scalar(select(User.locale).where(User.email == email))


def test_browser_language_is_used_until_one_is_chosen(world, browser):
    visitor = browser()
    assert lang_of(visitor.client.get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9"})) \
        == "fr"
    assert lang_of(visitor.client.get("/login", headers={"Accept-Language": "de, es;q=0.5"})) \
        == "es"
    assert lang_of(visitor.client.get("/login", headers={"Accept-Language": "de"})) == "en"

    response = visitor.post("/language", {"language": "es", "next": "/password/forgot"},
                            form_page="/login")
    assert response.status_code == 302 and response.location == "/password/forgot"
    # The choice beats the browser's headers from now on, on every page.
    assert lang_of(visitor.client.get("/login", headers={"Accept-Language": "fr"})) == "es"


def test_signed_in_choice_is_the_users_setting(world, browser, app):
    payer = browser()
    payer.sign_in("payer@acme.example")
    response = payer.post("/language", {"language": "fr", "next": "/invoices?status=overdue"},
                          form_page="/invoices")
    assert response.location == "/invoices?status=overdue"
    assert locale_of(app, "payer@acme.example") == "fr"
    # Another browser, other headers: the user's setting wins once signed in.
    elsewhere = browser()
    elsewhere.sign_in("payer@acme.example")
    page = elsewhere.client.get("/invoices", headers={"Accept-Language": "es"})
    assert lang_of(page) == "fr" and "Factures" in page.get_data(as_text=True)


def test_bad_choices_change_nothing(world, browser, app):
    payer = browser()
    payer.sign_in("payer@acme.example")
    response = payer.post("/language", {"language": "de", "next": "/invoices"},
                          form_page="/invoices")
    assert response.location == "/invoices" and "portal_language" not in \
        response.headers.get("Set-Cookie", "")
    assert locale_of(app, "payer@acme.example") is None
    # A next that leaves the site is ignored.
    response = payer.post("/language", {"language": "es", "next": "//evil.example/x"},
                          form_page="/invoices")
    assert response.location == "/"
    # Without the form's CSRF token, nothing happens.
    response = payer.client.post("/language", data={"language": "fr", "next": "/invoices"})
    assert response.status_code in (400, 302)
    assert locale_of(app, "payer@acme.example") == "es"
