"""Settings, read from ``PORTAL_*`` environment variables in this one place.

Every setting has a default that works on a fresh machine (SQLite in
``instance/``, tasks in-process, local stand-ins for Stripe and Plaid), so
``portal demo`` needs no configuration. Production sets the variables listed in
the README. Nothing else in the code reads ``os.environ`` for the portal's own
settings.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


def normalize_database_url(url: str) -> str:
    """Return ``url`` with the SQLAlchemy driver the portal uses (psycopg 3 for PostgreSQL)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Config:
    """The portal's settings; build one with :meth:`from_env` or directly in tests."""

    database_url: str = ""
    secret_key: str = ""
    instance_path: Path = DEFAULT_INSTANCE_PATH
    # The vendor's time zone decides discount deadlines and "overdue".
    vendor_timezone: str = "America/New_York"
    testing: bool = False
    extra: dict = field(default_factory=dict)

    # name of the environment variable for each field (PORTAL_ + upper name)
    _ENV_FIELDS = ("database_url", "secret_key", "instance_path", "vendor_timezone")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Config:
        """Build the settings from ``PORTAL_*`` variables, then apply ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for name in cls._ENV_FIELDS:
            raw = env.get("PORTAL_" + name.upper())
            if raw:
                values[name] = Path(raw) if name == "instance_path" else raw
        config = cls(**values)
        return config.with_defaults(**overrides)

    def with_defaults(self, **overrides) -> Config:
        """Fill what is unset (database in the instance folder, a generated secret key)."""
        config = replace(self, **overrides) if overrides else self
        instance = Path(config.instance_path)
        url = config.database_url or f"sqlite:///{instance / 'portal.db'}"
        key = config.secret_key or _instance_secret_key(instance)
        return replace(config, database_url=normalize_database_url(url), secret_key=key,
                       instance_path=instance)

    def as_flask_config(self) -> dict:
        """Return the settings Flask itself reads."""
        return {
            "SECRET_KEY": self.secret_key,
            "TESTING": self.testing,
            "PORTAL": self,
        }


def _instance_secret_key(instance: Path) -> str:
    """Return a secret key kept in the instance folder, creating it on first use.

    Only for the embedded set-up: production sets ``PORTAL_SECRET_KEY``. Keeping it
    in a file (not regenerating per start) keeps sessions valid across restarts.
    """
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def config_fields() -> list[str]:
    """Names of the settings, for documentation and tests."""
    return [f.name for f in fields(Config) if not f.name.startswith("_")]
