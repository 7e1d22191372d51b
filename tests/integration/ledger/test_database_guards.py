"""The database's own guards of the journal, for writers that bypass the ledger's code.

DESIGN.md, ledger rule 3: other systems write to the shared ledger's database
too, so the journal's rules are also enforced by the database (the ``ledger
guards`` migration):

- PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the journal, and checks at
  COMMIT, with a deferred constraint trigger, that every entry written has at
  least two lines summing to zero per currency;
- SQLite refuses UPDATE and DELETE (triggers), but cannot defer a check to
  COMMIT, so there an unbalanced entry a foreign writer slips in is caught by
  ``portal ledger check``, which names it.

Every statement here is raw SQL, as another writer of the database would send it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import ledger
from portal.ledger.checks import run_checks
from portal.ledger.models import JournalEntry
from tests import builders

only_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

JOURNAL_TAMPERING = [
    pytest.param("UPDATE ar_journal_lines SET amount_minor = amount_minor * 2",
                 "UPDATE on ar_journal_lines", id="update-lines"),
    pytest.param("DELETE FROM ar_journal_lines", "DELETE on ar_journal_lines", id="delete-lines"),
    pytest.param("UPDATE ar_journal_entries SET memo = 'edited'",
                 "UPDATE on ar_journal_entries", id="update-entries"),
    pytest.param("DELETE FROM ar_journal_entries", "DELETE on ar_journal_entries",
                 id="delete-entries"),
]


def issue_invoice(database, total_minor: int = 100_00) -> tuple[int, int, int]:
    """Commit a customer and an invoice; return (customer id, invoice id, its entry id)."""
    with database.unit_of_work() as uow:
        customer = builders.customer(uow.session)
        invoice = builders.invoice(uow.session, customer, total_minor)
        entry_id = uow.session.query(JournalEntry.id).filter_by(invoice_id=invoice.id).scalar()
        uow.commit()
    return customer.id, invoice.id, entry_id


def journal(database) -> tuple[list[tuple], list[tuple]]:
    """Every entry and line, as committed."""
    with database.engine.connect() as conn:
        entries = [tuple(r) for r in conn.execute(text(
            "SELECT id, idempotency_key, kind, memo FROM ar_journal_entries ORDER BY id"))]
        lines = [tuple(r) for r in conn.execute(text(
            "SELECT id, entry_id, account, amount_minor, currency FROM ar_journal_lines "
            "ORDER BY id"))]
    return entries, lines


def assert_ledger_ok(database) -> None:
    with database.session() as session:
        result = run_checks(session)
    assert result.ok, result.violation


def insert_entry(conn, key: str) -> int:
    """Insert a journal entry by hand, as a foreign writer would; return its id."""
    return conn.execute(text(
        "INSERT INTO ar_journal_entries (idempotency_key, kind, occurred_at, source) "
        "VALUES (:key, 'payment_settled', CURRENT_TIMESTAMP, 'erp') RETURNING id"),
        {"key": key}).scalar_one()


def insert_line(conn, entry_id: int, account: str, amount_minor: int, customer_id: int,
                currency: str = "USD") -> None:
    conn.execute(text(
        "INSERT INTO ar_journal_lines (entry_id, account, customer_id, amount_minor, currency) "
        "VALUES (:entry, :account, :customer, :amount, :currency)"),
        {"entry": entry_id, "account": account, "customer": customer_id,
         "amount": amount_minor, "currency": currency})


# --- both databases: the journal is append-only ------------------------------------------


@pytest.mark.parametrize(("statement", "refusal"), JOURNAL_TAMPERING)
def test_the_database_refuses_to_change_the_journal(db, statement, refusal):
    issue_invoice(db)
    before = journal(db)
    assert before[0] and before[1]
    with db.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text(statement))
    assert f"append-only: {refusal} is refused" in " ".join(str(caught.value.orig).split())
    assert journal(db) == before
    assert_ledger_ok(db)


# --- PostgreSQL: TRUNCATE, and balance checked at COMMIT -----------------------------


@pytest.mark.parametrize("tables", ["ar_journal_lines",
                                    "ar_journal_entries, ar_journal_lines CASCADE"])
def test_postgres_refuses_truncate(pg_db, tables):
    issue_invoice(pg_db)
    before = journal(pg_db)
    with pg_db.engine.connect() as conn, \
            pytest.raises(DBAPIError, match="append-only: TRUNCATE"):
        conn.execute(text(f"TRUNCATE {tables}"))
    assert journal(pg_db) == before
    assert_ledger_ok(pg_db)


UNBALANCED = [
    pytest.param([], "has 0 line", id="no-lines"),
    pytest.param([("cash_clearing:external", 100_00, "USD")], "has 1 line", id="one-line"),
    pytest.param([("cash_clearing:external", 100_00, "USD"), ("customer_credit", -99_99, "USD")],
                 "is unbalanced: its USD lines sum to 1", id="off-by-one"),
    pytest.param([("cash_clearing:external", 100_00, "USD"), ("customer_credit", -100_00, "EUR")],
                 "is unbalanced", id="two-currencies"),
]


@pytest.mark.parametrize(("lines", "refusal"), UNBALANCED)
def test_postgres_refuses_an_unbalanced_entry_at_commit(pg_db, lines, refusal):
    customer_id, _, _ = issue_invoice(pg_db)
    before = journal(pg_db)
    with pg_db.engine.connect() as conn:
        transaction = conn.begin()
        entry_id = insert_entry(conn, "erp:unbalanced")
        for account, amount, currency in lines:
            insert_line(conn, entry_id, account, amount, customer_id, currency)
        # Every INSERT was accepted; the deferred trigger speaks at COMMIT.
        assert conn.execute(text("SELECT count(*) FROM ar_journal_lines WHERE entry_id = :e"),
                            {"e": entry_id}).scalar_one() == len(lines)
        with pytest.raises(DBAPIError, match=f"entry {entry_id} {refusal}"):
            transaction.commit()
    assert journal(pg_db) == before
    assert_ledger_ok(pg_db)


def test_postgres_commits_a_balanced_entry_written_by_hand(pg_db):
    customer_id, _, _ = issue_invoice(pg_db)
    with pg_db.engine.connect() as conn:
        transaction = conn.begin()
        entry_id = insert_entry(conn, "erp:prepayment:1")
        insert_line(conn, entry_id, "cash_clearing:external", 250_00, customer_id)
        insert_line(conn, entry_id, "customer_credit", -250_00, customer_id)
        transaction.commit()
    entries, lines = journal(pg_db)
    assert entries[-1][:2] == (entry_id, "erp:prepayment:1")
    assert [line[2:4] for line in lines if line[1] == entry_id] == [
        ("cash_clearing:external", 250_00), ("customer_credit", -250_00)]
    with pg_db.session() as session:
        assert ledger.customer_credit(session, customer_id, "USD") == 250_00
    assert_ledger_ok(pg_db)


# --- SQLite: no deferred trigger, so the check names what a foreign writer broke -----------


def add_unbalanced_line(database, entry_id: int, customer_id: int, invoice_id: int) -> None:
    """Append a 0.01 receivable line to an issued invoice's entry, and commit it."""
    with database.engine.connect() as conn:
        conn.execute(text(
            "INSERT INTO ar_journal_lines (entry_id, account, customer_id, invoice_id, "
            "amount_minor, currency) VALUES (:e, 'receivable', :c, :i, 1, 'USD')"),
            {"e": entry_id, "c": customer_id, "i": invoice_id})
        conn.commit()


@only_sqlite
def test_sqlite_check_names_an_unbalanced_entry_written_by_hand(db):
    issue_invoice(db)  # an earlier, sound entry: the check must name the broken one
    customer_id, invoice_id, entry_id = issue_invoice(db)
    add_unbalanced_line(db, entry_id, customer_id, invoice_id)
    with db.session() as session:
        result = run_checks(session)
    assert not result.ok
    assert result.violation.startswith(f"entry {entry_id} (")
    assert "is unbalanced: its USD lines sum to 1, not zero" in result.violation


@only_sqlite
def test_sqlite_ledger_check_command_exits_1_naming_the_entry(app, runner):
    database = app.extensions["portal.db"]
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    customer_id, invoice_id, entry_id = issue_invoice(database)
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    add_unbalanced_line(database, entry_id, customer_id, invoice_id)
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert f"ledger check FAILED: entry {entry_id} (" in result.output
    assert "unbalanced" in result.output
