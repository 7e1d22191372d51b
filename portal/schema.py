"""Schema migrations: Alembic revisions in ``migrations/``, run by ``portal db upgrade``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from portal.config import PROJECT_ROOT


def alembic_config(database_url: str) -> AlembicConfig:
    """Return an Alembic configuration for ``database_url`` without an ini file."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)
