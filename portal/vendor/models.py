"""The vendor profile table ``portal_vendor``: one row, the vendor that runs the portal.

Invariants:

- At most one row (its id is always 1; a check constraint says so).
- ``timezone`` is an IANA zone name; it decides discount deadlines and "overdue".
- ``discount_base`` is ``total`` or ``subtotal``: what an early-pay discount is
  a percentage of.
- ``short_pay_reasons`` is a JSON list of ``{"code", "label"}`` objects; the
  codes are what reservations and allocations store as their short-pay reason.

Written only through :func:`portal.vendor.services.update_vendor`, which checks
all of this; read through :func:`portal.vendor.services.get_vendor`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime
from portal.i18n import N_

VENDOR_ID = 1
DISCOUNT_BASES = ("total", "subtotal")
DEFAULT_TIMEZONE = "America/New_York"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# What a payment that leaves a disputed amount unpaid gives as its short-pay reason.
DISPUTED_LABEL = N_("Disputed amount on hold")
# And a payment of an installment plan that pays part of an invoice on the plan.
PLAN_INSTALLMENT_LABEL = N_("Installment of a payment plan")


class Vendor(Base):
    """The vendor's profile: names, logo, remit-to, support contacts and policies."""

    __tablename__ = "portal_vendor"
    __table_args__ = (
        CheckConstraint(f"id = {VENDOR_ID}", name="single_row"),
        CheckConstraint(f"discount_base IN {DISCOUNT_BASES!r}", name="discount_base_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False,
                                    default=VENDOR_ID)
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    # Relative to static/, e.g. "img/vendor-logo.svg".
    logo_path: Mapped[str | None] = mapped_column(String(255))
    # Multi-line postal address printed on invoices and receipts for checks.
    remit_to: Mapped[str | None] = mapped_column(Text)
    support_email: Mapped[str | None] = mapped_column(String(254))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    discount_base: Mapped[str] = mapped_column(String(16), default="total")
    prorate_partial_discounts: Mapped[bool] = mapped_column(Boolean, default=False)
    short_pay_reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Why a customer disputes an invoice: a JSON list of {"code", "label"}, like the above;
    # empty: the defaults (portal.vendor.services.DEFAULT_DISPUTE_REASONS).
    dispute_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # Whether payers (not only account admins) may add and remove bank accounts for ACH.
    payers_manage_bank_accounts: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false())
    # The installment plan policy (portal.plans.schedule.Policy); None: its defaults.
    plan_policy: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=_utcnow,
                                                    onupdate=_utcnow)

    @property
    def zone(self) -> ZoneInfo:
        """The vendor's time zone."""
        return ZoneInfo(self.timezone)

    def dispute_reason_list(self) -> list[dict[str, str]]:
        """The reasons a dispute may give: the vendor's own, else the defaults."""
        from portal.vendor.services import DEFAULT_DISPUTE_REASONS
        return list(self.dispute_reasons or DEFAULT_DISPUTE_REASONS)

    def dispute_reason_label(self, code: str) -> str:
        """Return the label of dispute reason ``code`` (the code itself if unknown)."""
        for reason in self.dispute_reason_list():
            if reason["code"] == code:
                return reason["label"]
        return code

    def short_pay_label(self, code: str) -> str:
        """Return the label of short-pay reason ``code`` (the code itself if unknown)."""
        if code == "disputed":  # portal.payments.checkout.DISPUTED_REASON
            return DISPUTED_LABEL
        if code == "plan_installment":  # portal.payments.checkout.PLAN_REASON
            return PLAN_INSTALLMENT_LABEL
        for reason in self.short_pay_reasons:
            if reason["code"] == code:
                return reason["label"]
        return code
