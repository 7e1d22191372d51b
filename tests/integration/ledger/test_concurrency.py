"""Two writers at once, on PostgreSQL: row locks and the unique key keep the ledger whole.

DESIGN.md, ledger rules 4, 5 and 7: a write that depends on a balance locks what
it reads, so two clerks paying the same invoice at once cannot both take it,
and a posting sent twice at once is posted once. (SQLite has no row locks: its
units of work hold the database's write lock from their first statement, so
they never overlap and there is nothing to race.)

Each racer runs on its own thread, connection and unit of work; the racers
start together (a barrier), and whichever takes a contended lock first holds it
until PostgreSQL reports the other blocked behind it (``pg_blocking_pids``),
so every test really exercises the wait instead of passing because one thread
happened to finish before the other began. Each test ends with the ledger check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal import ledger
from portal.db import Database
from portal.ledger import store
from portal.ledger.checks import run_checks
from portal.ledger.entries import EntryDraft
from portal.ledger.models import Invoice, JournalEntry, Payment, Reservation, utcnow
from tests import builders

# Generous bounds that only stop a broken test from hanging; nothing is timed.
PATIENCE_S = 30


@dataclass
class Outcome:
    """What one racer's call returned, or raised."""

    value: object = None
    error: BaseException | None = None


class Race:
    """Runs calls at once, each in its own thread, connection and unit of work."""

    def __init__(self, database: Database, racers: int = 2) -> None:
        self.database = database
        self.barrier = threading.Barrier(racers, timeout=PATIENCE_S)
        self.pids: list[int] = []
        self.finished = 0
        self.lock = threading.Lock()
        self.racers = racers

    def hold(self, session: Session) -> None:
        """Keep this racer's locks until every other racer is blocked by them, or done."""
        mine = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        deadline = time.monotonic() + PATIENCE_S
        # Autocommit: pg_stat_activity is read once per transaction, so polls inside one
        # would never see a racer that starts waiting after the first poll.
        with self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as monitor:
            while time.monotonic() < deadline:
                blocked = monitor.execute(text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE :mine = ANY(pg_blocking_pids(pid))"), {"mine": mine}).scalar_one()
                with self.lock:
                    others_left = self.racers - 1 - self.finished
                if blocked >= others_left:
                    return
                time.sleep(0.01)
        raise AssertionError("the other racer never queued behind this one's locks")

    def run(self, *calls: Callable[[Session, Race], object]) -> list[Outcome]:
        """Run each ``call(session, race)`` and commit; return their outcomes in order."""
        assert len(calls) == self.racers

        def one(call) -> Outcome:
            try:
                with self.database.unit_of_work() as uow:
                    self.barrier.wait()
                    value = call(uow.session, self)
                    uow.commit()
                return Outcome(value=value)
            except Exception as exc:  # the outcome under test
                return Outcome(error=exc)
            finally:
                with self.lock:
                    self.finished += 1

        with ThreadPoolExecutor(max_workers=self.racers) as pool:
            futures = [pool.submit(one, call) for call in calls]
            return [future.result(timeout=PATIENCE_S * 2) for future in futures]


def assert_ledger_ok(database: Database) -> None:
    with database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation


def seed(database: Database, *totals: int) -> tuple[int, list[int]]:
    """Commit a customer with invoices of ``totals``; return (customer id, invoice ids)."""
    with database.unit_of_work() as uow:
        customer = builders.customer(uow.session)
        invoices = [builders.invoice(uow.session, customer, total) for total in totals]
        uow.commit()
    return customer.id, [invoice.id for invoice in invoices]


def invoice_state(database: Database, invoice_id: int) -> tuple[int, int, str]:
    with database.session() as session:
        invoice = session.get(Invoice, invoice_id)
        return invoice.balance_minor, invoice.reserved_minor, invoice.status


def credit(database: Database, customer_id: int) -> int:
    with database.session() as session:
        return ledger.customer_credit(session, customer_id, "USD")


def count(database: Database, model, **where) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**where))


def split(outcomes: list[Outcome]) -> tuple[list[object], list[BaseException]]:
    return ([o.value for o in outcomes if o.error is None],
            [o.error for o in outcomes if o.error is not None])


# --- two clerks, one invoice ----------------------------------------------------------


def test_two_clerks_paying_one_invoice_in_full_take_its_balance_once(pg_db):
    customer_id, [invoice_id] = seed(pg_db, 100_00)

    def pay(session: Session, race: Race) -> ledger.Posted:
        # Each pays the whole balance plus 5.00 more, as a clerk rounding up would.
        payment = ledger.start_payment(
            session, customer_id=customer_id, currency="USD", method="card",
            amount_minor=105_00, allocations=[ledger.AllocationInput(invoice_id, 100_00)])
        race.hold(session)
        return ledger.settle_payment(session, payment.id)

    settled, refused = split(Race(pg_db).run(pay, pay))

    assert len(settled) == 1 and len(refused) == 1
    assert isinstance(refused[0], ledger.LedgerError)
    assert "has 0.00 USD open" in str(refused[0])
    assert invoice_state(pg_db, invoice_id) == (0, 0, "paid")
    assert count(pg_db, Payment) == 1 and count(pg_db, Payment, status="succeeded") == 1
    assert credit(pg_db, customer_id) == 5_00  # the rest of the one payment taken
    assert_ledger_ok(pg_db)


def test_two_external_payments_of_the_full_balance_apply_it_once(pg_db):
    """The ERP records a check and a wire for the same invoice at the same moment.

    The invoice takes exactly its balance. The later record is refused whole (no
    payment, no entry), so the ERP learns its view was stale; recorded again
    unapplied, its money is the customer's credit: nothing lost, nothing twice.
    """
    customer_id, [invoice_id] = seed(pg_db, 100_00)

    def record(key: str):
        def call(session: Session, race: Race) -> ledger.Posted:
            posted = ledger.record_external_payment(
                session, customer_id=customer_id, amount_minor=100_00, currency="USD",
                idempotency_key=key, allocations=[ledger.AllocationInput(invoice_id, 100_00)])
            race.hold(session)
            return posted
        return call

    recorded, refused = split(Race(pg_db).run(record("erp:check:1"), record("erp:wire:2")))

    assert len(recorded) == 1 and len(refused) == 1
    assert isinstance(refused[0], ledger.LedgerError)
    assert invoice_state(pg_db, invoice_id) == (0, 0, "paid")
    assert count(pg_db, Payment) == 1 and count(pg_db, JournalEntry,
                                                 kind="payment_settled") == 1
    late_key = ({"erp:check:1", "erp:wire:2"} - {recorded[0].entry.idempotency_key}).pop()
    with pg_db.unit_of_work() as uow:
        ledger.record_external_payment(uow.session, customer_id=customer_id,
                                       amount_minor=100_00, currency="USD",
                                       idempotency_key=late_key)
        uow.commit()
    assert invoice_state(pg_db, invoice_id) == (0, 0, "paid")
    assert credit(pg_db, customer_id) == 100_00
    assert_ledger_ok(pg_db)


def test_two_clerks_cannot_together_reserve_more_than_the_balance(pg_db):
    customer_id, [invoice_id] = seed(pg_db, 100_00)

    def reserve(session: Session, race: Race) -> Payment:
        # An ACH payment: started, then processing for days.
        payment = ledger.start_payment(
            session, customer_id=customer_id, currency="USD", method="ach",
            amount_minor=60_00, allocations=[ledger.AllocationInput(invoice_id, 60_00)])
        race.hold(session)
        return payment

    started, refused = split(Race(pg_db).run(reserve, reserve))

    assert len(started) == 1 and len(refused) == 1
    assert "has 40.00 USD open" in str(refused[0]) and "asks for 60.00 USD" in str(refused[0])
    assert invoice_state(pg_db, invoice_id) == (100_00, 60_00, "open")
    assert count(pg_db, Reservation) == 1
    assert_ledger_ok(pg_db)


def test_two_clerks_may_each_reserve_half(pg_db):
    customer_id, [invoice_id] = seed(pg_db, 100_00)

    def reserve(session: Session, race: Race) -> int:
        payment = ledger.start_payment(
            session, customer_id=customer_id, currency="USD", method="ach",
            amount_minor=50_00, allocations=[ledger.AllocationInput(invoice_id, 50_00)])
        race.hold(session)
        return payment.id

    started, refused = split(Race(pg_db).run(reserve, reserve))

    assert refused == [] and len(set(started)) == 2
    assert invoice_state(pg_db, invoice_id) == (100_00, 100_00, "open")
    with pg_db.unit_of_work() as uow:
        for payment_id in started:
            ledger.settle_payment(uow.session, payment_id)
        uow.commit()
    assert invoice_state(pg_db, invoice_id) == (0, 0, "paid")
    assert_ledger_ok(pg_db)


def test_payments_locking_two_invoices_in_opposite_order_do_not_deadlock(pg_db):
    customer_id, [a, b] = seed(pg_db, 100_00, 100_00)

    def pay(first: int, second: int):
        def call(session: Session, race: Race) -> ledger.Posted:
            payment = ledger.start_payment(
                session, customer_id=customer_id, currency="USD", method="card",
                amount_minor=80_00, allocations=[ledger.AllocationInput(first, 40_00),
                                                 ledger.AllocationInput(second, 40_00)])
            race.hold(session)
            return ledger.settle_payment(session, payment.id)
        return call

    settled, refused = split(Race(pg_db).run(pay(a, b), pay(b, a)))

    assert refused == [] and len(settled) == 2
    assert invoice_state(pg_db, a) == invoice_state(pg_db, b) == (20_00, 0, "open")
    assert_ledger_ok(pg_db)


# --- one idempotency key, sent twice at once ---------------------------------------------


def test_the_same_draft_posted_twice_at_once_is_one_entry(pg_db):
    customer_id, _ = seed(pg_db, 100_00)

    def post(session: Session, race: Race) -> tuple[int, bool]:
        draft = EntryDraft("payment_settled", "erp:prepayment:7", utcnow(),
                           customer_id=customer_id, source="erp")
        draft.add("cash_clearing:external", 70_00, "USD", customer_id=customer_id)
        draft.add("customer_credit", -70_00, "USD", customer_id=customer_id)
        posted = store.post(session, draft)
        race.hold(session)  # the loser's INSERT waits on the winner's unique key
        return posted.entry.id, posted.created

    outcomes, errors = split(Race(pg_db).run(post, post))

    assert errors == []
    assert len({entry_id for entry_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, True]
    assert count(pg_db, JournalEntry, idempotency_key="erp:prepayment:7") == 1
    assert credit(pg_db, customer_id) == 70_00
    assert_ledger_ok(pg_db)


def test_webhook_and_return_page_settling_one_payment_at_once_post_once(pg_db):
    customer_id, [invoice_id] = seed(pg_db, 100_00)
    with pg_db.unit_of_work() as uow:
        payment_id = ledger.start_payment(
            uow.session, customer_id=customer_id, currency="USD", method="card",
            amount_minor=120_00, allocations=[ledger.AllocationInput(invoice_id, 100_00)]).id
        uow.commit()

    def settle(session: Session, race: Race) -> tuple[int, bool]:
        posted = ledger.settle_payment(session, payment_id)
        race.hold(session)
        return posted.entry.id, posted.created

    outcomes, errors = split(Race(pg_db).run(settle, settle))

    assert errors == []
    assert len({entry_id for entry_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, True]
    assert count(pg_db, JournalEntry, payment_id=payment_id) == 1
    assert invoice_state(pg_db, invoice_id) == (0, 0, "paid")
    assert credit(pg_db, customer_id) == 20_00
    assert_ledger_ok(pg_db)


def _erp_retry_race(pg_db, allocated: int) -> None:
    customer_id, [invoice_id] = seed(pg_db, 100_00)

    def record(session: Session, race: Race) -> tuple[int, bool]:
        posted = ledger.record_external_payment(
            session, customer_id=customer_id, amount_minor=100_00, currency="USD",
            idempotency_key="erp:wire:42",
            allocations=[ledger.AllocationInput(invoice_id, allocated)])
        race.hold(session)
        return posted.entry.id, posted.created

    outcomes, errors = split(Race(pg_db).run(record, record))

    assert errors == []
    assert len({entry_id for entry_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, True]
    # The loser kept no payment (nor reservation) of its own.
    assert count(pg_db, Payment) == 1 and count(pg_db, Reservation) == 1
    assert count(pg_db, JournalEntry, kind="payment_settled") == 1
    assert invoice_state(pg_db, invoice_id)[:2] == (100_00 - allocated, 0)
    assert credit(pg_db, customer_id) == 100_00 - allocated
    assert_ledger_ok(pg_db)


def test_an_erp_payment_sent_twice_at_once_is_recorded_once(pg_db):
    # The loser, let through the invoice's lock, finds nothing left to take.
    _erp_retry_race(pg_db, allocated=100_00)


def test_an_erp_part_payment_sent_twice_at_once_is_recorded_once(pg_db):
    # The loser could take its part too: only the key stops it.
    _erp_retry_race(pg_db, allocated=40_00)


def test_credit_applied_twice_at_once_is_applied_once(pg_db):
    customer_id, [invoice_id] = seed(pg_db, 100_00)
    with pg_db.unit_of_work() as uow:
        ledger.issue_credit_memo(uow.session, number="CM-1", customer_id=customer_id,
                                 amount_minor=30_00, currency="USD", reason="goodwill")
        uow.commit()

    def apply(session: Session, race: Race) -> tuple[int, bool]:
        posted = ledger.apply_credit(session, customer_id=customer_id, invoice_id=invoice_id,
                                     amount_minor=30_00, idempotency_key="apply:1")
        race.hold(session)
        return posted.entry.id, posted.created

    outcomes, errors = split(Race(pg_db).run(apply, apply))

    assert errors == []
    assert len({entry_id for entry_id, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False, True]
    assert invoice_state(pg_db, invoice_id) == (70_00, 0, "open")
    assert credit(pg_db, customer_id) == 0
    assert_ledger_ok(pg_db)
