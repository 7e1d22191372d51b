"""The shared accounts-receivable ledger: the one place that moves money.

Design (DESIGN.md, "The shared AR ledger"):

- Money is integer minor units plus an ISO 4217 code (:mod:`portal.money`).
- Every change of a balance is a journal entry of two or more lines summing to
  zero per currency (:mod:`portal.ledger.entries`); lines are signed, debit
  positive (:mod:`portal.ledger.accounts`).
- The journal is append-only (:mod:`portal.ledger.store`); on PostgreSQL the
  database refuses UPDATE, DELETE, TRUNCATE and unbalanced entries too (the
  ``ledger guards`` migration).
- Every posting has a unique idempotency key; posting it again returns the
  first entry and changes nothing.
- An invoice's balance is the sum of its receivable lines and never negative;
  money beyond it goes to customer credit.
- Unsettled payments reserve what they take; others may pay only
  ``balance - reserved``.
- Writes that depend on a balance lock what they read first.
- :func:`portal.ledger.checks.run_checks` re-derives all of this from the tables.

The posting API, for the portal's services, the CLI and the ERP API:
"""

from portal.ledger.entries import LedgerError
from portal.ledger.invoicing import (
    InvoiceInput,
    LineInput,
    adjust_invoice,
    create_invoice,
    issue_credit_memo,
    write_off,
)
from portal.ledger.payments import (
    AllocationInput,
    apply_credit,
    customer_credit,
    fail_payment,
    mark_payment,
    record_external_payment,
    reverse_payment,
    settle_payment,
    start_payment,
)
from portal.ledger.store import IdempotencyConflict, Posted

__all__ = [
    "AllocationInput",
    "IdempotencyConflict",
    "InvoiceInput",
    "LedgerError",
    "LineInput",
    "Posted",
    "adjust_invoice",
    "apply_credit",
    "create_invoice",
    "customer_credit",
    "fail_payment",
    "issue_credit_memo",
    "mark_payment",
    "record_external_payment",
    "reverse_payment",
    "settle_payment",
    "start_payment",
    "write_off",
]
