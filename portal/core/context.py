"""Values every template sees: the vendor's profile (name, logo, support contacts)."""

from __future__ import annotations

from flask import Flask, has_request_context

from portal.core.request_db import database, uow
from portal.vendor.services import get_vendor


def _vendor():
    if has_request_context():
        return get_vendor(uow().session)
    with database().session() as session:
        vendor = get_vendor(session)
        session.expunge(vendor) if vendor in session else None
        return vendor


def init_app(app: Flask) -> None:
    """Install the template context processor."""
    app.context_processor(lambda: {"vendor": _vendor()})
