"""Shared fixtures: a fresh, migrated database per test, on SQLite and (when
``PORTAL_TEST_DATABASE_URL`` names a PostgreSQL server) on PostgreSQL too.

Each test gets its own database, copied from a template migrated once per run,
so tests that commit (and the append-only journal, which refuses the DELETEs
a cleanup would need) never leak into one another:

- SQLite: the template file is copied;
- PostgreSQL: ``CREATE DATABASE ... TEMPLATE ...``, dropped after the test.

Tests that take the ``db`` fixture run once per backend; the PostgreSQL runs
carry the ``postgres`` marker, so ``pytest -m postgres`` is the PostgreSQL suite.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.app import create_app
from portal.config import Config, normalize_database_url
from portal.db import Database
from portal.schema import upgrade

# The local Stripe (localstripe) and Stripe.js's calls, for every test that asks for them.
pytest_plugins = ["tests.stripe_fixtures", "tests.plaid_fixtures"]

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
_counter = itertools.count()


def pytest_report_header(config):
    redis_url = os.environ.get("PORTAL_TEST_REDIS_URL")
    redis_line = (f"Redis/Celery tests: on ({redis_url})" if redis_url
                  else "Redis/Celery tests: off (set PORTAL_TEST_REDIS_URL to run them)")
    if PG_URL:
        shown = make_url(PG_URL).render_as_string(hide_password=True)
        return [redis_line, f"PostgreSQL suite: on ({shown})"]
    return [redis_line, "PostgreSQL suite: off (set PORTAL_TEST_DATABASE_URL to run it)"]


def pytest_collection_modifyitems(config, items):
    # Tests of the production set-up's services run only where they are named.
    needs = {"postgres": PG_URL, "redis": os.environ.get("PORTAL_TEST_REDIS_URL", "")}
    kept, dropped = [], []
    for item in items:
        missing = any(item.get_closest_marker(m) and not url for m, url in needs.items())
        (dropped if missing else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class PostgresServer:
    """Creates and drops the run's PostgreSQL databases."""

    def __init__(self, url: str) -> None:
        self.url = make_url(normalize_database_url(url))
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.prefix = f"portal_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_tpl"
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in reversed(self.created):
            self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def new_sqlite_url(sqlite_template, tmp_path_factory):
    """A function that makes a fresh, migrated, empty SQLite database and returns its URL.

    For tests that need several databases, such as one per Hypothesis example.
    """
    directory = tmp_path_factory.mktemp("fresh")
    numbers = itertools.count()

    def make() -> str:
        path = directory / f"portal-{next(numbers)}.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture(scope="session")
def postgres_server():
    if not PG_URL:
        pytest.fail("this test needs PostgreSQL: set PORTAL_TEST_DATABASE_URL")
    server = PostgresServer(PG_URL)
    upgrade(server.create(server.template))
    yield server
    server.close()


def _backend_params():
    return [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backend_params())
def database_url(request, tmp_path) -> str:
    """A fresh, migrated, empty database for this test; its URL."""
    if request.param == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"{server.prefix}_{next(_counter)}"
    url = server.create(name, template=server.template)
    request.addfinalizer(lambda: server.drop(name))
    return url


@pytest.fixture
def db(database_url):
    """A :class:`portal.db.Database` on this test's fresh database."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(params=[pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def pg_database_url(request) -> str:
    """A fresh, migrated, empty PostgreSQL database, for tests of what only it does.

    Row locks and the deferred balance trigger exist only there, so such tests take
    this fixture instead of ``database_url`` and run in the ``postgres`` suite only.
    """
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"{server.prefix}_{next(_counter)}"
    url = server.create(name, template=server.template)
    request.addfinalizer(lambda: server.drop(name))
    return url


@pytest.fixture
def pg_db(pg_database_url):
    """A :class:`portal.db.Database` on a fresh PostgreSQL database."""
    database = Database(pg_database_url)
    yield database
    database.dispose()


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    # "owasp" argon2id parameters: secure, and fast enough for a test suite.
    return Config(database_url=database_url, secret_key="test-secret",
                  instance_path=tmp_path / "instance", testing=True,
                  password_hash="owasp").with_defaults()


@pytest.fixture
def app(config):
    application = create_app(config)
    yield application
    application.extensions["portal.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                sink.messages.append(email.message_from_bytes(envelope.content,
                                                              policy=policy.default))
                return "250 OK"

        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list:
        """Messages sent to ``address``."""
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def text(message) -> str:
        """The plain-text body of a message."""
        return message.get_body(preferencelist=("plain",)).get_content()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.stop()
