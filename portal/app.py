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
    app.extensions["portal.db"] = Database(config.database_url)
    if config.proxy_count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_count,
                                x_proto=config.proxy_count, x_host=config.proxy_count)

    from portal import i18n
    from portal.accounts.access import login_manager
    from portal.core import context, errors, security
    from portal.links import log_scrub

    security.init_app(app)
    log_scrub.install()  # access logs would show /i/<token>: they show a hash prefix instead
    context.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    errors.register(app)

    from portal.accounts import views as accounts_views
    from portal.core import views as core_views
    from portal.disputes import views as disputes_views
    from portal.documents import views as documents_views
    from portal.invoices import views as invoices_views
    from portal.links import disputes as links_disputes  # noqa: F401 (routes join links.bp)
    from portal.links import pay as links_pay  # noqa: F401 (its routes join the links blueprint)
    from portal.links import views as links_views
    from portal.payments import bank_views, saved_cards
    from portal.payments import history_views as payment_history_views
    from portal.payments import views as checkout_views
    from portal.plans import views as plans_views
    from portal.staff import views as staff_views

    for blueprint in (core_views.bp, accounts_views.bp, invoices_views.bp, staff_views.bp,
                      documents_views.bp, checkout_views.bp, payment_history_views.bp,
                      saved_cards.bp, bank_views.bp, links_views.bp, disputes_views.bp,
                      plans_views.bp):
        app.register_blueprint(blueprint)
    security.csrf.exempt(core_views.bp)  # machine endpoints; webhooks verify signatures

    from portal.payments import webhooks as payment_webhooks

    app.register_blueprint(payment_webhooks.bp)
    security.csrf.exempt(payment_webhooks.bp)  # Stripe signs it; no session, no form

    if config.celery_broker_url:
        from portal.payments import reconcile  # noqa: F401  (registers payments.reconcile)
        from portal.plans import cli as plans_cli  # noqa: F401  (registers plans.charge_due)
        from portal.tasks import make_celery

        app.extensions["portal.celery"] = make_celery(app)

    from portal.cli import register_commands

    register_commands(app)
    return app
