"""invoice search indexes: invoice and PO number prefixes, case-blind, as index ranges

The invoice list's search matches the start of an invoice or PO number whatever
the case. As ``lower(x) LIKE 'po-12%'`` it read every invoice of the customer;
it is now a range on ``lower(x)`` in byte order (``portal.db.folded``), and these
indexes on ``(customer_id, folded(x))`` make it an index range scan. On
PostgreSQL the expression carries ``COLLATE "C"`` (byte order) and the indexes
are built CONCURRENTLY, as in 0005.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = {"ix_ar_invoices_customer_number_folded": "number",
           "ix_ar_invoices_customer_po_folded": "po_number"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, column in INDEXES.items():
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                op.execute(f'CREATE INDEX CONCURRENTLY {name} ON ar_invoices '
                           f'(customer_id, (lower({column}) COLLATE "C"))')
        return
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON ar_invoices (customer_id, lower({column}))")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="ar_invoices")
