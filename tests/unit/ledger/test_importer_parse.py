"""Reading the ERP's CSV files: headers, line numbers and error reports (no database)."""

from __future__ import annotations

import io

import pytest

from portal.ledger.bulk import SyncCounts
from portal.ledger.importer import (
    INVOICE_COLUMNS,
    INVOICE_OPTIONAL,
    ImportRejected,
    ImportResult,
    RowError,
    read_table,
)


def read(text: str):
    return read_table(io.StringIO(text), ("a", "b"), ("c",))


def header_errors(text: str) -> list[str]:
    with pytest.raises(ImportRejected) as info:
        read(text)
    return [str(error) for error in info.value.errors]


def test_rows_carry_their_line_numbers_across_blank_lines_and_quoted_newlines():
    table = read(' A , b \n1,2\n\n"multi\nline",3\n4,"5"\n')
    assert table.columns == {"a", "b"}
    assert table.rows == [(2, {"a": "1", "b": "2"}), (4, {"a": "multi\nline", "b": "3"}),
                          (6, {"a": "4", "b": "5"})]
    assert table.errors == []


def test_a_row_with_the_wrong_number_of_fields_is_an_error_and_reading_goes_on():
    table = read("a,b\n1,2,3\n4\n5,6\n")
    assert [str(e) for e in table.errors] == ["line 2: has 3 fields; the header has 2",
                                              "line 3: has 1 fields; the header has 2"]
    assert table.rows == [(4, {"a": "5", "b": "6"})]


def test_header_problems_are_all_reported_at_once():
    errors = header_errors("a,a,x\n1,2,3\n")
    assert [e.split(" (columns")[0] for e in errors] == [
        "line 1: column 'a' appears twice", "line 1: unknown column 'x'",
        "line 1: required column 'b' is missing"]
    assert errors[0].endswith("(columns: a, b, c)")


def test_an_empty_file_is_refused():
    assert header_errors("") == ["line 1: the file is empty; expected a header line"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\nMüller,1\n".encode("latin-1"))
    with pytest.raises(ImportRejected) as info:
        read_table(path, ("a", "b"), ())
    assert [str(e) for e in info.value.errors] == [
        "the file is not UTF-8 text (save it as CSV UTF-8)"]


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-8-sig"))
    assert read_table(path, ("a", "b"), ()).rows == [(2, {"a": "1", "b": "2"})]


def test_invoice_columns_are_the_documented_ones():
    assert INVOICE_COLUMNS == ("invoice_number", "customer_number", "issue_date",
                               "line_description")
    assert set(INVOICE_OPTIONAL) == {"due_date", "currency", "terms", "po_number", "memo",
                                     "sku", "quantity", "unit_price", "line_amount", "line_tax"}


def test_errors_name_their_lines_and_long_lists_are_cut():
    assert str(RowError((), "whole file")) == "whole file"
    assert str(RowError((7,), "bad")) == "line 7: bad"
    assert str(RowError(tuple(range(2, 14)), "bad")) == (
        "lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ... (12 lines): bad")


def test_a_rejection_sorts_its_errors_by_line_and_caps_the_report():
    rejection = ImportRejected([RowError((9,), "late"), RowError((3,), "early"),
                                RowError((), "file")])
    assert [e.message for e in rejection.errors] == ["file", "early", "late"]
    assert rejection.report(limit=2) == ["file", "line 3: early", "... and 1 more errors"]


def test_the_summary_is_one_line_with_counts_and_rate():
    result = ImportResult("invoices", 1000, 400, SyncCounts(created=300, updated=50,
                                                           unchanged=50))
    assert result.summary(0.5) == ("400 invoices from 1000 rows: 300 created, 50 updated, "
                                   "50 unchanged in 0.50 s (2,000 rows/s)")
