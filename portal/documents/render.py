"""WeasyPrint glue: document data in, PDF bytes out.

The functions here take plain data (:mod:`portal.documents.content`), fill the
templates in ``templates/documents/`` and return PDF bytes. They need an app
context (the Jinja environment with Flask-Babel's gettext and the ``money`` and
``date`` filters) and format for the current locale; they never touch the
database, so callers can end their transaction first.

Templates are rendered with the environment directly rather than
``render_template``: the app's context processors would read the vendor from
the database again, and a document shows only what it is given.

Security: the only resources a document can load are files under the
project's ``static/`` folder (:class:`StaticFileFetcher`); any other URL,
``http(s)`` included, is refused, so a PDF never makes a network request.

Nothing is cached between renders except the parsed stylesheet, which is the
same static file for every customer.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import format_percent
from flask import current_app
from flask_babel import get_locale, ngettext
from markupsafe import Markup
from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.config import PROJECT_ROOT
from portal.documents.content import InvoiceContent, Letterhead, StatementContent
from portal.vendor.models import Vendor

STATIC_ROOT = PROJECT_ROOT / "static"
STYLESHEET = "css/documents.css"
# Stand-ins for the page counters inside a translated "Page %(page)s of %(pages)s".
_COUNTERS = {"\x00page\x00": "counter(page)", "\x00pages\x00": "counter(pages)"}


class AssetRefused(ValueError):
    """A document asked for something outside the static folder, or not a file there."""


class StaticFileFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves files under ``root`` and nothing else.

    Only ``file:`` URLs whose resolved path (symbolic links followed) lies
    inside ``root`` are read; ``http``, ``https``, ``data`` and every other
    scheme are refused without any I/O.
    """

    def __init__(self, root: Path = STATIC_ROOT) -> None:
        super().__init__(allowed_protocols=("file",))
        self.root = root.resolve()

    def path_of(self, url: str) -> Path:
        """Return the file ``url`` names under the root, or raise :class:`AssetRefused`."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise AssetRefused(f"documents load files from static/ only, not {url!r}")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise AssetRefused(f"{url!r} is not a file in static/")
        return path

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Return the static file ``url`` names; refuse anything else."""
        path = self.path_of(url)
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                  headers={"Content-Type": mime_type})


def vendor_locale(vendor: Vendor) -> str:
    """Return the vendor's locale, from the country of its time zone (``en_US``).

    The profile has no locale of its own; its time zone names where it does
    business. Falls back to ``en`` when the zone has no country (``UTC``).
    """
    territory = get_global("zone_territories").get(vendor.timezone)
    if not territory:
        return "en"
    try:
        return str(Locale.parse(f"und_{territory}"))
    except (UnknownLocaleError, ValueError):
        return "en"


def paper_size(vendor: Vendor) -> str:
    """Return the CSS page size for the vendor's documents: Letter for en_US, else A4."""
    return "letter" if vendor_locale(vendor) == "en_US" else "A4"


def render_invoice(content: InvoiceContent, letterhead: Letterhead, *, paper: str) -> bytes:
    """Return the PDF of one invoice."""
    return render_invoices([content], letterhead, paper=paper)


def render_invoices(contents: Sequence[InvoiceContent], letterhead: Letterhead, *,
                    paper: str) -> bytes:
    """Return one PDF of several invoices, each starting on a new page.

    Each invoice is laid out on its own, so its pages are numbered "Page X of
    Y" within the invoice; the pages are then written as one document.
    """
    if not contents:
        raise ValueError("no invoices to render")
    # One font configuration for all of them: setting one up is a third of a small
    # invoice's layout time. It holds fonts, not content, and lives for this call only.
    fonts = FontConfiguration()
    documents = [_layout("documents/invoice.html", fonts, letterhead=letterhead, paper=paper,
                         invoice=content) for content in contents]
    merged = documents[0].copy([page for document in documents for page in document.pages])
    if len(documents) > 1:
        # The first invoice's title would name one invoice; each keeps its bookmark.
        merged.metadata.title = ngettext("%(num)d invoice", "%(num)d invoices",
                                         len(documents)) + f" · {letterhead.name}"
    return merged.write_pdf()


def render_statement(content: StatementContent, letterhead: Letterhead, *,
                     paper: str) -> bytes:
    """Return the PDF of a statement of account."""
    return _layout("documents/statement.html", FontConfiguration(), letterhead=letterhead,
                   paper=paper, statement=content).write_pdf()


def render_document(template: str, letterhead: Letterhead, *, paper: str,
                    **context: Any) -> bytes:
    """Lay out another document (a receipt, say) from ``templates/<template>`` exactly like
    the invoices: the same static-file fetcher, stylesheet, letterhead and page counter."""
    return _layout(template, FontConfiguration(), letterhead=letterhead, paper=paper,
                   **context).write_pdf()


def _layout(template: str, fonts: FontConfiguration, **context: Any) -> Document:
    """Render ``template`` to HTML and lay it out (a WeasyPrint document)."""
    html = current_app.jinja_env.get_template(template).render(
        **context, percent=_percent, page_counter=_page_counter,
        PAGE="\x00page\x00", PAGES="\x00pages\x00")
    fetcher = StaticFileFetcher()
    return HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher).render(
        stylesheets=[_stylesheet()], font_config=fonts)


@cache
def _stylesheet() -> CSS:
    """The documents' stylesheet, parsed once: a static file, the same for everyone."""
    url = (STATIC_ROOT / STYLESHEET).as_uri()
    return CSS(url=url, url_fetcher=StaticFileFetcher())


def _locale() -> str:
    return str(get_locale() or "en")


def _percent(value: Decimal) -> str:
    """Format a percentage held as a Decimal of percent (``Decimal("2.00")`` -> ``2%``)."""
    return format_percent(value / Decimal(100), "#,##0.##%", locale=_locale())


def _page_counter(text: str) -> Markup:
    """Turn a translated "Page \\0page\\0 of \\0pages\\0" into a CSS ``content`` value."""
    pieces: list[str] = []
    rest = str(text)
    while rest:
        token = min(((rest.find(t), t) for t in _COUNTERS if t in rest), default=None)
        if token is None:
            pieces.append(_css_string(rest))
            break
        at, name = token
        if at:
            pieces.append(_css_string(rest[:at]))
        pieces.append(_COUNTERS[name])
        rest = rest[at + len(name):]
    return Markup(" ".join(pieces))


def _css_string(text: str) -> str:
    """Quote ``text`` as a CSS string that cannot end the string or the style element."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\<>\n' else ch for ch in text)
    return f'"{escaped}"'
