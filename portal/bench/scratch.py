"""Scratch databases for benchmarks: created beside the configured one, dropped afterwards.

Why a scratch database by default: the AR journal is append-only (the database
refuses DELETE and TRUNCATE on it), so a benchmark run into a real database
would leave thousands of made-up payments in the shared ledger for good.

- SQLite: a new file in the same folder as the configured database file, so
  the benchmark measures the same disk; removed afterwards with its WAL files.
- PostgreSQL: ``CREATE DATABASE portal_bench_<random>`` on the configured
  server (the configured role needs ``CREATEDB``), ``DROP DATABASE ... WITH
  (FORCE)`` afterwards.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from portal.config import normalize_database_url
from portal.schema import upgrade

PREFIX = "portal_bench_"


class ScratchError(RuntimeError):
    """A scratch database could not be created."""


def scratch_name(suffix: str = "") -> str:
    """Return a new, random database name such as ``portal_bench_3f9a1c0d``."""
    return PREFIX + secrets.token_hex(4) + suffix


@contextmanager
def scratch_database(url: str, *, migrate: bool = True, suffix: str = "") -> Iterator[str]:
    """Yield the URL of a new database beside ``url`` (migrated unless told not to).

    The database is dropped (or the file removed) when the block ends, whether
    it ends normally or by an exception.
    """
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        with _sqlite_scratch(parsed, suffix) as scratch_url:
            if migrate:
                upgrade(scratch_url)
            yield scratch_url
        return
    if parsed.get_backend_name() != "postgresql":
        raise ScratchError(f"no scratch databases on {parsed.get_backend_name()}")
    with _postgres_scratch(parsed, suffix) as scratch_url:
        if migrate:
            upgrade(scratch_url)
        yield scratch_url


@contextmanager
def _sqlite_scratch(parsed: URL, suffix: str) -> Iterator[str]:
    configured = parsed.database
    folder = (Path(configured).resolve().parent
              if configured and configured != ":memory:" else Path(tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scratch_name(suffix)}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)


@contextmanager
def _postgres_scratch(parsed: URL, suffix: str) -> Iterator[str]:
    name = scratch_name(suffix)
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            raise ScratchError(
                f"cannot create scratch database {name}: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]} (the configured role needs CREATEDB; "
                "or use --no-scratch on a database made for benchmarking)") from exc
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
