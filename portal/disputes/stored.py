"""Attachment files written inside a transaction are taken back if it rolls back.

A message's files go to the store (:mod:`portal.disputes.files`) before the rows that
name them are committed. Should the transaction then roll back (a database error, a
conflict found later in the same unit of work), nothing would name those files again:
customers' documents kept on disk that nobody can see or delete. :func:`written` notes
each key on the session; the outermost commit keeps them, anything else deletes them.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.disputes.files import Storage

log = logging.getLogger("portal.disputes.stored")

_WRITTEN = "portal.disputes.stored.written"


def written(session: Session, storage: Storage, key: str) -> None:
    """Note that ``key`` was written to ``storage`` in ``session``'s transaction."""
    session.info.setdefault(_WRITTEN, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _taken_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: what it wrote is decided with the outer transaction
    for storage, key in session.info.pop(_WRITTEN, []):
        try:
            storage.delete(key)
        except OSError:
            log.exception("attachment %s was written by a rolled-back transaction and "
                          "could not be deleted", key)
