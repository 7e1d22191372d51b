"""The ERP CSV import, on a real database: whole files or nothing, upserts by number."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import ledger
from portal.ledger import bulk
from portal.ledger.checks import run_checks
from portal.ledger.importer import ImportRejected, import_customers, import_invoices
from portal.ledger.models import (
    Customer,
    CustomerContact,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
)
from tests import builders

SAMPLES = Path(__file__).resolve().parents[3] / "docs" / "samples"
CUSTOMERS = """\
customer_number,name,currency,credit_limit,default_terms,email,contact_name,contact_email
C1,Acme Corp,USD,1000.00,2/10 net 30,ap@acme.example,Ann Payer,ann@acme.example
C2,Euro GmbH,EUR,,net 45,,,
"""
HEADER = ("invoice_number,customer_number,issue_date,due_date,currency,terms,po_number,"
          "line_description,quantity,unit_price,line_amount,line_tax,memo\n")
INVOICES = HEADER + """\
INV-1,C1,2026-11-02,,USD,,PO-1,Bolts,10,1.50,15.00,1.20,
INV-1,C1,2026-11-02,,USD,,PO-1,Freight,1,5.00,5.00,0.00,
INV-2,C2,2026-11-03,2026-12-31,EUR,,,Service,1,,100.00,19.00,November
"""


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def run(db, importer, path: Path):
    with db.unit_of_work() as uow:
        result = importer(uow.session, path)
        uow.commit()
    return result


def rejected(db, importer, path: Path) -> list[str]:
    with db.unit_of_work() as uow, pytest.raises(ImportRejected) as info:
        importer(uow.session, path)
    return [str(error) for error in info.value.errors]


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def assert_ledger_ok(db) -> None:
    with db.session() as s:
        result = run_checks(s)
    assert result.ok, result.violation


@pytest.fixture
def loaded(db, tmp_path):
    """The customers and invoices above, imported."""
    run(db, import_customers, write(tmp_path, "customers.csv", CUSTOMERS))
    run(db, import_invoices, write(tmp_path, "invoices.csv", INVOICES))
    return db


def test_fresh_import_creates_customers_invoices_and_entries(db, tmp_path):
    customers = run(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS))
    invoices = run(db, import_invoices, write(tmp_path, "i.csv", INVOICES))
    assert (customers.counts.created, invoices.counts.created, invoices.rows) == (2, 2, 3)
    with db.session() as s:
        acme = s.scalars(select(Customer).where(Customer.number == "C1")).one()
        assert (acme.credit_limit_minor, acme.default_terms) == (1000_00, "2/10 net 30")
        assert [(c.name, c.email) for c in acme.contacts] == [("Ann Payer", "ann@acme.example")]
        inv = s.scalars(select(Invoice).where(Invoice.number == "INV-1")).one()
        # No terms column value: the customer's default terms, and the due date from them.
        assert (inv.terms, inv.due_date) == ("2/10 net 30", dt.date(2026, 12, 2))
        assert (inv.subtotal_minor, inv.tax_minor, inv.total_minor) == (20_00, 1_20, 21_20)
        assert (inv.balance_minor, inv.status, inv.po_number) == (21_20, "open", "PO-1")
        assert [(x.position, x.description, x.quantity, x.unit_price_minor, x.amount_minor)
                for x in inv.lines] == [(1, "Bolts", 10, 1_50, 15_00),
                                        (2, "Freight", 1, 5_00, 5_00)]
        entry = s.scalars(select(JournalEntry)
                          .where(JournalEntry.idempotency_key == "invoice:INV-1:issued")).one()
        assert (entry.kind, entry.invoice_id, entry.source) == ("invoice_issued", inv.id, "import")
        assert sorted((x.account, x.amount_minor) for x in entry.lines) == [
            ("receivable", 21_20), ("revenue", -20_00), ("tax_payable", -1_20)]
        euro = s.scalars(select(Invoice).where(Invoice.number == "INV-2")).one()
        assert (euro.currency, euro.due_date, euro.memo) == ("EUR", dt.date(2026, 12, 31),
                                                             "November")
    assert count(db, JournalEntry) == 2
    assert_ledger_ok(db)


def test_the_sample_files_import_cleanly(db, tmp_path):
    run(db, import_customers, SAMPLES / "customers.csv")
    result = run(db, import_invoices, SAMPLES / "invoices.csv")
    assert result.counts.created == result.records > 0
    assert count(db, JournalEntry) == result.records
    assert_ledger_ok(db)


def test_reimport_is_a_no_op(loaded, tmp_path):
    db = loaded
    with db.session() as s:
        before = s.execute(select(Invoice.number, Invoice.updated_at, Invoice.revision)
                           .order_by(Invoice.id)).all()
    entries = count(db, JournalEntry)
    again = run(db, import_invoices, write(tmp_path, "again.csv", INVOICES))
    customers = run(db, import_customers, write(tmp_path, "c2.csv", CUSTOMERS))
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 2)
    assert (customers.counts.created, customers.counts.updated,
            customers.counts.unchanged) == (0, 0, 2)
    assert count(db, JournalEntry) == entries
    assert count(db, CustomerContact) == 1
    with db.session() as s:
        assert s.execute(select(Invoice.number, Invoice.updated_at, Invoice.revision)
                         .order_by(Invoice.id)).all() == before


def test_changed_amount_posts_one_adjusting_entry(loaded, tmp_path):
    db = loaded
    entries = count(db, JournalEntry)
    changed = INVOICES.replace("Freight,1,5.00,5.00,0.00", "Freight,1,8.00,8.00,0.00")
    result = run(db, import_invoices, write(tmp_path, "changed.csv", changed))
    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (0, 1, 1)
    assert count(db, JournalEntry) == entries + 1
    with db.session() as s:
        inv = s.scalars(select(Invoice).where(Invoice.number == "INV-1")).one()
        assert (inv.total_minor, inv.balance_minor, inv.revision) == (24_20, 24_20, 2)
        assert [x.unit_price_minor for x in inv.lines] == [1_50, 8_00]
        entry = s.scalars(select(JournalEntry).order_by(JournalEntry.id.desc())).first()
        assert (entry.kind, entry.idempotency_key) == ("invoice_adjusted", "invoice:INV-1:rev:2")
        assert sorted((x.account, x.amount_minor) for x in entry.lines) == [
            ("receivable", 3_00), ("revenue", -3_00)]
    # The same changed file again changes nothing.
    run(db, import_invoices, write(tmp_path, "changed-again.csv", changed))
    assert count(db, JournalEntry) == entries + 1
    assert_ledger_ok(db)


@pytest.mark.parametrize(("old", "new"), [("PO-1", "PO-9"), ("Bolts", "Bolts M8")])
def test_a_change_that_does_not_move_the_total_posts_nothing(loaded, tmp_path, old, new):
    db = loaded
    entries = count(db, JournalEntry)
    result = run(db, import_invoices, write(tmp_path, "po.csv", INVOICES.replace(old, new)))
    assert (result.counts.updated, result.counts.unchanged) == (1, 1)
    assert count(db, JournalEntry) == entries
    with db.session() as s:
        inv = s.scalars(select(Invoice).where(Invoice.number == "INV-1")).one()
        assert new in (inv.po_number, inv.lines[0].description)
        assert (inv.total_minor, inv.revision) == (21_20, 1)


def test_errors_on_two_lines_are_both_reported_and_nothing_is_imported(db, tmp_path):
    run(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS))
    bad = HEADER + """\
INV-1,C1,2026-11-02,,USD,,,Bolts,1,,15.00,,
INV-2,C1,2026-11-31,,USD,,,Bolts,1,,15.00,,
INV-3,C1,2026-11-02,,USD,,,Bolts,1,,15.00,,
INV-4,C1,2026-11-02,,USD,,,Bolts,1,,15.001,,
"""
    errors = rejected(db, import_invoices, write(tmp_path, "bad.csv", bad))
    assert len(errors) == 2
    assert errors[0].startswith("line 3: ") and "issue_date '2026-11-31'" in errors[0]
    assert errors[1].startswith("line 5: ") and "line_amount" in errors[1]
    assert count(db, Invoice) == 0
    assert count(db, JournalEntry) == 0


@pytest.mark.parametrize(("row", "message"), [
    ("INV-9,C1,02/11/2026,,USD,,,Bolts,1,,15.00,,",
     "issue_date '02/11/2026' is not a date (expected YYYY-MM-DD)"),
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,1,,15.005,,",
     "line_amount: '15.005' has more decimal places than USD allows (2)"),
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,1,,1.5E+01,,", "is not an amount"),
    ("INV-9,C1,2026-11-02,,XYZ,,,Bolts,1,,15.00,,",
     "currency 'XYZ' is not an ISO 4217 currency code"),
    ("INV-9,C1,2026-11-02,,EUR,,,Bolts,1,,15.00,,",
     "currency EUR is not customer C1's currency (USD)"),
    ("INV-9,C404,2026-11-02,,USD,,,Bolts,1,,15.00,,", "unknown customer 'C404'"),
    ("INV-9,C1,2026-11-02,,USD,net thirty,,Bolts,1,,15.00,,", "cannot read payment terms"),
    ("INV-9,C1,2026-11-02,2026-11-01,USD,,,Bolts,1,,15.00,,", "is due before it is issued"),
    ("INV-9,C1,2026-11-02,,USD,,,,1,,15.00,,", "line_description is required"),
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,3,0.10,,,", ""),  # 3 x 0.10 = 0.30: fine
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,0.5,0.01,,,", "not a whole number of minor units"),
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,1,,,,", "line_amount is required"),
    ("INV-9,C1,2026-11-02,,USD,,,Bolts,1,,-15.00,,", "cannot have a negative total"),
])
def test_each_bad_value_is_reported_with_its_line(db, tmp_path, row, message):
    run(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS))
    path = write(tmp_path, "i.csv", HEADER + "INV-0,C1,2026-11-02,,USD,,,Ok,1,,1.00,,\n" + row)
    if not message:
        assert run(db, import_invoices, path).counts.created == 2
        return
    errors = rejected(db, import_invoices, path)
    assert len(errors) == 1, errors
    assert errors[0].startswith("line 3: ") and message in errors[0]
    assert count(db, Invoice) == 0


def test_header_fields_must_agree_across_an_invoices_rows(db, tmp_path):
    run(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS))
    rows = HEADER + """\
INV-1,C1,2026-11-02,,USD,,PO-1,Bolts,1,,15.00,,
INV-2,C1,2026-11-02,,USD,,PO-2,Nuts,1,,15.00,,
INV-1,C1,2026-11-03,,USD,,PO-1,Freight,1,,5.00,,
"""
    errors = rejected(db, import_invoices, write(tmp_path, "i.csv", rows))
    assert errors == ["lines 2, 4: invoice INV-1: issue_date differs across the invoice's rows "
                      "(line 2: '2026-11-02'; line 4: '2026-11-03')"]
    assert count(db, Invoice) == 0


def test_an_issued_invoice_cannot_move_to_another_customer(loaded, tmp_path):
    db = loaded
    with db.unit_of_work() as uow:
        builders.customer(uow.session, number="C3")
        uow.commit()
    moved = INVOICES.replace("INV-1,C1,", "INV-1,C3,")
    errors = rejected(db, import_invoices, write(tmp_path, "moved.csv", moved))
    assert errors == ["lines 2, 3: invoice INV-1: was issued to customer C1; "
                      "the customer cannot change after issue"]


def test_duplicate_customer_numbers_are_refused(db, tmp_path):
    rows = CUSTOMERS + "C1,Acme Again,USD,,,,,\n"
    errors = rejected(db, import_customers, write(tmp_path, "c.csv", rows))
    assert errors == ["lines 2, 4: customer_number C1 appears 2 times"]
    assert count(db, Customer) == 0


@pytest.mark.parametrize(("row", "message"), [
    ("C9,Nine,usd,12.345,,,,", "credit_limit: '12.345' has more decimal places than USD"),
    ("C9,Nine,US,,,,,", "currency 'US' is not an ISO 4217 currency code"),
    ("C9,,USD,,,,,", "name is required"),
    ("C9,Nine,USD,,,not-an-email,,", "email 'not-an-email' is not an e-mail address"),
    ("C9,Nine,USD,,,,Ann,", "contact_name and contact_email go together"),
    ("C9,Nine,USD,-1.00,,,,", "credit_limit cannot be negative"),
    ("C9,Nine,USD,,weekly,,,", "cannot read payment terms"),
])
def test_bad_customer_values_are_reported(db, tmp_path, row, message):
    errors = rejected(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS + row + "\n"))
    assert len(errors) == 1 and errors[0].startswith("line 4: ") and message in errors[0], errors
    assert count(db, Customer) == 0


def test_customer_updates_in_place_but_keeps_its_currency_once_invoiced(loaded, tmp_path):
    db = loaded
    renamed = CUSTOMERS.replace("Acme Corp", "Acme Corporation").replace("Ann Payer", "Ann P.")
    result = run(db, import_customers, write(tmp_path, "renamed.csv", renamed))
    assert (result.counts.updated, result.counts.unchanged) == (1, 1)
    with db.session() as s:
        acme = s.scalars(select(Customer).where(Customer.number == "C1")).one()
        assert acme.name == "Acme Corporation"
        assert [c.name for c in acme.contacts] == ["Ann P."]
    recurrenced = CUSTOMERS.replace("C1,Acme Corp,USD", "C1,Acme Corp,EUR")
    errors = rejected(db, import_customers, write(tmp_path, "eur.csv", recurrenced))
    assert errors == ["line 2: currency cannot change from USD to EUR: customer C1 already "
                      "has invoices or payments"]
    # Without invoices the currency may still change.
    run(db, import_customers, write(tmp_path, "new.csv", "customer_number,name,currency\n"
                                                         "C7,Seven,USD\n"))
    run(db, import_customers, write(tmp_path, "new2.csv", "customer_number,name,currency\n"
                                                          "C7,Seven,CAD\n"))
    with db.session() as s:
        assert s.scalar(select(Customer.currency).where(Customer.number == "C7")) == "CAD"


def test_columns_left_out_keep_what_is_stored(loaded, tmp_path):
    db = loaded
    run(db, import_customers, write(tmp_path, "few.csv", "customer_number,name,currency\n"
                                                         "C1,Acme Corp,USD\n"))
    with db.session() as s:
        acme = s.scalars(select(Customer).where(Customer.number == "C1")).one()
        assert (acme.email, acme.credit_limit_minor) == ("ap@acme.example", 1000_00)


def test_bulk_issue_writes_what_create_invoice_writes(db):
    """The bulk path and the one-at-a-time path leave identical rows (ids and times aside)."""
    def data(number: str, cust: Customer, tax: int = 7_00) -> ledger.InvoiceInput:
        return ledger.InvoiceInput(
            number=number, customer_id=cust.id, issue_date=dt.date(2026, 11, 2),
            currency="USD", terms="2/10 net 30", po_number="PO", memo="m",
            lines=[ledger.LineInput("A", 100_00, tax_minor=tax),
                   ledger.LineInput("B", 50_00, Decimal("2.5"), 20_00)])

    with db.unit_of_work() as uow:
        cust = builders.customer(uow.session)
        ledger.create_invoice(uow.session, data("ONE-1", cust))
        ledger.create_invoice(uow.session, data("ONE-2", cust, tax=0))
        bulk.issue_invoices(uow.session, [data("BULK-1", cust), data("BULK-2", cust, tax=0)])
        uow.commit()
    with db.session() as s:
        def snapshot(number: str) -> tuple:
            inv = s.scalars(select(Invoice).where(Invoice.number == number)).one()
            skip = {"id", "number", "created_at", "updated_at"}
            header = {k: v for k, v in vars(inv).items() if not k.startswith("_")
                      and k not in skip and k not in ("lines", "customer")}
            lines = [(x.position, x.description, x.sku, x.quantity, x.unit_price_minor,
                      x.amount_minor, x.tax_minor) for x in
                     s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)
                               .order_by(InvoiceLine.position))]
            entry = s.scalars(select(JournalEntry).where(JournalEntry.invoice_id == inv.id)).one()
            journal = sorted((x.account, x.customer_id, x.invoice_id == inv.id, x.amount_minor,
                              x.currency) for x in s.scalars(
                                  select(JournalLine).where(JournalLine.entry_id == entry.id)))
            key = entry.idempotency_key.replace(number, "N")
            return header, lines, (entry.kind, key, entry.customer_id, entry.memo), journal

        assert snapshot("BULK-1") == snapshot("ONE-1")
        assert snapshot("BULK-2") == snapshot("ONE-2")
    assert_ledger_ok(db)


def test_bulk_issue_refuses_numbers_already_taken(db):
    with db.unit_of_work() as uow:
        cust = builders.customer(uow.session)
        builders.invoice(uow.session, cust, 10_00, number="TAKEN")
        data = ledger.InvoiceInput(number="TAKEN", customer_id=cust.id,
                                   issue_date=dt.date(2026, 11, 2), currency="USD",
                                   lines=[ledger.LineInput("A", 5_00)])
        with pytest.raises(ledger.LedgerError, match="invoice TAKEN already exists"):
            bulk.issue_invoices(uow.session, [data])


def test_a_zero_total_invoice_is_void_without_an_entry(db, tmp_path):
    run(db, import_customers, write(tmp_path, "c.csv", CUSTOMERS))
    run(db, import_invoices, write(tmp_path, "i.csv", HEADER + "Z-1,C1,2026-11-02,,,,,"
                                                               "Free sample,1,,0.00,,\n"))
    with db.session() as s:
        assert s.scalar(select(Invoice.status).where(Invoice.number == "Z-1")) == "void"
    assert count(db, JournalEntry) == 0
    assert_ledger_ok(db)


# --- the CLI ---------------------------------------------------------------------------

def test_cli_imports_and_prints_one_summary_line(runner, tmp_path):
    shutil.copy(SAMPLES / "customers.csv", tmp_path / "customers.csv")
    result = runner.invoke(args=["import", "customers", str(tmp_path / "customers.csv")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("imported 3 customers from 3 rows: 3 created, 0 updated, "
                                    "0 unchanged in ")
    result = runner.invoke(args=["import", "invoices", str(SAMPLES / "invoices.csv")])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1
    assert " created, 0 updated, 0 unchanged in " in result.output
    assert result.output.rstrip().endswith("rows/s)")
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0 and "ledger check: OK" in result.output


def test_cli_reports_errors_with_lines_and_exits_1(runner, app, tmp_path):
    runner.invoke(args=["import", "customers", str(write(tmp_path, "c.csv", CUSTOMERS))])
    bad = HEADER + "".join(f"INV-{n},C1,2026-11-{n:02d},,USD,,,Bolts,1,,1.001,,\n"
                           for n in range(1, 31)) + "INV-99,C404,2026-13-01,,USD,,,X,1,,1,,\n"
    result = runner.invoke(args=["import", "invoices", str(write(tmp_path, "bad.csv", bad))])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0] == ("bad.csv: line 2: line_amount: '1.001' has more decimal places than "
                         "USD allows (2)")
    assert any(line.startswith("bad.csv: line 32: invoice INV-99: unknown customer 'C404'")
               for line in errors)
    assert errors[-1] == "import FAILED: 32 error(s) in bad.csv; nothing was imported"
    with app.extensions["portal.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 0


def test_cli_shows_at_most_50_errors_and_counts_the_rest(runner, tmp_path):
    bad = "customer_number,name,currency\n" + "".join(f"C{n},Name,XX\n" for n in range(60))
    result = runner.invoke(args=["import", "customers", str(write(tmp_path, "c.csv", bad))])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 52
    assert errors[-2] == "c.csv: ... and 10 more errors"
    assert errors[-1] == "import FAILED: 60 error(s) in c.csv; nothing was imported"


def test_cli_refuses_a_bad_header_and_a_missing_file(runner, tmp_path):
    path = write(tmp_path, "h.csv", "invoice_number,customer,issue_date\n")
    result = runner.invoke(args=["import", "invoices", str(path)])
    assert result.exit_code == 1
    assert "line 1: unknown column 'customer'" in result.stderr
    assert "line 1: required column 'customer_number' is missing" in result.stderr
    result = runner.invoke(args=["import", "invoices", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_cli_dry_run_validates_and_saves_nothing(runner, app, tmp_path):
    path = write(tmp_path, "c.csv", CUSTOMERS)
    result = runner.invoke(args=["import", "customers", "--dry-run", str(path)])
    assert result.exit_code == 0
    assert result.output.startswith("dry run, nothing saved: 2 customers from 2 rows: 2 created")
    with app.extensions["portal.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 0
