"""ledger guards: the database itself keeps the journal append-only and balanced

Other systems write to the shared ledger's database too, so the rules cannot
live only in the portal's code (DESIGN.md, ledger rule 3):

- UPDATE, DELETE and TRUNCATE on ``ar_journal_entries`` and
  ``ar_journal_lines`` are refused. A mistake is corrected by a reversing entry.
- On PostgreSQL, a deferred constraint trigger checks at COMMIT that every
  entry touched by the transaction has at least two lines summing to zero per
  currency; an unbalanced entry makes the whole transaction fail.
- SQLite has no deferred triggers, so there only the append-only rule is
  enforced by the database; ``portal ledger check`` catches the rest.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JOURNAL_TABLES = ("ar_journal_entries", "ar_journal_lines")

PG_UPGRADE = """
CREATE FUNCTION ar_journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the AR journal is append-only: % on % is refused; post a reversing entry',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'raise_exception';
END $$;

CREATE FUNCTION ar_journal_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_entry bigint;
  v_lines integer;
  v_currency text;
  v_sum numeric;
BEGIN
  IF TG_TABLE_NAME = 'ar_journal_entries' THEN
    v_entry := NEW.id;
  ELSE
    v_entry := NEW.entry_id;
  END IF;
  SELECT count(*) INTO v_lines FROM ar_journal_lines WHERE entry_id = v_entry;
  IF v_lines < 2 THEN
    RAISE EXCEPTION 'AR journal entry % has % line(s); an entry needs at least two',
      v_entry, v_lines USING ERRCODE = 'check_violation';
  END IF;
  SELECT currency, sum(amount_minor) INTO v_currency, v_sum FROM ar_journal_lines
    WHERE entry_id = v_entry GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'AR journal entry % is unbalanced: its % lines sum to %',
      v_entry, v_currency, v_sum USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ar_journal_lines_balanced
  AFTER INSERT ON ar_journal_lines DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ar_journal_check_entry_balanced();
CREATE CONSTRAINT TRIGGER ar_journal_entries_have_lines
  AFTER INSERT ON ar_journal_entries DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ar_journal_check_entry_balanced();
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_UPGRADE)
        for table in JOURNAL_TABLES:
            op.execute(f"""
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                  FOR EACH ROW EXECUTE FUNCTION ar_journal_refuse_change();
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                  FOR EACH STATEMENT EXECUTE FUNCTION ar_journal_refuse_change();
            """)
    elif dialect == "sqlite":
        for table in JOURNAL_TABLES:
            for operation in ("UPDATE", "DELETE"):
                op.execute(f"""
                    CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
                    BEGIN
                      SELECT RAISE(ABORT, 'the AR journal is append-only: {operation} on {table} is refused; post a reversing entry');
                    END""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in JOURNAL_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ar_journal_lines_balanced ON ar_journal_lines")
        op.execute("DROP TRIGGER IF EXISTS ar_journal_entries_have_lines ON ar_journal_entries")
        op.execute("DROP FUNCTION IF EXISTS ar_journal_check_entry_balanced()")
        op.execute("DROP FUNCTION IF EXISTS ar_journal_refuse_change()")
    elif dialect == "sqlite":
        for table in JOURNAL_TABLES:
            for operation in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
