""""Send me a fresh link": a dead link's page offers a new one, to known addresses only.

A payer whose link expired (or was replaced) types their e-mail address on the
dead-link page. If the old link is one the portal made and the address is a
known contact of that invoice's customer (a billing contact the ERP sent, or a
portal user of that account), a new link to the same invoice is made (default
expiry) and e-mailed to that address — never shown on the page. Whatever the
case, the page gives the same answer, so it tells nobody which addresses or
links exist; requests are rate-limited per IP and per link (:mod:`.views`).
Each request about a link the portal knows is audited (sent or not).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts import audit
from portal.accounts.audit import Origin
from portal.accounts.models import Membership, User
from portal.ledger.models import CustomerContact
from portal.links import services
from portal.links.models import InvoiceLink

CREATED_BY = "fresh-link"


def known_address(session: Session, customer_id: int, email: str) -> bool:
    """Tell whether ``email`` is a billing contact or an active user of the customer."""
    wanted = email.strip().lower()
    contact = session.scalar(select(CustomerContact.id).where(
        CustomerContact.customer_id == customer_id,
        func.lower(CustomerContact.email) == wanted))
    if contact is not None:
        return True
    user = session.scalar(select(User.id).join(Membership, Membership.user_id == User.id).where(
        Membership.customer_id == customer_id, func.lower(User.email) == wanted,
        User.disabled_at.is_(None)))
    return user is not None


def request_fresh(session: Session, token: str, email: str, *,
                  origin: Origin) -> tuple[InvoiceLink, str] | None:
    """Make a fresh link for the invoice of the (dead) ``token`` if ``email`` may have one.

    Returns the new link and its token (for the caller to e-mail after commit), or
    None — for an unknown token, an unknown address or a malformed one alike.
    """
    old = services.find_any(session, token)
    if old is None:
        return None
    invoice = old.invoice
    if not known_address(session, invoice.customer_id, email):
        audit.record(session, "link.fresh_refused", origin=origin,
                     customer_id=invoice.customer_id, subject=invoice.number,
                     detail=f"link={old.id}: the address typed is not a known contact")
        return None
    try:
        return services.create(session, invoice, expires_days=None, email=email,
                               created_by=CREATED_BY, origin=origin)
    except services.LinkError:
        return None
