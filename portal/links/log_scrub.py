"""Keep link tokens out of logs: ``/i/<token>`` is logged as ``/i/<8 hex of its SHA-256>``.

Access logs (werkzeug's server in ``portal demo``, gunicorn's ``gunicorn.access``)
write each request line, and a token in a log is a key to an invoice for whoever
reads the log. :func:`install` puts :class:`TokenScrubber` on those loggers (and
the portal's own), whatever their format: the filter rewrites the record's
message and its arguments in place, so gunicorn's ``--access-logformat`` and
custom formatters see the scrubbed values. The hash prefix still lets an
operator match log lines to each other (and, hashing a known token, to a link).

The paths a grant uses (``/i/invoice``, ``/i/invoice.pdf``) hold no token and
are left as they are.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import MutableMapping

# A path segment after /i/: up to the next slash, query, fragment, quote or space.
TOKEN_PATH = re.compile(r"/i/([^/\s?#\"'<>]+)")
NOT_TOKENS = frozenset({"invoice", "invoice.pdf"})
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "portal", "portal.mail")


def _hashed(match: re.Match) -> str:
    segment = match.group(1)
    if segment in NOT_TOKENS:
        return match.group(0)
    return "/i/" + hashlib.sha256(segment.encode()).hexdigest()[:8]


def scrub(text: str) -> str:
    """Return ``text`` with every ``/i/<token>`` replaced by ``/i/<hash prefix>``."""
    return TOKEN_PATH.sub(_hashed, text) if "/i/" in text else text


class TokenScrubber(logging.Filter):
    """A logging filter that scrubs link tokens from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        args = record.args
        if isinstance(args, MutableMapping):  # gunicorn's access atoms: keep the object
            for key, value in list(args.items()):
                if isinstance(value, str):
                    args[key] = scrub(value)
        elif isinstance(args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in args)
        return True


def install(logger_names: tuple[str, ...] = LOGGERS) -> None:
    """Put one :class:`TokenScrubber` on each named logger (again: no change)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenScrubber) for f in logger.filters):
            logger.addFilter(TokenScrubber())
