"""The installment plan tables: a customer's request, the terms proposed (by the customer,
then perhaps countered by staff), the invoices it covers and its installments.

Invariants:

- A plan covers open invoices of one customer, in one currency; an invoice is on at
  most one plan that is requested, countered or active.
- ``portal_plan_terms`` keeps every proposal in order (``version`` 1 is the
  customer's request); the plan's current terms are the highest version. Terms are
  never edited: a counter-proposal is a new version.
- Installments exist once a plan is active; their amounts add up to the plan's
  total exactly (:func:`portal.plans.schedule.schedule`). Number 0 is the down
  payment.
- ``policy_reasons`` lists why a request went to staff (the codes of
  :func:`portal.plans.schedule.judge`); empty when it was approved at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime
from portal.ledger.models import Amount, BigId, Invoice, utcnow

# A plan's states.
REQUESTED = "requested"  # outside the policy: waiting for staff
COUNTERED = "countered"  # staff proposed other terms: waiting for the customer
ACTIVE = "active"
REJECTED = "rejected"  # by staff, with a reason
DECLINED = "declined"  # the customer declined a counter-proposal
DEFAULTED = "defaulted"
COMPLETED = "completed"
STATUSES = (REQUESTED, COUNTERED, ACTIVE, REJECTED, DECLINED, DEFAULTED, COMPLETED)
HOLDING = (REQUESTED, COUNTERED, ACTIVE)  # its invoices may not go on another plan


class Plan(Base):
    """A customer's installment plan, from its request to its end."""

    __tablename__ = "portal_plans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Amount)  # the invoices' balances when requested
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text)  # the customer's, for asking
    policy_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(254))  # "policy" or a staff e-mail
    decision_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The saved card (a Stripe PaymentMethod of the account) autopay charges; None: by hand.
    autopay_method_id: Mapped[str | None] = mapped_column(String(255))
    # Or the verified bank account it debits (ACH), under the plan's ACH authorization.
    autopay_bank_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_bank_accounts.id"))

    terms: Mapped[list[PlanTerms]] = relationship(order_by="PlanTerms.version")
    invoices: Mapped[list[PlanInvoice]] = relationship(order_by="PlanInvoice.position")
    installments: Mapped[list[PlanInstallment]] = relationship(
        order_by="PlanInstallment.number")

    @property
    def current(self) -> PlanTerms:
        return self.terms[-1]


class PlanTerms(Base):
    """One proposal of a plan's terms: how many installments, how often, from when."""

    __tablename__ = "portal_plan_terms"

    plan_id: Mapped[int] = mapped_column(ForeignKey("portal_plans.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    side: Mapped[str] = mapped_column(String(16))  # customer or vendor
    count: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[str] = mapped_column(String(16))
    first_due_on: Mapped[dt.date] = mapped_column(Date)
    down_minor: Mapped[int] = mapped_column(Amount, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanInvoice(Base):
    """An invoice the plan covers, and its balance when the plan was requested."""

    __tablename__ = "portal_plan_invoices"

    plan_id: Mapped[int] = mapped_column(ForeignKey("portal_plans.id"), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("ar_invoices.id"), primary_key=True,
                                            index=True)
    position: Mapped[int] = mapped_column(Integer)  # oldest due first: the order it is paid in
    amount_minor: Mapped[int] = mapped_column(Amount)

    invoice: Mapped[Invoice] = relationship()


class PlanInstallment(Base):
    """One payment of an active plan (number 0: the down payment), and how it went."""

    __tablename__ = "portal_plan_installments"

    plan_id: Mapped[int] = mapped_column(ForeignKey("portal_plans.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(Amount)
    status: Mapped[str] = mapped_column(String(16), default="due")  # due, paid, missed
    paid_minor: Mapped[int] = mapped_column(Amount, default=0)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("ar_payments.id"))
    # Autopay: how many charges were tried, and the day of the last (one retry, a day later).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_on: Mapped[dt.date | None] = mapped_column(Date)
    # The day the e-mail announcing the autopay debit went out (once per installment).
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
