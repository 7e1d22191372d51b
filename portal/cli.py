"""The ``portal`` console script: a Flask CLI group with the portal's commands.

``portal X`` and ``flask --app wsgi X`` run the same commands; each feature
keeps its commands next to its code, and :func:`register_commands` adds them.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    """Add every feature's CLI commands to ``app.cli``."""
    from portal.accounts.cli import users_group
    from portal.bench.cli import bench_group
    from portal.demo.cli import demo_command
    from portal.ledger.cli import db_group, import_group, ledger_group
    from portal.links.cli import link_group
    from portal.payments.cli import payments_group
    from portal.plans.cli import plans_group
    from portal.vendor.cli import vendor_group

    for group in (db_group, ledger_group, import_group, bench_group, users_group, demo_command):
        app.cli.add_command(group)
    app.cli.add_command(payments_group)
    app.cli.add_command(link_group)
    app.cli.add_command(vendor_group)
    app.cli.add_command(plans_group)


def _create_app() -> Flask:
    from portal.app import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="The payment portal's commands.")
