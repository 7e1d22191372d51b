"""Read-only units of work: what a GET request reads with, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from portal.ledger.models import Customer
from tests import builders


def test_a_read_only_unit_of_work_refuses_to_write(db):
    with db.unit_of_work(read_only=True) as reader:
        assert reader.session.scalar(select(func.count()).select_from(Customer)) == 0
        reader.session.add(Customer(number="C-RO", name="Read Only", currency="USD"))
        with pytest.raises(DBAPIError):
            reader.session.flush()

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_the_connection_a_reader_used_writes_again_afterwards(db):
    for _ in range(3):  # the pool hands the same connection back and forth
        with db.unit_of_work(read_only=True) as reader:
            reader.session.scalar(select(func.count()).select_from(Customer))
        with db.unit_of_work() as writer:
            builders.customer(writer.session, number=f"C-{_}")
            writer.commit()

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 3


def test_a_writer_commits_while_a_reader_is_open(db):
    """Readers do not hold the write lock (SQLite: WAL), so pages never queue behind them."""
    with db.unit_of_work(read_only=True) as reader:
        before = reader.session.scalar(select(func.count()).select_from(Customer))
        with db.unit_of_work() as writer:
            builders.customer(writer.session, number="C-WHILE-READING")
            writer.commit()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == before + 1
