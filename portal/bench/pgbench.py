"""PostgreSQL's own TPC-B benchmark (``pgbench``) on the server the portal uses.

The ledger's throughput means little alone: the same server, disk and CPUs
give a reference in PostgreSQL's built-in TPC-B-like transaction (three
UPDATEs, a SELECT and an INSERT, one commit). :func:`run_tpcb` initialises a
scratch pgbench database at a small scale, runs a fixed number of
transactions per client and returns the reported transactions per second.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from portal.bench.scratch import scratch_database
from portal.config import normalize_database_url

# pgbench 14+ prints "tps = 1234.567890 (without initial connection time)";
# older ones print two lines, the second "(excluding connections establishing)".
_TPS = re.compile(r"^tps = ([0-9]+(?:\.[0-9]+)?) \((?:without initial connection time|"
                  r"excluding connections establishing)\)", re.MULTILINE)


class PgbenchError(RuntimeError):
    """pgbench failed or printed no figure."""


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    """What one pgbench run reported."""

    tps: float
    clients: int
    threads: int
    transactions: int
    scale: int


def pgbench_path() -> str | None:
    """Return the path of ``pgbench`` on PATH, or None."""
    return shutil.which("pgbench")


def parse_tps(output: str) -> float:
    """Return the transactions per second that pgbench printed in ``output``."""
    match = _TPS.search(output)
    if match is None:
        raise PgbenchError(f"pgbench printed no tps line:\n{output[-2000:]}")
    return float(match.group(1))


def _environment(url: str) -> dict[str, str]:
    """Connection settings as libpq variables, so no password appears in argv."""
    parsed = make_url(url)
    env = dict(os.environ)
    for variable, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port),
                            ("PGUSER", parsed.username), ("PGPASSWORD", parsed.password),
                            ("PGDATABASE", parsed.database)):
        if value is not None:
            env[variable] = str(value)
    return env


def run_tpcb(url: str, *, clients: int, transactions_per_client: int, scale: int = 1,
             threads: int | None = None) -> PgbenchResult:
    """Run pgbench's TPC-B on a scratch database beside ``url``; return its tps.

    ``threads`` defaults to the smaller of ``clients`` and the CPUs, as the
    pgbench documentation advises for a client on the server's own machine.
    """
    program = pgbench_path()
    if program is None:
        raise PgbenchError("pgbench is not on PATH")
    threads = threads or max(1, min(clients, os.cpu_count() or 1))
    with scratch_database(normalize_database_url(url), migrate=False,
                          suffix="_pgbench") as scratch_url:
        env = _environment(scratch_url)
        _run([program, "--initialize", f"--scale={scale}", "--quiet"], env)
        output = _run([program, f"--client={clients}", f"--jobs={threads}",
                       f"--transactions={transactions_per_client}"], env)
    return PgbenchResult(tps=parse_tps(output), clients=clients, threads=threads,
                         transactions=transactions_per_client * clients, scale=scale)


def _run(argv: list[str], env: dict[str, str]) -> str:
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PgbenchError(f"{' '.join(argv[:2])} exited {completed.returncode}: "
                           f"{completed.stderr.strip()[-2000:]}")
    return completed.stdout + completed.stderr
