"""Reading the PDFs the portal serves, as a user's PDF viewer would: text per page, metadata.

pypdf is pure Python, so the tests need no system tools to read a document.
"""

from __future__ import annotations

import io

from pypdf import PdfReader


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-"), "not a PDF"
    return PdfReader(io.BytesIO(data))


def pages(data: bytes) -> list[str]:
    """The text of each page, laid out roughly as it is printed (rows stay on one line)."""
    return [page.extract_text(extraction_mode="layout") for page in _reader(data).pages]


def text(data: bytes) -> str:
    """All the text of the document, pages joined by newlines."""
    return "\n".join(pages(data))


def title(data: bytes) -> str | None:
    """The document's title, as a viewer shows it in its window."""
    metadata = _reader(data).metadata
    return metadata.title if metadata else None


def page_size(data: bytes) -> tuple[float, float]:
    """Width and height of the first page, in points."""
    box = _reader(data).pages[0].mediabox
    return float(box.width), float(box.height)
