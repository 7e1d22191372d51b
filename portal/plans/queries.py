"""Reads of plans for other features' pages: which plan holds each invoice of a page,
and which open invoices the invoice list must not count as late.

An invoice is on at most one requested, countered or active plan
(:mod:`portal.plans.models`), so each invoice has at most one mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.ledger.models import Invoice
from portal.plans.models import ACTIVE, HOLDING, Plan, PlanInvoice


@dataclass(frozen=True, slots=True)
class PlanMark:
    """The plan an invoice is on, as an invoice page shows it."""

    plan_id: int
    status: str  # requested, countered or active

    @property
    def active(self) -> bool:
        """Tell whether the plan is in force: its installments replace the invoice's due date."""
        return self.status == ACTIVE


def plans_of(session: Session, invoice_ids: Collection[int]) -> dict[int, PlanMark]:
    """Map each of ``invoice_ids`` on a requested, countered or active plan to that plan.

    One query, however many invoices (a page of the list at once).
    """
    if not invoice_ids:
        return {}
    rows = session.execute(
        select(PlanInvoice.invoice_id, Plan.id, Plan.status)
        .join(Plan, Plan.id == PlanInvoice.plan_id)
        .where(PlanInvoice.invoice_id.in_(list(invoice_ids)), Plan.status.in_(HOLDING)))
    return {invoice_id: PlanMark(plan_id, status) for invoice_id, plan_id, status in rows}


def on_active_plan(session: Session, invoice_ids: Collection[int]) -> set[int]:
    """The invoices among ``invoice_ids`` on an active plan."""
    return {invoice_id for invoice_id, mark in plans_of(session, invoice_ids).items()
            if mark.active}


def on_active_plan_clause(invoice_id):
    """SQL: the invoice whose id is ``invoice_id`` (a column) is on an active plan.

    For the invoice list's filters: an open invoice on an active plan is kept
    by the plan's schedule, so it is neither overdue nor due soon.
    """
    return exists(select(PlanInvoice.invoice_id)
                  .join(Plan, Plan.id == PlanInvoice.plan_id)
                  .where(PlanInvoice.invoice_id == invoice_id, Plan.status == ACTIVE))


@dataclass(frozen=True, slots=True)
class OnPlan:
    """An open invoice on an active plan, as the invoice list's summary counts it."""

    currency: str
    due_date: dt.date
    balance_minor: int
    reserved_minor: int


def open_on_active_plans(session: Session, customer_id: int) -> list[OnPlan]:
    """The customer's open invoices on its active plans (a plan holds a few invoices)."""
    rows = session.execute(
        select(Invoice.currency, Invoice.due_date, Invoice.balance_minor,
               Invoice.reserved_minor)
        .join(PlanInvoice, PlanInvoice.invoice_id == Invoice.id)
        .join(Plan, Plan.id == PlanInvoice.plan_id)
        .where(Plan.customer_id == customer_id, Plan.status == ACTIVE,
               Invoice.status == "open"))
    return [OnPlan(*row) for row in rows]
