"""The migrations and the models describe the same database: a table, column or index
added to one and not the other fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import portal.models  # noqa: F401  (every table the portal owns)
from portal.db import EXPRESSION_INDEXES, Base, autogenerate_includes


def test_migrations_and_models_agree(db):
    # ``db`` is a fresh database built by running every migration.
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": autogenerate_includes})
        differences = compare_metadata(context, Base.metadata)
        if connection.dialect.name == "sqlite":  # its reflection skips expression indexes
            indexes = set(connection.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'index'")))
        else:
            indexes = {i["name"] for i in inspect(connection).get_indexes("ar_invoices")}
    assert differences == []
    # The indexes autogenerate cannot compare are there all the same.
    assert indexes >= EXPRESSION_INDEXES
