"""The database session of the current request.

One unit of work per request: views call services with ``uow().session`` and
commit once; anything not committed is rolled back when the request ends.
"""

from __future__ import annotations

from flask import current_app, g

from portal.db import Database, UnitOfWork


def database() -> Database:
    """Return the app's database."""
    return current_app.extensions["portal.db"]


def uow() -> UnitOfWork:
    """Return the request's unit of work, starting it on first use."""
    if "portal_uow" not in g:
        unit = database().unit_of_work()
        g.portal_uow = unit.__enter__()
    return g.portal_uow


def close_request_uow(_exc: BaseException | None = None) -> None:
    """Roll back and close the request's unit of work, if one was started."""
    unit = g.pop("portal_uow", None)
    if unit is not None:
        unit.__exit__(None, None, None)
