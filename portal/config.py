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
from dataclasses import dataclass, fields, replace
from pathlib import Path

from portal import clock

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
    # Public address of the portal, used in e-mailed links.
    base_url: str = "http://127.0.0.1:5000"
    # Served over HTTPS: secure cookies and HSTS.
    https: bool = False
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    # (0: none; the client address is the socket's).
    proxy_count: int = 0
    # Sessions: minutes without a request, and hours in all, before sign-in is needed again.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Sign-in throttle: this many failures per e-mail within a minute lock it for a while.
    login_failure_limit: int = 10
    login_lock_minutes: int = 15
    # Argon2id parameters for passwords: "rfc9106" (default) or "owasp" (lighter).
    password_hash: str = "rfc9106"
    invitation_days: int = 7
    password_reset_minutes: int = 60
    # Flask-Limiter storage: memory:// by default, redis://... in production.
    ratelimit_storage_url: str = "memory://"
    # E-mail: printed to the log unless an SMTP URL is set (smtp://user:pass@host:port).
    smtp_url: str = ""
    mail_from: str = "Northwind Billing <billing@northwind.example>"
    # Tasks run in-process unless a Celery broker is set (redis://127.0.0.1:6379/0).
    celery_broker_url: str = ""
    # Stripe: without a secret key the portal uses a local stand-in (localstripe); `portal demo`
    # starts one and fills these in. Test-mode keys (sk_test_/pk_test_) in development.
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    # Signing secret of the /webhooks/stripe endpoint (whsec_...), checked on every delivery.
    stripe_webhook_secret: str = ""
    # Base URL of the Stripe API; empty: Stripe's own. The local stand-in's URL in development.
    stripe_api_base: str = ""
    # Plaid (bank accounts for ACH): without keys the portal uses a local stand-in (a Plaid-API
    # server); `portal demo` starts one and fills these in. Sandbox keys in development.
    plaid_client_id: str = ""
    plaid_secret: str = ""
    # Plaid's environment: "sandbox" or "production" (its hosts); ignored when plaid_api_base
    # is set.
    plaid_env: str = "sandbox"
    # Base URL of the Plaid API; empty: Plaid's own host for plaid_env. The local stand-in's URL
    # in development.
    plaid_api_base: str = ""
    # Plaid Link's script; empty: Plaid's CDN (or the stand-in's, when plaid_api_base is set).
    plaid_link_js_url: str = ""
    # Key that encrypts Plaid access tokens stored in the database (they reach the bank
    # accounts); required in production, kept out of the database and its backups.
    bank_token_key: str = ""
    # Card payments still unsettled this many minutes after they started are checked with
    # Stripe by `portal payments reconcile` (and the payments.reconcile task).
    reconcile_after_minutes: int = 15
    # A card payment still waiting for the payer's 3-D Secure step this many minutes after it
    # started is canceled by the sweep, and its amounts released for others to pay.
    card_action_timeout_minutes: int = 60
    # Where dispute attachments are kept: a directory outside the web root, under generated
    # names; empty: <instance_path>/attachments (portal.disputes.files).
    attachments_dir: str = ""
    # A fixed "now" (ISO 8601, e.g. 2026-11-20T15:00:00Z) for demos and tests; empty: real time.
    clock: str = ""
    testing: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Config:
        """Build the settings from ``PORTAL_*`` variables, then apply ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            raw = env.get("PORTAL_" + f.name.upper())
            if raw is None or raw == "" or f.name == "testing":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
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


class ConfigError(ValueError):
    """A ``PORTAL_*`` variable whose value cannot be used."""


def _convert(name: str, annotation: str, raw: str):
    if annotation == "Path":
        return Path(raw)
    if annotation == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"PORTAL_{name.upper()} must be true or false, not {raw!r}")
    if annotation == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"PORTAL_{name.upper()} must be a whole number, "
                              f"not {raw!r}") from None
    if name == "clock":
        try:
            clock.parse(raw)
        except ValueError as error:
            raise ConfigError(f"PORTAL_CLOCK: {error}") from None
    return raw


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
    return [f.name for f in fields(Config)]
