"""``portal bench ...``: measure the portal on the configured database server.

Each benchmark runs against a scratch database it creates beside the configured
one (:mod:`portal.bench.scratch`) and drops afterwards, so a benchmark never
writes into a real ledger, whose journal is append-only and could not be
cleaned. Each prints one JSON object, so runs can be compared and recorded.

- :mod:`portal.bench.ledger` — payments started and settled concurrently;
- :mod:`portal.bench.pgbench` — PostgreSQL's own TPC-B figure on the same server,
  the yardstick the ledger's throughput is compared with.
"""
