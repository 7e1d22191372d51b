"""The open-invoice totals the list's summary reads: a read model the database keeps.

Why: the summary above the invoice list (open, overdue, due soon, aging buckets,
in progress) totals every open invoice of the customer. Summed from
``ar_invoices`` its cost grows with the invoice count (a customer with 100,000
open invoices waited 400 ms for it). These tables hold the same figures per
customer, currency and due date, so the summary sums one row per due date
instead of one per invoice; the aging buckets still move with "today", because
they are computed from the due dates when read.

How they stay right (migration 0010):

- Triggers on ``ar_invoices`` append a row to ``portal_open_invoice_deltas`` for
  every insert, update or delete that changes what an open invoice contributes
  (its status, balance, reservation, due date, currency or customer), in the
  writer's own transaction. Appending only: no row is updated, so concurrent
  payments never wait for each other here, and no lock order can deadlock.
- :func:`portal.invoices.open_totals.compact` folds the deltas into
  ``portal_open_invoice_totals`` (deleting exactly the deltas it folds, in one
  statement). The summary reads totals and deltas together in one statement, so
  it is right whether or not the deltas were folded yet; folding only keeps it fast.
- ``portal ledger check`` compares totals plus deltas with the invoices.

They are the portal's read model, not part of the ledger's contract: other
systems read ``ar_invoices``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.ledger.models import Amount, BigId


class _Figures:
    """What open invoices contribute: counts and sums in minor units."""

    open_count: Mapped[int] = mapped_column(Amount)
    balance_minor: Mapped[int] = mapped_column(Amount)
    reserved_count: Mapped[int] = mapped_column(Amount)
    reserved_minor: Mapped[int] = mapped_column(Amount)
    payable_count: Mapped[int] = mapped_column(Amount)  # open with something left to pay
    payable_minor: Mapped[int] = mapped_column(Amount)  # balance less reservations, >= 0


FIGURES = ("open_count", "balance_minor", "reserved_count", "reserved_minor", "payable_count",
           "payable_minor")


class OpenInvoiceTotal(_Figures, Base):
    """The folded figures of a customer's open invoices of one currency and due date."""

    __tablename__ = "portal_open_invoice_totals"

    customer_id: Mapped[int] = mapped_column(ForeignKey("ar_customers.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    due_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class OpenInvoiceDelta(_Figures, Base):
    """A change of those figures, appended by the triggers on ``ar_invoices``."""

    __tablename__ = "portal_open_invoice_deltas"
    __table_args__ = (Index("ix_portal_open_invoice_deltas_customer_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[dt.date] = mapped_column(Date)
