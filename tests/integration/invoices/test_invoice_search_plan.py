"""The invoice list's search is an index range scan, however many invoices there are."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.invoices import forms, queries
from portal.ledger.models import Invoice
from tests.integration.invoices.conftest import TODAY


def _plan(session, statement) -> str:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(str(row[-1]) for row in rows)
    # Few rows here: ask what it can do, not what it would do with them.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))


def test_a_number_or_po_prefix_is_searched_with_the_folded_indexes(book):
    f, _errors = forms.parse_filter({"q": "PO-77", "status": "all"})
    with book.session() as unit:
        where = queries.conditions(book.acme_id, f, TODAY, ["USD"])
        plan = _plan(unit.session, select(Invoice.id).where(*where))
        found = unit.session.scalars(select(Invoice.number).where(*where)
                                     .order_by(Invoice.number)).all()

    assert "Seq Scan" not in plan and "SCAN ar_invoices" not in plan
    if book.database.engine.dialect.name == "sqlite":
        assert "MULTI-INDEX OR" in plan
        assert "ix_ar_invoices_customer_number_folded (customer_id=? AND <expr>>? AND" in plan
        assert "ix_ar_invoices_customer_po_folded (customer_id=? AND <expr>>? AND" in plan
    else:  # with so few rows it needs only the customer: that the index is usable will do
        assert "_folded" in plan
    assert found == ["A-1001", "A-1007"]  # PO-7781, PO-7790; not Globex's PO-7781-GLOBEX
