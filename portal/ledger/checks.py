"""``portal ledger check``: re-derive every ledger invariant from the tables.

Reads only; trusts nothing the portal caches. Each check is one SQL query
ordered so that the *first* violation (lowest id) is named. The checks, in
order:

1. every entry has at least two lines, and its lines sum to zero per currency;
2. every line is on a known account, non-zero, and names a customer where the
   account needs one (receivable lines also an invoice);
3. receivable lines match their invoice's customer and currency;
4. every invoice's cached balance equals the sum of its receivable lines and is
   not negative, and its cached status fits it (open while anything is owed;
   paid, credited, written off or void at zero);
5. active reservations belong to unsettled payments, and each invoice's cached
   reservation total equals its active reservations;
6. a payment's allocations do not exceed its amount, and each settled payment
   has exactly one settlement entry whose receivable lines equal its
   allocations (cash plus discount);
7. idempotency keys are unique (the index says so; another writer may not have
   kept it);
8. the portal's open-invoice totals (a read model the database keeps with
   triggers, :mod:`portal.invoices.models`) equal what the open invoices add up to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from portal.ledger import accounts
from portal.ledger.models import UNSETTLED_STATUSES


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    """Totals of one currency."""

    currency: str
    entries: int
    open_ar_minor: int
    customer_credit_minor: int


@dataclass(slots=True)
class CheckResult:
    """The outcome: ``violation`` names the first broken invariant, or is None."""

    violation: str | None
    summaries: list[CurrencySummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every invariant holds."""
        return self.violation is None


def _in_list(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_UNSETTLED = _in_list(UNSETTLED_STATUSES)
_SETTLED = _in_list(("succeeded", "reversed"))
_ACCOUNTS = _in_list(sorted(accounts.ACCOUNTS))
_CUSTOMER_ACCOUNTS = _in_list(sorted(accounts.CUSTOMER_ACCOUNTS))

# (query, message) pairs: the query returns the first offending row or nothing.
_FIGURE_NAMES = ("open_count", "balance_minor", "reserved_count", "reserved_minor",
                 "payable_count", "payable_minor")
_FIGURES = ", ".join(_FIGURE_NAMES)
_FIGURE_SUMS = ", ".join(f"sum({name}) AS {name}" for name in _FIGURE_NAMES)
_ANY_FIGURE_NOT_ZERO = " OR ".join(f"{name} <> 0" for name in _FIGURE_NAMES)
# What an open invoice contributes to each figure, negated (see migration 0010).
_MINUS_OPEN_INVOICE = ", ".join((
    "-1", "-balance_minor", "-(CASE WHEN reserved_minor > 0 THEN 1 ELSE 0 END)",
    "-reserved_minor", "-(CASE WHEN balance_minor > reserved_minor THEN 1 ELSE 0 END)",
    "-(CASE WHEN balance_minor > reserved_minor THEN balance_minor - reserved_minor ELSE 0 END)"))


_CHECKS: list[tuple[str, str]] = [
    (
        """SELECT e.id, e.idempotency_key, count(l.id) FROM ar_journal_entries e
           LEFT JOIN ar_journal_lines l ON l.entry_id = e.id
           GROUP BY e.id, e.idempotency_key HAVING count(l.id) < 2 ORDER BY e.id LIMIT 1""",
        "entry {0} ({1!r}) has {2} line(s); an entry needs at least two",
    ),
    (
        """SELECT e.id, e.idempotency_key, l.currency, sum(l.amount_minor)
           FROM ar_journal_lines l JOIN ar_journal_entries e ON e.id = l.entry_id
           GROUP BY e.id, e.idempotency_key, l.currency HAVING sum(l.amount_minor) <> 0
           ORDER BY e.id LIMIT 1""",
        "entry {0} ({1!r}) is unbalanced: its {2} lines sum to {3}, not zero",
    ),
    (
        f"""SELECT l.entry_id, l.id, l.account FROM ar_journal_lines l
            WHERE l.account NOT IN {_ACCOUNTS} ORDER BY l.entry_id, l.id LIMIT 1""",
        "entry {0}: line {1} is on unknown account {2!r}",
    ),
    (
        """SELECT l.entry_id, l.id FROM ar_journal_lines l WHERE l.amount_minor = 0
           ORDER BY l.entry_id, l.id LIMIT 1""",
        "entry {0}: line {1} has a zero amount",
    ),
    (
        f"""SELECT l.entry_id, l.id, l.account FROM ar_journal_lines l
            WHERE (l.account IN {_CUSTOMER_ACCOUNTS} AND l.customer_id IS NULL)
               OR (l.account = '{accounts.RECEIVABLE}' AND l.invoice_id IS NULL)
            ORDER BY l.entry_id, l.id LIMIT 1""",
        "entry {0}: {2} line {1} does not name its customer and invoice",
    ),
    (
        f"""SELECT l.entry_id, i.number, l.id FROM ar_journal_lines l
            JOIN ar_invoices i ON i.id = l.invoice_id
            WHERE l.account = '{accounts.RECEIVABLE}'
              AND (l.customer_id <> i.customer_id OR l.currency <> i.currency)
            ORDER BY l.entry_id, l.id LIMIT 1""",
        "entry {0}: receivable line {2} does not match invoice {1}'s customer or currency",
    ),
    (
        f"""SELECT i.number, i.balance_minor, coalesce(r.total, 0) FROM ar_invoices i
            LEFT JOIN (SELECT invoice_id, sum(amount_minor) AS total FROM ar_journal_lines
                       WHERE account = '{accounts.RECEIVABLE}' GROUP BY invoice_id) r
              ON r.invoice_id = i.id
            WHERE i.balance_minor <> coalesce(r.total, 0) OR coalesce(r.total, 0) < 0
            ORDER BY i.id LIMIT 1""",
        "invoice {0}: balance {1} does not equal its receivable lines ({2}) or is negative",
    ),
    (
        """SELECT i.number, i.status, i.balance_minor FROM ar_invoices i
           WHERE (i.balance_minor > 0 AND i.status <> 'open')
              OR (i.balance_minor = 0
                  AND i.status NOT IN ('paid', 'credited', 'written_off', 'void'))
           ORDER BY i.id LIMIT 1""",
        "invoice {0}: status {1!r} does not fit its balance {2}",
    ),
    (
        f"""SELECT p.id, p.status, r.invoice_id FROM ar_reservations r
            JOIN ar_payments p ON p.id = r.payment_id
            WHERE r.released_at IS NULL AND p.status NOT IN {_UNSETTLED}
            ORDER BY p.id LIMIT 1""",
        "payment {0}: has status {1} but still reserves invoice id {2}",
    ),
    (
        """SELECT i.number, i.reserved_minor, coalesce(r.total, 0) FROM ar_invoices i
           LEFT JOIN (SELECT invoice_id, sum(amount_minor + discount_minor) AS total
                      FROM ar_reservations WHERE released_at IS NULL GROUP BY invoice_id) r
             ON r.invoice_id = i.id
           WHERE i.reserved_minor <> coalesce(r.total, 0)
           ORDER BY i.id LIMIT 1""",
        "invoice {0}: reserved {1} does not equal its active reservations ({2})",
    ),
    (
        """SELECT p.id, p.amount_minor, sum(a.amount_minor) FROM ar_payments p
           JOIN ar_payment_allocations a ON a.payment_id = p.id
           GROUP BY p.id, p.amount_minor HAVING sum(a.amount_minor) > p.amount_minor
           ORDER BY p.id LIMIT 1""",
        "payment {0}: allocations ({2}) exceed its amount ({1})",
    ),
    (
        # Settled: a settlement time, or a status only a settled payment has (another
        # writer may set one without the other).
        f"""SELECT p.id, p.status, count(e.id) FROM ar_payments p
           LEFT JOIN ar_journal_entries e ON e.payment_id = p.id AND e.kind = 'payment_settled'
           GROUP BY p.id, p.status, p.settled_at
           HAVING ((p.settled_at IS NOT NULL OR p.status IN {_SETTLED}) AND count(e.id) <> 1)
               OR (p.settled_at IS NULL AND p.status NOT IN {_SETTLED} AND count(e.id) <> 0)
           ORDER BY p.id LIMIT 1""",
        "payment {0} ({1}) has {2} settlement entries",
    ),
    (
        """SELECT p.id, p.status, count(e.id) FROM ar_payments p
           LEFT JOIN ar_journal_entries e ON e.payment_id = p.id AND e.kind = 'payment_reversed'
           GROUP BY p.id, p.status
           HAVING (p.status = 'reversed' AND count(e.id) <> 1)
               OR (p.status <> 'reversed' AND count(e.id) <> 0)
           ORDER BY p.id LIMIT 1""",
        "payment {0} ({1}) has {2} reversal entries",
    ),
    (
        # Both ways round: a settlement line without its allocation, and an
        # allocation without its settlement line.
        f"""SELECT x.payment_id, x.invoice_id, sum(x.journal), sum(x.allocated) FROM (
              SELECT e.payment_id, l.invoice_id, -l.amount_minor AS journal, 0 AS allocated
              FROM ar_journal_entries e JOIN ar_journal_lines l ON l.entry_id = e.id
              WHERE e.kind = 'payment_settled' AND l.account = '{accounts.RECEIVABLE}'
              UNION ALL
              SELECT a.payment_id, a.invoice_id, 0, a.amount_minor + a.discount_minor
              FROM ar_payment_allocations a
            ) x GROUP BY x.payment_id, x.invoice_id HAVING sum(x.journal) <> sum(x.allocated)
            ORDER BY x.payment_id, x.invoice_id LIMIT 1""",
        "payment {0}: its settlement takes {2} from invoice id {1} but allocates {3}",
    ),
    (
        """SELECT idempotency_key, count(*) FROM ar_journal_entries
           GROUP BY idempotency_key HAVING count(*) > 1 ORDER BY idempotency_key LIMIT 1""",
        "idempotency key {0!r} is used by {1} entries",
    ),
    (
        # Not a ledger rule: the portal's read model of it (portal.invoices.models), kept
        # by triggers; checked here so that drift is found with everything else.
        f"""SELECT customer_id, currency, due_date FROM (
              SELECT customer_id, currency, due_date, {_FIGURE_SUMS} FROM (
                SELECT customer_id, currency, due_date, {_FIGURES} FROM portal_open_invoice_totals
                UNION ALL
                SELECT customer_id, currency, due_date, {_FIGURES} FROM portal_open_invoice_deltas
                UNION ALL
                SELECT customer_id, currency, due_date, {_MINUS_OPEN_INVOICE} FROM ar_invoices
                WHERE status = 'open') AS everything
              GROUP BY customer_id, currency, due_date) AS difference
            WHERE {_ANY_FIGURE_NOT_ZERO}
            ORDER BY customer_id, currency, due_date LIMIT 1""",
        "open-invoice totals of customer id {0} in {1} due {2} do not match its open invoices",
    ),
]

_SUMMARY = f"""
SELECT c.currency,
  (SELECT count(DISTINCT l2.entry_id) FROM ar_journal_lines l2 WHERE l2.currency = c.currency),
  (SELECT coalesce(sum(l3.amount_minor), 0) FROM ar_journal_lines l3
     WHERE l3.currency = c.currency AND l3.account = '{accounts.RECEIVABLE}'),
  (SELECT coalesce(-sum(l4.amount_minor), 0) FROM ar_journal_lines l4
     WHERE l4.currency = c.currency AND l4.account = '{accounts.CUSTOMER_CREDIT}')
FROM (SELECT DISTINCT currency FROM ar_journal_lines) c ORDER BY c.currency
"""


def run_checks(session: Session) -> CheckResult:
    """Run every check; return the first violation (or none) and the per-currency summary."""
    for query, message in _CHECKS:
        row = session.execute(text(query)).first()
        if row is not None:
            return CheckResult(violation=message.format(*row))
    summaries = [CurrencySummary(cur, int(n), int(ar), int(credit))
                 for cur, n, ar, credit in session.execute(text(_SUMMARY))]
    return CheckResult(violation=None, summaries=summaries)
