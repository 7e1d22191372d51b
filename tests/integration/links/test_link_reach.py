"""What a link grant reaches: every URL rule of the app, requested by a browser holding a
grant only, is a 404 or a sign-in prompt — or, for public pages, exactly what a browser
without the grant gets. Never the granted invoice's data, nor anyone else's."""

from __future__ import annotations

import re

import pytest

from tests.integration.links.conftest import LinkBrowser, text

# Pages anyone may load (sign-in, password reset, health...): with a grant they must
# answer as they do without one.
PUBLIC = {"accounts.index", "accounts.login", "accounts.verify_totp",
          "accounts.forgot_password", "accounts.reset_password",
          "accounts.accept_invitation", "accounts.set_language", "core.healthz",
          "webhooks.stripe_webhook", "accounts.logout", "accounts.logout_everywhere"}
# The link's own routes, tested in test_link_pages and test_link_pay. (A link's payment
# pages stay in: for a payment not made through a link to the invoice they are 404s.)
OWN = {"links.landing", "links.start", "links.fresh", "links.invoice", "links.invoice_pdf",
       "links.pay_page", "links.pay_review", "links.pay_link_token", "links.pay_bank",
       "links.pay_confirm", "links.dispute_new", "static"}
# What the link's invoice, its customer and the others must not show anywhere else.
SECRETS = ("L-1", "L-2", "G-1", "Acme Corp", "Globex Inc", "Hex bolts", "1,234.56")


def _values(rule, number: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in rule.arguments:
        if f"<int:{name}>" in rule.rule:
            values[name] = 1
        elif name == "number":
            values[name] = number
        else:
            values[name] = "x" * 43
    return values


def _urls(app):
    """Every (method, path) of the app, with each invoice number where a rule takes one."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in OWN:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for number in (("L-1", "L-2", "G-1") if "number" in rule.arguments
                               else ("",)):
                    path = rule.build(_values(rule, number), append_unknown=False)[1]
                    yield rule.endpoint, method, path


def _ask(client, method: str, path: str, csrf: str | None):
    data = {"csrf_token": csrf} if csrf and method == "POST" else None
    return client.open(path, method=method, data=data)


def _acceptable(response) -> bool:
    if response.status_code == 404:
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and location.startswith("/login")


@pytest.fixture
def granted(app, world):
    """A browser holding a grant for Acme's L-1 (and the CSRF token of its session)."""
    b = LinkBrowser(app.test_client())
    assert b.open(world.link("L-1")).status_code == 303
    page = b.client.get("/i/invoice").get_data(as_text=True)
    assert "Hex bolts" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return b, csrf


def _check(app, client, csrf: str, endpoint: str, method: str, path: str) -> None:
    response = _ask(client, method, path, csrf)
    body = text(response.get_data(as_text=True))  # the words shown (not tokens in forms)
    where = f"{method} {path} ({endpoint}): {response.status_code}"
    # A redirect's body repeats its target (/login?next=/invoices/L-1): that is not content.
    redirected = 300 <= response.status_code < 400
    leaked = [] if redirected else [s for s in SECRETS if s in body]
    assert not leaked, f"{where} shows {leaked}"
    if endpoint not in PUBLIC:
        assert _acceptable(response), where
        return
    stranger = app.test_client()
    token = None
    if method == "POST":  # the stranger's own CSRF token, from a public page
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          stranger.get("/login").get_data(as_text=True))
        token = found and found.group(1)
    assert response.status_code == _ask(stranger, method, path, token).status_code, where


def test_a_grant_reaches_nothing_but_its_invoice(app, granted):
    b, csrf = granted
    urls = list(_urls(app))
    assert len(urls) >= 50  # every rule, not a handful
    # Signing out clears the browser's session, the grant with it: ask that last.
    last = [url for url in urls if url[0] == "accounts.logout"]
    for endpoint, method, path in [url for url in urls if url not in last]:
        _check(app, b.client, csrf, endpoint, method, path)
    # Nothing above ended or widened the grant.
    assert "Hex bolts" in b.client.get("/i/invoice").get_data(as_text=True)
    for endpoint, method, path in last:
        _check(app, b.client, csrf, endpoint, method, path)


def test_a_signed_in_user_of_another_customer_gains_nothing_from_a_grant(app, world):
    b = LinkBrowser(app.test_client())
    assert b.sign_in("payer@globex.example").status_code == 302
    assert b.open(world.link("L-1")).status_code == 303
    assert "Hex bolts" in b.client.get("/i/invoice").get_data(as_text=True)
    # Their own account is theirs; Acme's invoices stay out of reach.
    assert b.client.get("/invoices/G-1").status_code == 200
    assert b.client.get("/invoices/L-1").status_code == 404
    assert b.client.get("/invoices/L-1.pdf").status_code == 404
    assert "L-1" not in b.client.get("/invoices").get_data(as_text=True)
