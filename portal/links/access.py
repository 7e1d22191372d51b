"""What a link grants a browser: one invoice, for a short while — never a sign-in.

Pressing "View invoice" on a link's landing page (a POST) puts a grant in
Flask's signed session cookie: ``{"link": id, "invoice": id, "until": epoch}``.
It is not a login: Flask-Login's ``current_user`` stays anonymous, no
``portal_user_sessions`` row is made, and every other page ignores it. The
grant's one home is :func:`granted_link`: the link must still be live (not
revoked, not expired) and reach the granted invoice, so revoking a link ends
its grants too. A browser holds one grant at a time; the newest wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import current_app, session
from sqlalchemy.orm import Session

from portal.ledger.models import utcnow
from portal.links import services
from portal.links.models import InvoiceLink

GRANT_KEY = "invoice_link"
GRANT_MINUTES = 30


def start_grant(link: InvoiceLink, now: dt.datetime | None = None) -> None:
    """Let this browser see ``link``'s invoice for :data:`GRANT_MINUTES` minutes."""
    until = (now or utcnow()) + dt.timedelta(minutes=GRANT_MINUTES)
    session[GRANT_KEY] = {"link": link.id, "invoice": link.invoice_id,
                          "until": int(until.timestamp())}


def granted_link(db_session: Session, now: dt.datetime | None = None) -> InvoiceLink | None:
    """Return the live link this browser's grant names, or None (no grant, ended, revoked)."""
    now = now or utcnow()
    grant = session.get(GRANT_KEY)
    if not isinstance(grant, dict):
        return None
    try:
        link_id, invoice_id, until = int(grant["link"]), int(grant["invoice"]), \
            int(grant["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if until <= now.timestamp():
        return None
    return services.live_link(db_session, link_id, invoice_id, now)


def form_token(token: str) -> str:
    """Return the landing form's CSRF token for ``token``: an HMAC, kept in no cookie.

    Flask-WTF keeps its token in the session, which would set a cookie on the
    GET; this one is derived from the app's secret key and the link instead, so
    the landing page sets none and a form from another site cannot forge it.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = b"portal.links.view|" + hashlib.sha256(token.encode()).hexdigest().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def form_token_ok(token: str, sent: str | None) -> bool:
    """Tell whether ``sent`` is the landing form's CSRF token for ``token``."""
    return isinstance(sent, str) and hmac.compare_digest(form_token(token), sent)
