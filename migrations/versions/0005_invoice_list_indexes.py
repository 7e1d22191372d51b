"""invoice list indexes: keyset pagination by issue date and by amount

The customer's invoice list (portal/invoices/queries.py) pages by keyset on
``(customer_id[, status], <sort key>, id)``. Migration 0001 has the due-date
indexes; these add the issue-date and amount orders (amounts group by currency,
which do not compare), each with and without the status the tabs filter on.

On PostgreSQL they are built CONCURRENTLY, outside a transaction, so the ERP
and the portal keep writing ``ar_invoices`` while they build.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES: dict[str, list[str]] = {
    "ix_ar_invoices_customer_issued": ["customer_id", "issue_date", "id"],
    "ix_ar_invoices_customer_status_issued": ["customer_id", "status", "issue_date", "id"],
    "ix_ar_invoices_customer_amount": ["customer_id", "currency", "total_minor", "id"],
    "ix_ar_invoices_customer_status_amount": ["customer_id", "status", "currency",
                                              "total_minor", "id"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, columns in INDEXES.items():
                # A failed concurrent build leaves an invalid index behind: drop it first.
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                op.create_index(name, "ar_invoices", columns, postgresql_concurrently=True)
        return
    for name, columns in INDEXES.items():
        op.create_index(name, "ar_invoices", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="ar_invoices")
