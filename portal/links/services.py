"""Invoice links: create, find, revoke and list the ``/i/<token>`` links to one invoice.

Rules kept here (the views and the CLI only call these functions):

- A token is ``secrets.token_urlsafe(32)`` (256 random bits). Only its SHA-256
  hex digest is stored; :func:`create` returns the token once, to print or
  e-mail, and nothing can show it again.
- :func:`find` answers None for a token that is unknown, malformed, expired or
  revoked alike, so a caller cannot tell a guess from a dead link.
- Default expiry: the end of the 30th day after the invoice's due date (the
  vendor's time zone), but at least :data:`MIN_DEFAULT_DAYS` and at most
  :data:`MAX_DAYS` days from now, so an old overdue invoice still gets a link
  that works and no link lives longer than 120 days.
- Times are real UTC time, not the demo clock (``PORTAL_CLOCK``): expiry is a
  security limit, like a session's.

Services never commit; the caller's unit of work does, and e-mail goes out after.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.accounts import audit
from portal.accounts.audit import Origin
from portal.accounts.auth import normalize_email
from portal.accounts.credentials import new_token, token_hash
from portal.disputes.models import Dispute
from portal.ledger.models import Invoice, Payment, utcnow
from portal.links.models import InvoiceLink, LinkPayment
from portal.vendor.services import get_vendor

MIN_DAYS, MAX_DAYS = 1, 120
DAYS_AFTER_DUE = 30
MIN_DEFAULT_DAYS = 14
# What secrets.token_urlsafe(32) makes: 43 characters of the URL-safe base64 alphabet.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
PATH_PREFIX = "/i/"


class LinkError(ValueError):
    """A link that cannot be made or changed as asked; the message says why."""


class LinkNotFound(LinkError):
    """No link with that id."""


def create(session: Session, invoice: Invoice, *, expires_days: int | None,
           email: str | None, created_by: str, origin: Origin | None = None,
           now: dt.datetime | None = None) -> tuple[InvoiceLink, str]:
    """Make a link to ``invoice``; return the row and the token (shown only now)."""
    now = now or utcnow()
    if expires_days is not None and not MIN_DAYS <= expires_days <= MAX_DAYS:
        raise LinkError(f"A link expires after {MIN_DAYS} to {MAX_DAYS} days, "
                        f"not {expires_days}.")
    sent_to = None
    if email is not None:
        sent_to = normalize_email(email)
        if "@" not in sent_to or len(sent_to) > 254 or any(c.isspace() for c in sent_to):
            raise LinkError(f"{email!r} is not an e-mail address.")
    token = new_token()
    link = InvoiceLink(invoice_id=invoice.id, token_hash=token_hash(token), created_at=now,
                       created_by=created_by, sent_to=sent_to,
                       expires_at=expiry(session, invoice, expires_days, now))
    session.add(link)
    session.flush()
    audit.record(session, "link.created", origin=origin or Origin(), actor_email=created_by,
                 customer_id=invoice.customer_id, subject=invoice.number,
                 detail=f"link={link.id}" + (f" sent_to={sent_to}" if sent_to else ""))
    return link, token


def expiry(session: Session, invoice: Invoice, expires_days: int | None,
           now: dt.datetime) -> dt.datetime:
    """Return when a new link to ``invoice`` expires (see the module docstring)."""
    if expires_days is not None:
        return now + dt.timedelta(days=expires_days)
    zone = get_vendor(session).zone
    last_day = invoice.due_date + dt.timedelta(days=DAYS_AFTER_DUE)
    end_of_day = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(),
                                     tzinfo=zone).astimezone(dt.UTC)
    return min(max(end_of_day, now + dt.timedelta(days=MIN_DEFAULT_DAYS)),
               now + dt.timedelta(days=MAX_DAYS))


def last_day(link: InvoiceLink, zone: dt.tzinfo) -> dt.date:
    """Return the last day (in ``zone``) on which ``link`` works, as people are told."""
    return (link.expires_at - dt.timedelta(microseconds=1)).astimezone(zone).date()


def find(session: Session, token: str | None,
         now: dt.datetime | None = None) -> InvoiceLink | None:
    """Return the live link of ``token``; None if unknown, malformed, expired or revoked."""
    link = find_any(session, token)
    return link if link is not None and link.is_live(now or utcnow()) else None


def find_any(session: Session, token: str | None) -> InvoiceLink | None:
    """Return the link of ``token``, live or not (for "send me a fresh link"); None if
    unknown or malformed."""
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        return None
    wanted = token_hash(token)
    link = session.scalar(select(InvoiceLink).options(joinedload(InvoiceLink.invoice))
                          .where(InvoiceLink.token_hash == wanted))
    if link is None or not hmac.compare_digest(link.token_hash, wanted):
        return None
    return link


def live_link(session: Session, link_id: int, invoice_id: int,
              now: dt.datetime | None = None) -> InvoiceLink | None:
    """Return link ``link_id`` if it is live and reaches ``invoice_id``, else None."""
    link = session.get(InvoiceLink, link_id)
    if link is None or link.invoice_id != invoice_id or not link.is_live(now or utcnow()):
        return None
    return link


def record_view(session: Session, link: InvoiceLink, *, origin: Origin,
                now: dt.datetime | None = None) -> None:
    """Note that someone opened the invoice through ``link`` (audit event and last view)."""
    link.last_viewed_at = now or utcnow()
    record_use(session, link, "link.viewed", origin=origin)


def record_use(session: Session, link: InvoiceLink, action: str, *, origin: Origin,
               payment_id: int | None = None, dispute_id: int | None = None) -> None:
    """Add an audit event for something done through ``link`` (on its invoice's customer)."""
    invoice = link.invoice
    detail = f"link={link.id}" + (f" payment={payment_id}" if payment_id else "") + (
        f" dispute={dispute_id}" if dispute_id else "")
    audit.record(session, action, origin=origin, customer_id=invoice.customer_id,
                 subject=invoice.number, detail=detail)


def revoke(session: Session, link_id: int, *, by: str, origin: Origin | None = None,
           now: dt.datetime | None = None) -> InvoiceLink:
    """Stop link ``link_id`` from working (again: no change); raise LinkNotFound."""
    link = session.get(InvoiceLink, link_id)
    if link is None:
        raise LinkNotFound(f"There is no link {link_id}.")
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = now or utcnow(), by
        audit.record(session, "link.revoked", origin=origin or Origin(), actor_email=by,
                     customer_id=link.invoice.customer_id, subject=link.invoice.number,
                     detail=f"link={link.id}")
    return link


def live_links(session: Session, customer_id: int,
               now: dt.datetime | None = None) -> list[InvoiceLink]:
    """Return the customer's links that still work, newest first."""
    return list(session.scalars(
        select(InvoiceLink).join(Invoice, Invoice.id == InvoiceLink.invoice_id)
        .options(joinedload(InvoiceLink.invoice))
        .where(Invoice.customer_id == customer_id, InvoiceLink.revoked_at.is_(None),
               InvoiceLink.expires_at > (now or utcnow()))
        .order_by(InvoiceLink.created_at.desc(), InvoiceLink.id.desc())))


def url(base_url: str, token: str) -> str:
    """Return the address a person opens: ``<base_url>/i/<token>``."""
    return base_url.rstrip("/") + PATH_PREFIX + token


def payments_through_links(session: Session, invoice_id: int) -> list[Payment]:
    """Return the payments started through any link to invoice ``invoice_id``, newest first."""
    return list(session.scalars(
        select(Payment).join(LinkPayment, LinkPayment.payment_id == Payment.id)
        .join(InvoiceLink, InvoiceLink.id == LinkPayment.link_id)
        .where(InvoiceLink.invoice_id == invoice_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())))


def disputes_through_links(session: Session, invoice_id: int) -> list[Dispute]:
    """Return the disputes opened through any link to invoice ``invoice_id``, newest first."""
    return list(session.scalars(
        select(Dispute).join(InvoiceLink, InvoiceLink.id == Dispute.link_id)
        .where(InvoiceLink.invoice_id == invoice_id)
        .order_by(Dispute.created_at.desc(), Dispute.id.desc())))
