"""The journal's storage: append-only writes, idempotency, cached balances and row locks.

Only this module inserts into ``ar_journal_entries`` and ``ar_journal_lines``,
and it never updates or deletes them. With each entry it moves the cached
``ar_invoices.balance_minor`` by the entry's receivable lines, and it refuses
(raises, writing nothing) any entry that would take an invoice below zero.

Idempotency: :func:`post` with a key that is already in the journal returns
the first entry and writes nothing. Two writers racing with the same key are
settled by the unique index: the entry is inserted with ``ON CONFLICT
(idempotency_key) DO NOTHING``, so the loser (on PostgreSQL it waits for the
winner's commit) inserts nothing, writes no lines, and gets the winner's entry.

A posting decides before it writes: every refusal (bad draft, unknown invoice,
balance below zero, key used for another kind) is raised before the first
INSERT, so a caller that catches the :class:`LedgerError` cannot persist half a
posting.

Round trips, because every posting pays for them: the entry is one ``INSERT ...
RETURNING`` and its lines one multi-row ``INSERT``; the new balances are set on
the invoices the caller already locked and loaded, and written by the session's
next flush together with the caller's other changes to those invoices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from portal.db import is_postgres
from portal.ledger import accounts
from portal.ledger.entries import EntryDraft, LedgerError, validate
from portal.ledger.models import Customer, Invoice, JournalEntry, JournalLine, Payment

_LINES = JournalLine.__table__

# The statements of the posting path, built once: building and hashing a
# statement costs more Python time than running it on SQLite.
#
# Entries are read and inserted with ``populate_existing``: an entry inserted in
# a savepoint that was rolled back stays in the session's identity map (the ORM
# did not insert it, so it does not know to forget it), and SQLite may give its
# id to the next entry; the row read must overwrite that stale object.
_FIND_ENTRY = (select(JournalEntry).where(JournalEntry.idempotency_key == bindparam("key"))
               .execution_options(populate_existing=True))
_INVOICES = (select(Invoice).where(Invoice.id.in_(bindparam("ids", expanding=True)))
             .order_by(Invoice.id).execution_options(populate_existing=True))
_PAYMENT = (select(Payment).where(Payment.id == bindparam("id"))
            .execution_options(populate_existing=True))
_PAYMENT_WITH_RESERVATIONS = _PAYMENT.options(joinedload(Payment.reservations))
_CUSTOMER = (select(Customer).where(Customer.id == bindparam("id"))
             .execution_options(populate_existing=True))
_LOCKING = {  # (statement, on PostgreSQL?) -> the statement to run
    **{(q, False): q for q in (_INVOICES, _PAYMENT, _PAYMENT_WITH_RESERVATIONS, _CUSTOMER)},
    (_INVOICES, True): _INVOICES.with_for_update(),
    (_PAYMENT, True): _PAYMENT.with_for_update(),
    (_PAYMENT_WITH_RESERVATIONS, True): _PAYMENT_WITH_RESERVATIONS.with_for_update(of=Payment),
    (_CUSTOMER, True): _CUSTOMER.with_for_update(),
}
_ENTRY_FIELDS = ("idempotency_key", "kind", "occurred_at", "customer_id", "invoice_id",
                 "payment_id", "credit_memo_id", "reverses_entry_id", "memo", "source")


def _insert_entry_statement(dialect):
    return (dialect.insert(JournalEntry)
            .values({name: bindparam(name) for name in _ENTRY_FIELDS})
            .on_conflict_do_nothing(index_elements=[JournalEntry.idempotency_key])
            .returning(JournalEntry)
            .execution_options(populate_existing=True))


_INSERT_ENTRY = {"postgresql": _insert_entry_statement(postgresql),
                 "sqlite": _insert_entry_statement(sqlite)}


def _locking(session: Session, statement):
    """Return ``statement`` with ``FOR UPDATE`` on PostgreSQL (SQLite: the write lock is held)."""
    return _LOCKING[statement, is_postgres(session)]


class IdempotencyConflict(LedgerError):
    """The key was used before for a different kind of posting."""


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a posting: the entry, and whether this call created it."""

    entry: JournalEntry
    created: bool


def find_entry(session: Session, idempotency_key: str) -> JournalEntry | None:
    """Return the entry posted under ``idempotency_key``, if any."""
    return session.scalars(_FIND_ENTRY, {"key": idempotency_key}).one_or_none()


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


def post(session: Session, draft: EntryDraft, *, flush: bool = True) -> Posted:
    """Validate ``draft`` and append it to the journal, exactly once per key.

    The caller must hold the locks of the invoices the entry touches
    (:func:`lock_invoices`) when the entry depends on their balances. With
    ``flush=False`` the invoices' new balances stay pending in the session, for
    a caller that changes those invoices again and flushes once at the end.
    """
    validate(draft)
    deltas = _receivable_deltas(draft)
    invoices, refusal = _apply_check(session, deltas)
    if refusal is not None:
        # A replay is not refused: the first posting moved the balance this one checks.
        earlier = replayed(session, draft.idempotency_key, draft.kind)
        if earlier:
            return earlier
        raise LedgerError(refusal)
    entry = _insert_entry(session, draft)
    if entry is None:
        earlier = replayed(session, draft.idempotency_key, draft.kind)
        if earlier is None:  # pragma: no cover - the index said the key is taken
            raise LedgerError(f"idempotency key {draft.idempotency_key!r} is taken")
        return earlier
    session.execute(insert(_LINES), [
        {"entry_id": entry.id, "account": line.account, "customer_id": line.customer_id,
         "invoice_id": line.invoice_id, "amount_minor": line.amount_minor,
         "currency": line.currency}
        for line in draft.lines])
    for invoice_id, delta in deltas.items():
        invoices[invoice_id].balance_minor += delta
    if flush:
        session.flush()
    return Posted(entry, created=True)


def _receivable_deltas(draft: EntryDraft) -> dict[int, int]:
    """Return how the entry moves each invoice's balance (non-zero moves, by invoice id)."""
    deltas: dict[int, int] = defaultdict(int)
    for line in draft.lines:
        if line.account == accounts.RECEIVABLE:
            deltas[line.invoice_id] += line.amount_minor
    return {invoice_id: delta for invoice_id, delta in sorted(deltas.items()) if delta}


def _apply_check(session: Session,
                 deltas: dict[int, int]) -> tuple[dict[int, Invoice], str | None]:
    """Return the invoices the deltas move, and why they cannot move (or None)."""
    invoices: dict[int, Invoice] = {}
    for invoice_id, delta in deltas.items():
        # The caller's locked invoices are in the identity map: no query.
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            return invoices, f"invoice id {invoice_id} does not exist"
        if invoice.balance_minor + delta < 0:
            return invoices, (f"invoice {invoice.number} cannot go below zero "
                              f"(balance {invoice.balance_minor}, change {delta})")
        invoices[invoice_id] = invoice
    return invoices, None


def _insert_entry(session: Session, draft: EntryDraft) -> JournalEntry | None:
    """Insert the entry unless its key is taken; return it, or None if the key was taken."""
    statement = _INSERT_ENTRY[session.get_bind().dialect.name]
    if session.new:
        # New rows the entry may name (a credit memo, say) must exist first.
        session.flush()
    # The caller's pending changes to rows it locked (released reservations,
    # balances) wait for its own flush: one UPDATE per row, not one per step.
    with session.no_autoflush:
        return session.scalars(statement, {name: getattr(draft, name)
                                           for name in _ENTRY_FIELDS}).one_or_none()


def lock_invoices(session: Session, invoice_ids: Iterable[int]) -> dict[int, Invoice]:
    """Lock and return the invoices with ``invoice_ids`` (in id order, to avoid deadlocks).

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite: the unit of work already
    holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    invoices = {inv.id: inv for inv in session.scalars(_locking(session, _INVOICES),
                                                       {"ids": ids})}
    missing = [i for i in ids if i not in invoices]
    if missing:
        raise LedgerError(f"no invoice with id {missing[0]}")
    return invoices


def lock_customer(session: Session, customer_id: int) -> Customer:
    """Lock and return the customer row (guards its customer credit)."""
    customer = session.scalars(_locking(session, _CUSTOMER), {"id": customer_id}).one_or_none()
    if customer is None:
        raise LedgerError(f"no customer with id {customer_id}")
    return customer


def lock_payment(session: Session, payment_id: int, *,
                 with_reservations: bool = False) -> Payment:
    """Lock and return the payment row (serializes its state changes).

    ``with_reservations`` loads its reservations in the same query (they change
    only under this lock, so they are not locked themselves).
    """
    query = _PAYMENT_WITH_RESERVATIONS if with_reservations else _PAYMENT
    payment = session.scalars(_locking(session, query), {"id": payment_id}).unique().one_or_none()
    if payment is None:
        raise LedgerError(f"no payment with id {payment_id}")
    return payment


def set_reserved(session: Session, invoice_id: int, delta: int) -> None:
    """Move an invoice's cached reservation total by ``delta``."""
    session.execute(
        update(Invoice).where(Invoice.id == invoice_id)
        .values(reserved_minor=Invoice.reserved_minor + delta)
        .execution_options(synchronize_session="fetch"))
