"""The application factory: ``create_app(config)`` does all the wiring.

Extensions, the database, blueprints (imported here, inside the factory, so
that importing a feature never needs an app), error pages and CLI commands.
``wsgi.py`` holds the only module-level app.
"""

from __future__ import annotations

from flask import Flask

from portal.config import PROJECT_ROOT, Config
from portal.db import Database


def create_app(config: Config | None = None) -> Flask:
    """Build the portal app for ``config`` (default: the ``PORTAL_*`` environment)."""
    config = (config or Config.from_env()).with_defaults()
    app = Flask(
        "portal",
        root_path=str(PROJECT_ROOT / "portal"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(config.instance_path),
        instance_relative_config=False,
    )
    app.config.update(config.as_flask_config())
    config.instance_path.mkdir(parents=True, exist_ok=True)

    database = Database(config.database_url)
    app.extensions["portal.db"] = database

    from portal.core import views as core_views

    app.register_blueprint(core_views.bp)

    from portal.core import errors

    errors.register(app)

    from portal.cli import register_commands

    register_commands(app)
    return app
