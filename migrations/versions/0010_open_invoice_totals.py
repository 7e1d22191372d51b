"""open invoice totals: the list summary's figures per customer, currency and due date

A read model kept by the database (see :mod:`portal.invoices.models`): triggers
on ``ar_invoices`` append what each change does to the figures of open invoices
(count, balance, reservations, what is left to pay) to
``portal_open_invoice_deltas``; ``portal.invoices.open_totals.compact`` folds
them into ``portal_open_invoice_totals``. Existing open invoices are folded in
here, so the tables are right from the start.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FIGURES = ("open_count", "balance_minor", "reserved_count", "reserved_minor", "payable_count",
           "payable_minor")
KEY = ("customer_id", "currency", "due_date")
COLUMNS = ", ".join(KEY + FIGURES)


def contribution(row: str) -> list[str]:
    """What invoice ``row`` (NEW, OLD, or a table alias) adds to each figure, as SQL."""
    is_open = f"{row}.status = 'open'"
    payable = f"{is_open} AND {row}.balance_minor > {row}.reserved_minor"
    return [f"CASE WHEN {is_open} THEN 1 ELSE 0 END",
            f"CASE WHEN {is_open} THEN {row}.balance_minor ELSE 0 END",
            f"CASE WHEN {is_open} AND {row}.reserved_minor > 0 THEN 1 ELSE 0 END",
            f"CASE WHEN {is_open} THEN {row}.reserved_minor ELSE 0 END",
            f"CASE WHEN {payable} THEN 1 ELSE 0 END",
            f"CASE WHEN {payable} THEN {row}.balance_minor - {row}.reserved_minor ELSE 0 END"]


def _key(row: str) -> str:
    return ", ".join(f"{row}.{column}" for column in KEY)


SAME_KEY = " AND ".join(f"NEW.{c} = OLD.{c}" for c in KEY)
CHANGED = (f"({contribution('NEW')[0]}) <> ({contribution('OLD')[0]}) "
           "OR NEW.balance_minor <> OLD.balance_minor OR NEW.reserved_minor <> OLD.reserved_minor")
DIFFERENCE = ", ".join(f"({new}) - ({old})" for new, old in
                       zip(contribution("NEW"), contribution("OLD"), strict=True))
PLUS_NEW = ", ".join(contribution("NEW"))
MINUS_OLD = ", ".join(f"-({old})" for old in contribution("OLD"))
INSERT = f"INSERT INTO portal_open_invoice_deltas ({COLUMNS})"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER portal_open_invoice_inserted AFTER INSERT ON ar_invoices
        WHEN NEW.status = 'open'
        BEGIN {INSERT} VALUES ({_key('NEW')}, {PLUS_NEW}); END""",
    f"""CREATE TRIGGER portal_open_invoice_updated AFTER UPDATE ON ar_invoices
        WHEN OLD.status = 'open' OR NEW.status = 'open'
        BEGIN
          {INSERT} SELECT {_key('NEW')}, {DIFFERENCE} WHERE {SAME_KEY} AND ({CHANGED});
          {INSERT} SELECT {_key('OLD')}, {MINUS_OLD}
            WHERE NOT ({SAME_KEY}) AND OLD.status = 'open';
          {INSERT} SELECT {_key('NEW')}, {PLUS_NEW}
            WHERE NOT ({SAME_KEY}) AND NEW.status = 'open';
        END""",
    f"""CREATE TRIGGER portal_open_invoice_deleted AFTER DELETE ON ar_invoices
        WHEN OLD.status = 'open'
        BEGIN {INSERT} VALUES ({_key('OLD')}, {MINUS_OLD}); END""",
]

PG_FUNCTION = f"""
CREATE FUNCTION portal_open_invoice_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status = 'open' THEN
      {INSERT} VALUES ({_key('NEW')}, {PLUS_NEW});
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.status = 'open' THEN
      {INSERT} VALUES ({_key('OLD')}, {MINUS_OLD});
    END IF;
  ELSIF OLD.status = 'open' OR NEW.status = 'open' THEN
    IF {SAME_KEY} THEN
      IF {CHANGED} THEN
        {INSERT} VALUES ({_key('NEW')}, {DIFFERENCE});
      END IF;
    ELSE
      IF OLD.status = 'open' THEN
        {INSERT} VALUES ({_key('OLD')}, {MINUS_OLD});
      END IF;
      IF NEW.status = 'open' THEN
        {INSERT} VALUES ({_key('NEW')}, {PLUS_NEW});
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER portal_open_invoice_delta AFTER INSERT OR UPDATE OR DELETE ON ar_invoices
  FOR EACH ROW EXECUTE FUNCTION portal_open_invoice_delta();
"""

FOLD_EXISTING = f"""
INSERT INTO portal_open_invoice_totals ({COLUMNS})
SELECT {_key('i')}, {", ".join(f"sum({c})" for c in contribution('i'))}
FROM ar_invoices i WHERE i.status = 'open' GROUP BY {_key('i')}
"""


def _figures() -> list[sa.Column]:
    return [sa.Column(name, BigId, nullable=False) for name in FIGURES]


def upgrade() -> None:
    op.create_table(
        "portal_open_invoice_totals",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        *_figures(),
        sa.ForeignKeyConstraint(["customer_id"], ["ar_customers.id"],
                                name=op.f("fk_portal_open_invoice_totals_customer_id_ar_customers")),
        sa.PrimaryKeyConstraint("customer_id", "currency", "due_date",
                                name=op.f("pk_portal_open_invoice_totals")),
    )
    op.create_table(
        "portal_open_invoice_deltas",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        *_figures(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_open_invoice_deltas")),
    )
    op.create_index("ix_portal_open_invoice_deltas_customer_id", "portal_open_invoice_deltas",
                    ["customer_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    op.execute(FOLD_EXISTING)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER portal_open_invoice_delta ON ar_invoices")
        op.execute("DROP FUNCTION portal_open_invoice_delta()")
    else:
        for name in ("inserted", "updated", "deleted"):
            op.execute(f"DROP TRIGGER portal_open_invoice_{name}")
    op.drop_index("ix_portal_open_invoice_deltas_customer_id",
                  table_name="portal_open_invoice_deltas")
    op.drop_table("portal_open_invoice_deltas")
    op.drop_table("portal_open_invoice_totals")
