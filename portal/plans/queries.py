"""Reads of plans for other features' pages: which plan holds each invoice of a page.

An invoice is on at most one requested, countered or active plan
(:mod:`portal.plans.models`), so each invoice has at most one mark.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

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
