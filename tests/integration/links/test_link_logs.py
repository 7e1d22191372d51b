"""Link tokens never reach a log: access log lines show /i/<8 hex of the token's SHA-256>."""

from __future__ import annotations

import hashlib
import logging

from portal.links import log_scrub

TOKEN = "Zx3-q_9" + "a" * 36


def short(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def record(logger: str, msg: str, args) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.INFO, __file__, 1, msg, args, None)


def test_scrub_replaces_tokens_and_leaves_the_grant_paths():
    line = (f'127.0.0.1 - - "GET /i/{TOKEN} HTTP/1.1" 200 "http://portal.test/i/{TOKEN}?a=1" '
            '"GET /i/invoice HTTP/1.1" "GET /i/invoice.pdf HTTP/1.1"')
    scrubbed = log_scrub.scrub(line)
    assert TOKEN not in scrubbed
    assert scrubbed.count(f"/i/{short(TOKEN)}") == 2
    assert "/i/invoice HTTP" in scrubbed and "/i/invoice.pdf HTTP" in scrubbed
    assert log_scrub.scrub("GET /invoices/A-1 HTTP/1.1") == "GET /invoices/A-1 HTTP/1.1"


def test_werkzeug_access_log_records_are_scrubbed():
    # werkzeug's dev server: _log("info", '%s - - [%s] %s\n', address, date, '"GET ..." 200 -')
    entry = record("werkzeug", '%s - - [%s] %s', ("127.0.0.1", "02/Dec/2026 01:00:00",
                                                   f'"POST /i/{TOKEN} HTTP/1.1" 303 -'))
    assert log_scrub.TokenScrubber().filter(entry) is True
    message = entry.getMessage()
    assert TOKEN not in message and f"/i/{short(TOKEN)} HTTP/1.1" in message


def test_gunicorn_access_log_records_are_scrubbed_whatever_the_format():
    # gunicorn: access_log.info(cfg.access_log_format, atoms), atoms a dict subclass.
    class Atoms(dict):
        def __getitem__(self, key):
            return super().__getitem__(key) if key in self else "-"

    atoms = Atoms({"h": "10.0.0.1", "r": f"GET /i/{TOKEN} HTTP/1.1", "U": f"/i/{TOKEN}",
                   "f": f"https://portal.test/i/{TOKEN}", "s": "200"})
    entry = record("gunicorn.access", '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s %({x-missing}i)s',
                   (atoms,))
    log_scrub.TokenScrubber().filter(entry)
    message = entry.getMessage()
    assert TOKEN not in message and message.count(short(TOKEN)) == 3
    assert entry.args is atoms and message.endswith(" -")  # the same object, still lenient


def test_the_app_installs_the_filter_on_the_access_loggers(app, caplog):
    for name in ("werkzeug", "gunicorn.access", "portal.mail"):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, log_scrub.TokenScrubber) for f in filters) == 1, name
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1",
                                           f"GET /i/{TOKEN} HTTP/1.1", 200)
    assert TOKEN not in caplog.text and short(TOKEN) in caplog.text
