"""The journal's storage: append-only writes, idempotency, cached balances and row locks.

Only this module inserts into ``ar_journal_entries`` and ``ar_journal_lines``,
and it never updates or deletes them. In the same statement batch it moves the
cached ``ar_invoices.balance_minor`` by the entry's receivable lines and
refuses (raises, so the caller's unit of work rolls back) any entry that would
take an invoice below zero.

Idempotency: :func:`post` with a key that is already in the journal returns
the first entry and writes nothing. Two writers racing with the same key are
settled by the unique index: the loser's savepoint is rolled back and it gets
the winner's entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import is_postgres
from portal.ledger import accounts
from portal.ledger.entries import EntryDraft, LedgerError, validate
from portal.ledger.models import Customer, Invoice, JournalEntry, JournalLine, Payment


class IdempotencyConflict(LedgerError):
    """The key was used before for a different kind of posting."""


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a posting: the entry, and whether this call created it."""

    entry: JournalEntry
    created: bool


def find_entry(session: Session, idempotency_key: str) -> JournalEntry | None:
    """Return the entry posted under ``idempotency_key``, if any."""
    return session.scalars(
        select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
    ).one_or_none()


def replayed(session: Session, idempotency_key: str, kind: str) -> Posted | None:
    """Return the earlier posting under this key, or None if the key is new.

    Raises :class:`IdempotencyConflict` if the key was used for another kind.
    """
    entry = find_entry(session, idempotency_key)
    if entry is None:
        return None
    if entry.kind != kind:
        raise IdempotencyConflict(
            f"idempotency key {idempotency_key!r} was already used for a {entry.kind} entry")
    return Posted(entry, created=False)


def post(session: Session, draft: EntryDraft) -> Posted:
    """Validate ``draft`` and append it to the journal, exactly once per key.

    The caller must hold the locks of the invoices the entry touches
    (:func:`lock_invoices`) when the entry depends on their balances.
    """
    validate(draft)
    earlier = replayed(session, draft.idempotency_key, draft.kind)
    if earlier:
        return earlier
    try:
        with session.begin_nested():
            entry = _insert(session, draft)
    except IntegrityError:
        earlier = replayed(session, draft.idempotency_key, draft.kind)
        if earlier:
            return earlier
        raise
    return Posted(entry, created=True)


def _insert(session: Session, draft: EntryDraft) -> JournalEntry:
    entry = JournalEntry(
        idempotency_key=draft.idempotency_key,
        kind=draft.kind,
        occurred_at=draft.occurred_at,
        customer_id=draft.customer_id,
        invoice_id=draft.invoice_id,
        payment_id=draft.payment_id,
        credit_memo_id=draft.credit_memo_id,
        reverses_entry_id=draft.reverses_entry_id,
        memo=draft.memo,
        source=draft.source,
    )
    session.add(entry)
    session.flush()
    session.execute(insert(JournalLine), [
        {"entry_id": entry.id, "account": line.account, "customer_id": line.customer_id,
         "invoice_id": line.invoice_id, "amount_minor": line.amount_minor,
         "currency": line.currency}
        for line in draft.lines
    ])
    _move_invoice_balances(session, draft)
    return entry


def _move_invoice_balances(session: Session, draft: EntryDraft) -> None:
    deltas: dict[int, int] = defaultdict(int)
    for line in draft.lines:
        if line.account == accounts.RECEIVABLE:
            deltas[line.invoice_id] += line.amount_minor
    for invoice_id, delta in sorted(deltas.items()):
        if not delta:
            continue
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            raise LedgerError(f"invoice id {invoice_id} does not exist")
        new_balance = invoice.balance_minor + delta
        if new_balance < 0:
            raise LedgerError(
                f"invoice {invoice.number} cannot go below zero "
                f"(balance {invoice.balance_minor}, change {delta})")
        invoice.balance_minor = new_balance
    session.flush()


def lock_invoices(session: Session, invoice_ids: Iterable[int]) -> dict[int, Invoice]:
    """Lock and return the invoices with ``invoice_ids`` (in id order, to avoid deadlocks).

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite: the unit of work already
    holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    query = select(Invoice).where(Invoice.id.in_(ids)).order_by(Invoice.id)
    if is_postgres(session):
        query = query.with_for_update()
    invoices = {inv.id: inv for inv in session.scalars(
        query.execution_options(populate_existing=True))}
    missing = [i for i in ids if i not in invoices]
    if missing:
        raise LedgerError(f"no invoice with id {missing[0]}")
    return invoices


def lock_customer(session: Session, customer_id: int) -> Customer:
    """Lock and return the customer row (guards its customer credit)."""
    query = select(Customer).where(Customer.id == customer_id)
    if is_postgres(session):
        query = query.with_for_update()
    customer = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if customer is None:
        raise LedgerError(f"no customer with id {customer_id}")
    return customer


def lock_payment(session: Session, payment_id: int) -> Payment:
    """Lock and return the payment row (serializes its state changes)."""
    query = select(Payment).where(Payment.id == payment_id)
    if is_postgres(session):
        query = query.with_for_update()
    payment = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if payment is None:
        raise LedgerError(f"no payment with id {payment_id}")
    return payment


def set_reserved(session: Session, invoice_id: int, delta: int) -> None:
    """Move an invoice's cached reservation total by ``delta``."""
    session.execute(
        update(Invoice).where(Invoice.id == invoice_id)
        .values(reserved_minor=Invoice.reserved_minor + delta)
        .execution_options(synchronize_session="fetch"))
