"""What the portal keeps of its card payments at Stripe, beside the ledger (``portal_*`` tables).

The ledger's ``ar_payments`` is a contract the ERP reads and only the ledger's
API writes; it keeps money and life cycle. What Stripe tells the portal about a
payment that is not money stays here, owned by :mod:`portal.payments`:

- :class:`StripeEvent` — every webhook event id the portal has handled, so a
  replayed delivery is recognised and does nothing (the id is unique);
- :class:`StripeCustomerLink` — which Stripe customer is a customer account's, so
  every payment and saved card of the account uses the same one;
- :class:`CardPayment` — per card payment: the card's brand and last four (for
  receipts and history), the PaymentIntent status last seen, and an amount Stripe
  reported that disagrees with the payment's (never settled; shown to staff);
- :class:`CheckoutCredit` — account credit a card checkout applies when its
  payment settles, per invoice.

Readers join ``portal_card_payments`` to ``ar_payments`` on ``payment_id``
(docs/ledger.md, "Card details").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime
from portal.ledger.models import Amount, BigId, utcnow


class StripeEvent(Base):
    """A Stripe webhook event the portal has handled (or deliberately ignored), once."""

    __tablename__ = "portal_stripe_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("ar_payments.id"), index=True)
    # What handling it did: settled, failed, reversed, unchanged, unknown_payment, ignored, ...
    outcome: Mapped[str | None] = mapped_column(String(40))


class CardPayment(Base):
    """Stripe's side of one card payment: the card shown on receipts, and any disagreement."""

    __tablename__ = "portal_card_payments"

    payment_id: Mapped[int] = mapped_column(ForeignKey("ar_payments.id"), primary_key=True)
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    intent_status: Mapped[str | None] = mapped_column(String(40))
    # Set when Stripe received another amount (or currency) than the payment's; the
    # payment is then left unsettled for staff to resolve.
    mismatch_amount_minor: Mapped[int | None] = mapped_column(Amount)
    mismatch_currency: Mapped[str | None] = mapped_column(String(3))
    mismatch_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What the checkout stored to charge the card (portal.payments.card_checkout): the
    # page's key (a resubmission finds this payment), the Stripe PaymentMethod (an id,
    # never card data), whether to keep the card, and account credit applied beside it.
    checkout_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    save_card: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    credit_minor: Mapped[int] = mapped_column(Amount, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)


class StripeCustomerLink(Base):
    """The Stripe customer of one customer account (created once, on its first card use)."""

    __tablename__ = "portal_stripe_customers"

    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                    onupdate=utcnow)


class CheckoutCredit(Base):
    """Account credit a card checkout applies to one invoice when its payment settles.

    Written with the payment (:mod:`portal.payments.credit_plan`); ``applied_minor``
    is set by the settlement, and stays None for a payment that never settles.
    """

    __tablename__ = "portal_checkout_credits"

    payment_id: Mapped[int] = mapped_column(ForeignKey("ar_payments.id"), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(Amount)
    discount_minor: Mapped[int] = mapped_column(Amount)  # taken with the credit (card pays 0)
    applied_minor: Mapped[int | None] = mapped_column(Amount)
