"""Alembic environment: the database URL comes from the caller or the PORTAL_* settings."""

from __future__ import annotations

from alembic import context

import portal.models  # noqa: F401  (registers every table on Base.metadata)
from portal.config import Config
from portal.db import Base, autogenerate_includes, make_engine

config = context.config
url = config.attributes.get("database_url") or Config.from_env().with_defaults().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"),
                      include_object=autogenerate_includes)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=url.startswith("sqlite"),
                          include_object=autogenerate_includes)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
