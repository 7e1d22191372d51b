"""Prepare the demo database: create or migrate it, load the data once, run the hooks, check.

The command (:mod:`portal.demo.cli`) prints and serves; everything it does to
the database happens here, so tests and other entry points can run it too.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from portal.db import Database
from portal.demo import data, hooks
from portal.ledger.checks import CheckResult, run_checks
from portal.schema import upgrade


class DemoError(Exception):
    """The demo cannot be prepared as asked; the message says why, for people."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What preparing the demo did and found."""

    loaded: bool  # False when the data was already there and nothing was loaded
    seconds: float
    summary: data.DemoSummary
    lines: list[str]  # what the hooks returned, to print
    check: CheckResult


def reset_sqlite(database: Database) -> Path:
    """Delete the SQLite database file (and its WAL files) so it is created afresh."""
    url = make_url(database.url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise DemoError("--reset deletes the SQLite database file; for PostgreSQL, drop and "
                        "create the database yourself (the journal refuses DELETE)")
    database.dispose()  # no pooled connection may keep the old file open
    path = Path(url.database)
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


def prepare(database: Database, *, base_url: str, reset: bool = False,
            now: dt.datetime | None = None) -> DemoRun:
    """Migrate, load the demo unless it is there, run every hook, then check the ledger.

    Raises :class:`DemoError` if the database holds other data.
    """
    if reset:
        reset_sqlite(database)
    upgrade(database.url)
    today = data.vendor_today(now)
    started = time.perf_counter()
    with database.unit_of_work() as uow:
        try:
            loaded = data.load(uow.session, today, now=now)
        except data.DemoRefused as exc:
            raise DemoError(str(exc)) from None
        found = data.describe(uow.session, today)
        context = hooks.DemoContext(today=today, base_url=base_url,
                                    customer_numbers=found.customer_numbers,
                                    showcase_invoice=found.showcase_invoice)
        lines = [line for hook in hooks.registered_hooks()
                 for line in hook(uow.session, context)]
        uow.commit()
    seconds = time.perf_counter() - started
    with database.session() as session:
        check = run_checks(session)
    return DemoRun(loaded=loaded, seconds=seconds, summary=found, lines=lines, check=check)
