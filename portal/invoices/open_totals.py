"""The open-invoice totals (:mod:`portal.invoices.models`): read them, fold their deltas.

:func:`figures` is what the list's summary sums: one row per currency, aging
bucket and due-soon flag, from the folded totals and the deltas not folded
yet, in one statement (so one snapshot on PostgreSQL, whatever a concurrent
fold does). It also says how many deltas are waiting; past
:data:`COMPACT_AFTER` the list asks for :func:`compact` (the task
``invoices.compact_open_totals``) once the page is sent.

:func:`compact` deletes deltas and adds exactly the deleted rows to the totals
(``DELETE ... RETURNING``), so a delta committed by another transaction while
it runs is either folded or left for the next fold, never lost or counted twice.
Two folds at once delete disjoint deltas and add them in key order, so they do
not deadlock either.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal import tasks
from portal.invoices import services
from portal.invoices.models import FIGURES, OpenInvoiceDelta, OpenInvoiceTotal

# Deltas of one customer past which the next list view asks for a fold.
COMPACT_AFTER = 500
_KEY = ("customer_id", "currency", "due_date")


@dataclass(frozen=True, slots=True)
class FigureRow:
    """Open invoices of one currency, aging bucket and due-soon flag."""

    currency: str
    bucket: str
    due_soon: bool
    open_count: int
    balance_minor: int
    reserved_count: int
    reserved_minor: int
    payable_count: int
    payable_minor: int


@dataclass(frozen=True, slots=True)
class Figures:
    """The rows, and how many deltas of the customer are not folded yet."""

    rows: list[FigureRow]
    pending: int


def _between(column, earliest, latest):
    return and_(*[c for c in (None if earliest is None else column >= earliest,
                              None if latest is None else column <= latest) if c is not None])


def figures(session: Session, customer_id: int, today: dt.date) -> Figures:
    """Total the customer's open invoices by currency, aging bucket and due window."""
    parts = [select(*(getattr(table, c) for c in ("currency", "due_date", *FIGURES)),
                    literal(pending).label("pending"))
             .where(table.customer_id == customer_id)
             for table, pending in ((OpenInvoiceTotal, 0), (OpenInvoiceDelta, 1))]
    both = union_all(*parts).subquery()
    bucket = case(*[(_between(both.c.due_date, *services.due_date_range(b, today)), b)
                    for b in services.AGING_BUCKETS[:-1]], else_=services.AGING_BUCKETS[-1])
    soon = case((_between(both.c.due_date, *services.due_date_range("due_soon", today)), 1),
                else_=0)
    rows = session.execute(
        select(both.c.currency, bucket, soon, *(func.sum(both.c[c]) for c in FIGURES),
               func.sum(both.c.pending))
        .group_by(both.c.currency, bucket, soon)
        .order_by(both.c.currency, bucket, soon)).all()
    pending = sum(int(row[-1]) for row in rows)
    kept = [FigureRow(currency, bucket_name, bool(is_soon), *(int(v) for v in values))
            for currency, bucket_name, is_soon, *values, _ in rows]
    return Figures([row for row in kept if row.open_count or row.balance_minor
                    or row.reserved_minor], pending)


def compact(session: Session, customer_id: int | None = None) -> int:
    """Fold the deltas (of one customer, or all) into the totals; return how many."""
    stmt = delete(OpenInvoiceDelta).returning(
        *(getattr(OpenInvoiceDelta, c) for c in (*_KEY, *FIGURES)))
    if customer_id is not None:
        stmt = stmt.where(OpenInvoiceDelta.customer_id == customer_id)
    folded: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(FIGURES))
    count = 0
    for row in session.execute(stmt):
        count += 1
        sums = folded[tuple(row[:len(_KEY)])]
        for i, value in enumerate(row[len(_KEY):]):
            sums[i] += value
    if not folded:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(OpenInvoiceTotal)
    upsert = insert.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={c: getattr(OpenInvoiceTotal, c) + getattr(insert.excluded, c) for c in FIGURES})
    session.execute(upsert, [dict(zip((*_KEY, *FIGURES), (*key, *sums), strict=True))
                             for key, sums in sorted(folded.items())])
    # Due dates with nothing open left take no room.
    empty = delete(OpenInvoiceTotal).where(*(getattr(OpenInvoiceTotal, c) == 0 for c in FIGURES))
    if customer_id is not None:
        empty = empty.where(OpenInvoiceTotal.customer_id == customer_id)
    session.execute(empty)
    return count


@tasks.task("invoices.compact_open_totals")
def _compact_task(customer_id: int | None = None) -> None:
    from portal.core.request_db import database

    with database().unit_of_work() as unit:
        compact(unit.session, customer_id)
        unit.commit()
