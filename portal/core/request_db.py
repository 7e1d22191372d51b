"""The database session of the current request.

One unit of work per request: views call services with ``uow().session`` and
commit once; anything not committed is rolled back when the request ends.

A GET or HEAD request's unit of work is read-only (:mod:`portal.db`): pages are
read side by side instead of queueing for SQLite's write lock, and a page that
tries to write fails at once. What a GET must write (a session's last-seen
time, a payment learned of on the return URL) goes through a unit of work of
its own, :func:`write_uow`.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request

from portal.db import Database, UnitOfWork


def database() -> Database:
    """Return the app's database."""
    return current_app.extensions["portal.db"]


# Requests that change nothing (RFC 9110, section 9.2.1): their unit of work cannot write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def uow() -> UnitOfWork:
    """Return the request's unit of work, starting it on first use."""
    if "portal_uow" not in g:
        read_only = has_request_context() and request.method in SAFE_METHODS
        unit = database().unit_of_work(read_only=read_only)
        g.portal_uow = unit.__enter__()
    return g.portal_uow


def write_uow() -> UnitOfWork:
    """Return a new unit of work that may write, apart from the request's (use ``with``).

    For the writes a read-only request must make. Not inside a request whose own
    unit of work may write: on SQLite the two would wait for each other's lock.
    """
    current = g.get("portal_uow")
    if current is not None and not current.read_only:
        raise RuntimeError("this request's unit of work writes: use uow(), not write_uow()")
    return database().unit_of_work()


def close_request_uow(_exc: BaseException | None = None) -> None:
    """Roll back and close the request's unit of work, if one was started."""
    unit = g.pop("portal_uow", None)
    if unit is not None:
        unit.__exit__(None, None, None)
