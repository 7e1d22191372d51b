"""Languages and formats: Flask-Babel set-up and the money/date filters templates use.

The language is the user's own setting, else the browser's Accept-Language,
else English. Money is formatted by Babel for that locale in the amount's own
currency; templates never format numbers themselves.
"""

from __future__ import annotations

import datetime as dt

from babel.numbers import format_currency
from flask import Flask, request
from flask_babel import Babel, format_date, get_locale

from portal.money import Money

LANGUAGES = ("en", "es", "fr")

babel = Babel()


def select_locale() -> str:
    """Pick the request's language."""
    from portal.accounts.access import principal

    who = principal()
    if who is not None and who.user.locale in LANGUAGES:
        return who.user.locale
    return request.accept_languages.best_match(LANGUAGES) or "en"


def money(minor: int | None, currency: str) -> str:
    """Format minor units of ``currency`` for the current locale (``$1,234.50``)."""
    if minor is None:
        return ""
    return format_currency(Money(minor, currency).to_decimal(), currency,
                           locale=str(get_locale() or "en"))


def date(value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
    """Format a date for the current locale."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_date(value, fmt)


def init_app(app: Flask) -> None:
    """Install Flask-Babel and the template filters."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = date
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
