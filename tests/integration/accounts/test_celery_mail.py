"""With a Celery broker configured, e-mail goes through Redis to a real worker
and arrives over SMTP: the same task code as the in-process default."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
import redis

from portal.app import create_app
from portal.notifications import mail

BROKER = os.environ.get("PORTAL_TEST_REDIS_URL", "")
pytestmark = pytest.mark.redis


@pytest.fixture
def celery_app(config, smtp_sink):
    try:
        redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError:
        pytest.fail(f"this test needs Redis at {BROKER} (set PORTAL_TEST_REDIS_URL)")
    redis.Redis.from_url(BROKER).flushdb()
    app = create_app(dataclasses.replace(config, smtp_url=smtp_sink.url,
                                         celery_broker_url=BROKER))
    yield app
    app.extensions["portal.db"].dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_mail_is_sent_by_a_celery_worker(celery_app, smtp_sink):
    from celery.contrib.testing.worker import start_worker

    celery = celery_app.extensions["portal.celery"]
    with celery_app.test_request_context():
        mail.send("password_reset", "clerk@acme.example", link="http://portal.example/r/x",
                  minutes=60)
    assert smtp_sink.messages == []  # queued, not sent in the request
    with start_worker(celery, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        deadline = time.monotonic() + 20
        while not smtp_sink.to("clerk@acme.example") and time.monotonic() < deadline:
            time.sleep(0.1)
    [message] = smtp_sink.to("clerk@acme.example")
    assert message["Subject"] == "Reset your password"
    assert "http://portal.example/r/x" in smtp_sink.text(message)
