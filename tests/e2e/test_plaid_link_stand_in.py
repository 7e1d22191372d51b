"""In Chromium, the local Plaid's Link stand-in on a page of another origin, as the portal's
will be: the dialog opens with focus in it, an account is chosen by keyboard, onSuccess
gets a public token that exchanges for that account; Escape and a bad link token end in
onExit; the open dialog passes axe at 1280 and 375 px. The page is served with the
portal's Content-Security-Policy for payment pages, so what it refuses would show here.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from portal.gateways.plaid import PlaidGateway
from tests.e2e.axe import describe, violations
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Add a bank account</title>
<script src="{link_js}"></script>
<script src="/page.js" defer></script>
</head>
<body>
<main>
<h1>Add a bank account</h1>
<p>Pay your invoices straight from your company's bank account.</p>
<button type="button" id="link">Link a bank account</button>
<p id="result" role="status"></p>
</main>
</body>
</html>
"""

# What the portal's page will do with Link (https://plaid.com/docs/link/web/).
PAGE_JS = """
window.linkEvents = [];
var handler = Plaid.create({
  token: new URLSearchParams(location.search).get('token'),
  onLoad: function () { window.linkLoaded = true; },
  onSuccess: function (publicToken, metadata) {
    window.linkSuccess = {publicToken: publicToken, metadata: metadata};
    document.getElementById('result').textContent = 'Linked ' + metadata.account.name;
  },
  onExit: function (error, metadata) {
    window.linkExit = {error: error, metadata: metadata};
    document.getElementById('result').textContent = 'No bank account was linked.';
  },
  onEvent: function (name) { window.linkEvents.push(name); }
});
document.getElementById('link').addEventListener('click', function () { handler.open(); });
"""


class HostPage(ThreadingHTTPServer):
    """A page of its own origin that loads Link, under the portal's payment-page CSP."""

    def __init__(self, link_js: str) -> None:
        self.link_js = link_js
        plaid = urllib.parse.urlsplit(link_js)
        self.plaid_origin = f"{plaid.scheme}://{plaid.netloc}"
        super().__init__(("127.0.0.1", 0), _HostPageHandler)

    def url(self, token: str) -> str:
        query = urllib.parse.urlencode({"token": token})
        return f"http://127.0.0.1:{self.server_address[1]}/?{query}"

    @property
    def csp(self) -> str:
        # portal/core/security.py with allow_payment_origins(<the local Plaid>).
        plaid = self.plaid_origin
        return ("default-src 'self'; "
                f"script-src 'self' https://js.stripe.com https://cdn.plaid.com {plaid}; "
                "style-src 'self'; img-src 'self' data:; font-src 'self'; "
                f"connect-src 'self' https://production.plaid.com https://sandbox.plaid.com "
                f"{plaid}; frame-src https://cdn.plaid.com {plaid}; object-src 'none'; "
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class _HostPageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            self._send(PAGE.replace("{link_js}", self.server.link_js), "text/html")
        elif path == "/page.js":
            self._send(PAGE_JS, "application/javascript")
        elif path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_error(404)

    def _send(self, text: str, content_type: str) -> None:
        payload = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Security-Policy", self.server.csp)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def host_page(localplaid) -> Iterator[HostPage]:
    server = HostPage(localplaid.link_js_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def plaid(plaid_config) -> PlaidGateway:
    return PlaidGateway.from_config(plaid_config)


def open_page(page_factory, host_page: HostPage, token: str, width: int = 1280):
    """The host page, loaded and Link ready; with the console's errors (CSP refusals...)."""
    page = page_factory(width=width)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(host_page.url(token))
    page.wait_for_function("() => window.linkLoaded === true")
    return page, errors


def focus_in_dialog(page) -> bool:
    return page.evaluate("!!document.activeElement.closest('[role=dialog]')")


@pytest.mark.parametrize("width", [1280, 375])
def test_an_account_is_linked_by_keyboard(page_factory, host_page, plaid, width):
    token = plaid.create_link_token("user-17", "Northwind Billing", "en").link_token
    page, errors = open_page(page_factory, host_page, token, width)

    page.get_by_role("button", name="Link a bank account").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Connect your bank")
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "true"
    assert focus_in_dialog(page)
    found = violations(page)
    assert not found, describe(found)

    # Continue without a choice: told so, focus back on the accounts.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Continue"
    page.keyboard.press("Enter")
    assert dialog.get_by_role("alert").inner_text() == "Choose an account to continue."
    # Arrow keys move through the accounts and choose; Checking is the first.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    checking = dialog.get_by_role("radio", name="Plaid Checking Checking ending in 6789")
    assert checking.is_checked() and dialog.get_by_role("alert").inner_text() == ""
    found = violations(page)
    assert not found, describe(found)
    suffix = "" if width == 1280 else f"-{width}"
    screenshot(page, f"plaid-link-stand-in{suffix}")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_function("() => window.linkSuccess !== undefined")
    success = page.evaluate("window.linkSuccess")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "link", "focus returns to the page"
    assert page.get_by_role("status").inner_text() == "Linked Plaid Checking"
    metadata = success["metadata"]
    assert metadata["public_token"] == success["publicToken"]
    assert metadata["institution"] == {"name": "First Platypus Bank",
                                       "institution_id": "ins_109508"}
    assert metadata["accounts"] == [metadata["account"]]
    assert metadata["account"]["name"] == "Plaid Checking"
    assert metadata["account"]["mask"] == "6789"
    assert metadata["account"]["verification_status"] is None
    assert metadata["link_session_id"]
    item = plaid.exchange_public_token(success["publicToken"])
    account = plaid.get_account(item.access_token, metadata["account_id"])
    assert (account.name, account.mask, account.subtype) == ("Plaid Checking", "6789",
                                                             "checking")
    assert page.evaluate("window.linkEvents") == ["OPEN", "HANDOFF"]
    assert errors == [], "the page's console stays clean (no CSP refusals)"


def test_escape_closes_link_and_calls_on_exit(page_factory, host_page, plaid):
    token = plaid.create_link_token("user-17", "Northwind Billing", "en").link_token
    page, errors = open_page(page_factory, host_page, token)

    page.get_by_role("button", name="Link a bank account").click()
    dialog = page.get_by_role("dialog", name="Connect your bank")
    dialog.wait_for()
    page.keyboard.press("Escape")

    page.wait_for_function("() => window.linkExit !== undefined")
    exit_ = page.evaluate("window.linkExit")
    assert exit_["error"] is None
    assert exit_["metadata"]["status"] == "requires_account_selection"
    assert exit_["metadata"]["institution"]["institution_id"] == "ins_109508"
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "link"
    assert page.evaluate("window.linkEvents") == ["OPEN", "EXIT"]
    assert errors == []


def test_a_link_token_the_server_did_not_make_ends_in_on_exit(page_factory, host_page):
    page, _ = open_page(page_factory, host_page, "link-sandbox-made-up")

    page.get_by_role("button", name="Link a bank account").click()

    page.wait_for_function("() => window.linkExit !== undefined")
    exit_ = page.evaluate("window.linkExit")
    assert exit_["error"]["error_code"] == "INVALID_LINK_TOKEN"
    assert exit_["error"]["error_type"] == "INVALID_INPUT"
    assert exit_["metadata"]["request_id"]
    assert page.get_by_role("dialog").count() == 0
