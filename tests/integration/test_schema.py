"""The migrations and the models describe the same database: a table, column or index
added to one and not the other fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import portal.models  # noqa: F401  (every table the portal owns)
from portal.db import Base


def test_migrations_and_models_agree(db):
    # ``db`` is a fresh database built by running every migration.
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
