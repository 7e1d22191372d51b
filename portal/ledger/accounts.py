"""The ledger's chart of accounts and its sign convention.

A line's ``amount_minor`` is signed: positive is a debit, negative a credit.
Asset accounts (receivable, cash clearing) normally carry debit (positive)
balances; liability and income accounts (customer credit, revenue, tax) carry
credit (negative) balances; contra-revenue and expense accounts (discounts
allowed, sales returns, bad debt) carry debit balances.

``receivable`` lines always name the customer and the invoice; the balance of
an invoice is the sum of its receivable lines. ``customer_credit`` lines name
the customer; the customer's credit is minus the sum of those lines.
"""

from __future__ import annotations

RECEIVABLE = "receivable"
CUSTOMER_CREDIT = "customer_credit"
REVENUE = "revenue"
TAX_PAYABLE = "tax_payable"
DISCOUNTS_ALLOWED = "discounts_allowed"
SALES_RETURNS = "sales_returns"
BAD_DEBT = "bad_debt"
CASH_CLEARING_PREFIX = "cash_clearing:"

GATEWAYS = ("stripe", "external")


def cash_clearing(gateway: str) -> str:
    """Return the cash clearing account of ``gateway`` (``cash_clearing:stripe``)."""
    if gateway not in GATEWAYS:
        raise ValueError(f"unknown gateway {gateway!r}")
    return CASH_CLEARING_PREFIX + gateway


ACCOUNTS = frozenset(
    {RECEIVABLE, CUSTOMER_CREDIT, REVENUE, TAX_PAYABLE, DISCOUNTS_ALLOWED, SALES_RETURNS,
     BAD_DEBT} | {cash_clearing(g) for g in GATEWAYS}
)

# Accounts whose lines must name a customer.
CUSTOMER_ACCOUNTS = frozenset({RECEIVABLE, CUSTOMER_CREDIT})


def is_known(account: str) -> bool:
    """Tell whether ``account`` is in the chart of accounts."""
    return account in ACCOUNTS
