"""The table ``portal_invoice_links``: links that open one invoice without an account.

Invariants:

- The token itself is never stored: only its SHA-256 hex digest (``token_hash``,
  unique), so a copy of the database opens no invoice.
- A link is live while ``revoked_at`` is empty and ``expires_at`` is in the
  future; it reaches ``invoice_id`` and nothing else.
- Rows are never deleted: revoking sets ``revoked_at`` and ``revoked_by``, so
  staff can always see which links existed and when each was last used.
- ``portal_invoice_link_payments`` names each payment started through a link
  (one row per payment): a browser granted a link's invoice sees those payments
  and their receipts, and no other payment of the customer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime
from portal.ledger.models import BigId, Invoice, Payment, utcnow


class InvoiceLink(Base):
    """A shareable link to one invoice: who made it, until when, and its last use."""

    __tablename__ = "portal_invoice_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The staff member's e-mail, or "cli" for `portal link create`.
    created_by: Mapped[str] = mapped_column(String(254))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    # Where the link was e-mailed, if it was.
    sent_to: Mapped[str | None] = mapped_column(String(254))
    last_viewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    invoice: Mapped[Invoice] = relationship()

    def is_live(self, now: dt.datetime) -> bool:
        """Tell whether the link still opens its invoice at ``now``."""
        return self.revoked_at is None and self.expires_at > now


class LinkPayment(Base):
    """A payment started through a link: which link, and who said they were paying."""

    __tablename__ = "portal_invoice_link_payments"

    payment_id: Mapped[int] = mapped_column(ForeignKey("ar_payments.id"), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("portal_invoice_links.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship()
    link: Mapped[InvoiceLink] = relationship()
