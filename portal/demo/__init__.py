"""``portal demo``: a vendor, its customers and a year of AR history, ready to click through.

- :mod:`portal.demo.catalog` — the fictitious vendor, its products and customers
  (plain data);
- :mod:`portal.demo.plan` and :mod:`portal.demo.stories` — the history as a
  time line of events, deterministic for a given "today" (no database);
- :mod:`portal.demo.data` — posts that time line through the ledger's API;
- :mod:`portal.demo.hooks` — the other features' demo loaders (users, invoice
  links), which give the ``sign in:`` and ``invoice link:`` lines;
- :mod:`portal.demo.services` — migrate, load once, run the hooks, check;
- :mod:`portal.demo.local_stripe` — a local Stripe when no Stripe keys are set;
- :mod:`portal.demo.cli` — the command, which prints and serves.
"""
