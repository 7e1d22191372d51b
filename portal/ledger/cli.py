"""``portal ledger ...`` and ``portal db ...``: the ledger's command-line interface."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.ledger.checks import run_checks
from portal.money import Money


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the latest schema."""
    from portal.schema import upgrade

    url = current_app.config["PORTAL"].database_url
    upgrade(url, revision)
    click.echo(f"database at {_safe_url(url)} is at revision {revision}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group("ledger")
def ledger_group() -> None:
    """Inspect the AR ledger."""


@ledger_group.command("check")
@with_appcontext
def ledger_check() -> None:
    """Re-derive every ledger invariant; exit 1 naming the first violation."""
    database = current_app.extensions["portal.db"]
    with database.session() as session:
        result = run_checks(session)
    if not result.ok:
        click.echo(f"ledger check FAILED: {result.violation}", err=True)
        raise SystemExit(1)
    for summary in result.summaries:
        ar = Money(summary.open_ar_minor, summary.currency).plain()
        credit = Money(summary.customer_credit_minor, summary.currency).plain()
        click.echo(f"{summary.currency}: {summary.entries} entries, open AR {ar}, "
                   f"customer credit {credit}")
    click.echo("ledger check: OK")
