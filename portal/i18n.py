"""Languages and formats: Flask-Babel set-up and the money/date filters templates use.

The language is the user's own setting, else the browser's Accept-Language,
else English. Money is formatted by Babel for that locale in the amount's own
currency; templates never format numbers themselves.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_group_symbol,
    parse_decimal,
)
from flask import Flask, has_request_context, request
from flask_babel import Babel, format_date, get_locale
from flask_babel import lazy_gettext as _l

from portal.money import Money, minor_exponent

LANGUAGES = ("en", "es", "fr")
# Each language named in itself, for the switch in the footer.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}
# Remembers the language chosen in the footer on this browser (also before sign-in).
LANGUAGE_COOKIE = "portal_language"
COOKIE_SECONDS = 365 * 24 * 3600

# What each role is called, customers' and the vendor staff's.
ROLE_NAMES = {"admin": _l("Admin"), "payer": _l("Payer"), "viewer": _l("Viewer"),
              "ar_admin": _l("AR admin"), "collector": _l("Collector")}

# Amounts in the portal's own links and fields: digits, optionally a point and 1-2 decimals.
CANONICAL_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")
SPACES = re.compile(r"[ \u00a0\u202f]")
AMOUNT_CHARACTERS = re.compile(r"[-+]?[\d.,' \u00a0\u202f\u2019]+")

babel = Babel()


def reader_locale(value: str | None) -> str:
    """The language to write to someone in: their stored setting if the portal speaks it,
    else English (for e-mails, which have no request to ask)."""
    return value if value in LANGUAGES else "en"


def select_locale() -> str:
    """Pick the request's language: the user's setting, the browser's choice here, its headers."""
    from portal.accounts.access import principal

    if not has_request_context():
        return "en"  # a command or a task: no one to ask (e-mails force their reader's)
    who = principal()
    if who is not None and who.user.locale in LANGUAGES:
        return who.user.locale
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def money(minor: int | None, currency: str) -> str:
    """Format minor units of ``currency`` for the current locale (``$1,234.50``)."""
    if minor is None:
        return ""
    return format_currency(Money(minor, currency).to_decimal(), currency,
                           locale=str(get_locale() or "en"))


def amount_input(minor: int, currency: str) -> str:
    """Minor units as a payer types them in their language, without a currency sign
    ("1,250.00", "1 250,00"): the value of an amount field, read back by :func:`parse_amount`."""
    exponent = minor_exponent(currency)
    pattern = "#,##0" + ("." + "0" * exponent if exponent else "")
    return format_decimal(Money(minor, currency).to_decimal(), format=pattern,
                          locale=str(get_locale() or "en"))


def number(value: int) -> str:
    """Format a count for the current locale ("1,000", "1 000", "1.000")."""
    return format_decimal(value, locale=str(get_locale() or "en"))


def date(value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
    """Format a date for the current locale."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_date(value, fmt)


def N_(message: str) -> str:
    """Mark ``message`` for extraction, untranslated: it is stored, and translated when shown."""
    return message


def role_name(role: str | None) -> str:
    """The role's name in the current language (the code itself if unknown)."""
    return str(ROLE_NAMES.get(role, role or ""))


def parse_amount(text: str, locale: str) -> Decimal:
    """Read an amount as the user wrote it in their language ("1,250.00", "1 250,00").

    The canonical form the portal puts in its own links and fields (digits, at most
    two decimals after a point) is read as such in every language; anything else is
    parsed strictly for ``locale``, so "12.500" in Spanish is 12500 and a misplaced
    separator is an error, never a different amount. Raises InvalidOperation.
    """
    text = text.strip()
    if not AMOUNT_CHARACTERS.fullmatch(text):  # no exponents, words or currency signs
        raise InvalidOperation
    if CANONICAL_AMOUNT.fullmatch(text):
        value = Decimal(text)
    else:
        group = get_group_symbol(locale)
        if group.isspace():  # people type a plain space where the locale groups with another
            text = SPACES.sub(group, text)
        try:
            value = parse_decimal(text, locale=locale, strict=True)
        except NumberFormatError:
            raise InvalidOperation from None
    if not value.is_finite():
        raise InvalidOperation
    return value


def init_app(app: Flask) -> None:
    """Install Flask-Babel and the template filters."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["role_name"] = role_name
    app.jinja_env.filters["amount_input"] = amount_input
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
