"""Machine endpoints every deployment has: ``/healthz``."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.core.request_db import close_request_uow, uow

bp = Blueprint("core", __name__)
bp.teardown_app_request(close_request_uow)


@bp.get("/healthz")
def healthz():
    """Report whether the app can reach its database."""
    try:
        uow().session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unhealthy"
        return jsonify(status="error", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
