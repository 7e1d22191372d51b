"""Tasks queued by a transaction, enqueued only once it commits (forgotten if it rolls back).

Settlement code runs inside a unit of work and must not send e-mail for a
payment whose transaction may still roll back. It calls :func:`enqueue` with a
task name (:mod:`portal.tasks`) and arguments; they are held on the session and
handed to :func:`portal.tasks.enqueue` after the outermost commit, each once.

Inside a request they wait until the view has returned and the request's own
transaction has ended (:func:`portal.core.request_db.close_request_uow`): the
request's session may be the one committing, the task's templates may read
through it, and on SQLite its write lock would keep the task's session waiting.
A task that cannot be queued is logged, never turned into an error: what the
transaction did is committed whatever happens to its e-mail.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import after_this_request, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal import tasks

log = logging.getLogger("portal.after_commit")

_PENDING = "portal.after_commit.pending"


def enqueue(session: Session, name: str, **kwargs: Any) -> None:
    """Enqueue task ``name`` with ``kwargs`` once ``session``'s transaction commits (once)."""
    pending = session.info.setdefault(_PENDING, [])
    if (name, kwargs) not in pending:
        pending.append((name, kwargs))


def _enqueue_all(pending: list[tuple[str, dict[str, Any]]]) -> None:
    for name, kwargs in pending:
        try:
            tasks.enqueue(name, **kwargs)
        except Exception:
            log.exception("task %s %r was not queued", name, kwargs)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the real commit is still to come
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if has_request_context():
        from portal.core.request_db import close_request_uow

        @after_this_request
        def _run(response):
            close_request_uow()
            _enqueue_all(pending)
            return response
    else:
        _enqueue_all(pending)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit (a commit took the list already).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
