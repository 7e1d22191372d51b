"""Bank accounts for ACH debits, and the debit authorizations payers accepted (``portal_*``).

- :class:`BankAccount` — a customer account's bank account at Stripe: a verified
  bank account made from a Plaid-minted token (``ba_...``), or a ``us_bank_account``
  PaymentMethod (``pm_...``) entered by hand and verified by micro-deposits. What
  may be shown (bank, last four, type, holder) and its state; the Plaid access
  token encrypted (:mod:`portal.core.secrets`), never shown or logged. Never the
  account or routing number: those stay at Stripe (and Plaid).
- :class:`AchAuthorization` — each time a payer accepted a debit authorization
  (NACHA): the exact text shown and its version, who, when, from which IP and
  browser, for which amount and payment; what Stripe got as the mandate's
  customer acceptance, and the mandate it made.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime
from portal.ledger.models import Amount, BigId, utcnow

# A bank account's states.
VERIFIED = "verified"  # may be debited
PENDING_VERIFICATION = "pending_verification"  # micro-deposits sent, amounts not entered yet
VERIFICATION_FAILED = "verification_failed"  # too many wrong tries: add it again
REMOVED = "removed"
# Linked with Plaid by someone paying through an invoice link, for that one debit: never
# listed with the account's bank accounts nor offered again, and no Plaid token is kept.
ONE_OFF = "one_off"
# Not the account's own bank accounts: what the bank account pages leave out.
NOT_SAVED = (REMOVED, ONE_OFF)


class BankAccount(Base):
    """A bank account a customer account may pay from (by ACH debit through Stripe)."""

    __tablename__ = "portal_bank_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    # The Stripe object debited: ba_... (from Plaid) or pm_... (entered, micro-deposits).
    stripe_id: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # plaid or manual
    status: Mapped[str] = mapped_column(String(24))
    bank_name: Mapped[str | None] = mapped_column(String(120))
    last4: Mapped[str] = mapped_column(String(4))
    account_type: Mapped[str | None] = mapped_column(String(24))  # checking, savings
    holder_name: Mapped[str | None] = mapped_column(String(120))
    # Plaid: the Item and its access token, encrypted (PORTAL_BANK_TOKEN_KEY).
    plaid_item_id: Mapped[str | None] = mapped_column(String(255))
    plaid_access_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Micro-deposits: the SetupIntent to verify, when they arrive, the tries left.
    setup_intent_id: Mapped[str | None] = mapped_column(String(255))
    microdeposits_arrive_on: Mapped[dt.date | None] = mapped_column()
    microdeposit_type: Mapped[str | None] = mapped_column(String(24))  # amounts, descriptor_code
    verify_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mandate_id: Mapped[str | None] = mapped_column(String(255))
    # The Stripe customer it is attached to, when not the account's own (a one-off account
    # lives on a Stripe customer of its own, so the account's never sees it).
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AchAuthorization(Base):
    """A debit authorization a payer accepted: the text, its version, who, when, where from."""

    __tablename__ = "portal_ach_authorizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("portal_bank_accounts.id"),
                                                 index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("ar_payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # debit, setup (verify) or plan (autopay)
    # A plan's autopay authorization: every installment of the plan's schedule.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("portal_plans.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    accepted_by: Mapped[str] = mapped_column(String(255))  # the name and e-mail shown in it
    text_version: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(500))
    mandate_id: Mapped[str | None] = mapped_column(String(255))
