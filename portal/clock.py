"""The portal's "now": the real time, or a fixed moment set by ``PORTAL_CLOCK``.

A fixed clock is how demos, screenshots and tests show the pages on a chosen
day (which invoices are overdue, which discounts are open) without touching
the code that decides it. It moves only when the setting changes; production
leaves it empty.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context


def parse(raw: str) -> dt.datetime:
    """Return the moment ``raw`` (ISO 8601; a date means its noon UTC) names, aware, in UTC.

    Raises ValueError for anything else.
    """
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time: {raw!r}") from None
    if len(raw.strip()) == 10:  # a bare date
        moment = moment.replace(hour=12)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def now() -> dt.datetime:
    """Return the current moment (aware, UTC): the configured clock inside the app, else real."""
    if has_app_context():
        fixed = current_app.config["PORTAL"].clock
        if fixed:
            return parse(fixed)
    return dt.datetime.now(dt.UTC)
