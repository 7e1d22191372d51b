"""End-to-end fixtures: the portal served on a local port, and headless Chromium.

The browser is Debian's chromium (``/usr/bin/chromium``) or one installed by
``playwright install chromium``; with neither, these tests fail and say how to
get one (they never skip).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.app import create_app

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", "/tmp/portal-screenshots"))


def find_chromium(playwright) -> str:
    """Return a Chromium executable, or fail saying how to install one."""
    candidates = [os.environ.get("PORTAL_CHROMIUM"), "/usr/bin/chromium",
                  "/usr/bin/chromium-browser", shutil.which("chromium") or None]
    with contextlib.suppress(Exception):  # Playwright without a downloaded browser
        candidates.append(playwright.chromium.executable_path)
    for path in candidates:
        if path and Path(path).exists():
            return path
    pytest.fail("No Chromium for the browser tests. Install one: `sudo apt-get install "
                "chromium` (Debian/Ubuntu), or `python -m playwright install chromium`; or "
                "set PORTAL_CHROMIUM to a Chromium executable.", pytrace=False)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright),
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclasses.dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture
def database_url(tmp_path, sqlite_template) -> str:
    """Browser tests run on SQLite only: they check pages, not the database. What
    PostgreSQL does differently (row locks, triggers, concurrency) is covered by the
    integration suite, which runs every test on both."""
    path = tmp_path / "portal.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def live_app(config, smtp_sink):
    """The app under test, e-mailing through the SMTP sink."""
    application = create_app(dataclasses.replace(config, smtp_url=smtp_sink.url))
    yield application
    application.extensions["portal.db"].dispose()


@pytest.fixture
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["PORTAL"] = dataclasses.replace(live_app.config["PORTAL"], base_url=url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=url, app=live_app)
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page_factory(chromium):
    contexts = []

    def make(width: int = 1280, height: int = 900, locale: str = "en-US"):
        context = chromium.new_context(viewport={"width": width, "height": height},
                                       locale=locale)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot for people to look at; return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


from tests.e2e.demo import demo  # noqa: E402, F401  (the fixture, for every e2e test)
