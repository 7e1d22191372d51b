"""Customer payments in the portal: the checkout (``/pay``), settlement through the
gateways (webhooks, the return page, the reconciliation sweep), the payment history
(``/payments``) and receipts. Every posting goes through :mod:`portal.ledger.payments`.

- :mod:`portal.payments.checkout` — what a selection costs, computed on the server;
- :mod:`portal.payments.settlement` — one idempotent path from a gateway's outcome to the ledger;
- :mod:`portal.payments.history` — the account's payments, one payment, the receipt;
- :mod:`portal.payments.bank_accounts` — the bank accounts ACH debits come from
  (``/bank-accounts``: linked with Plaid, or typed in and verified by micro-deposits).
"""
