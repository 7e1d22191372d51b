"""Every table the portal owns, imported in one place for Alembic and the tests."""

from portal.ledger import models as ledger_models  # noqa: F401
