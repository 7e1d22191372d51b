"""``portal ledger ...``, ``portal db ...`` and ``portal import ...``: the ledger's CLI."""

from __future__ import annotations

import time
from pathlib import Path

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


@click.group("import")
def import_group() -> None:
    """Import customers and invoices from the ERP's CSV exports (docs/import.md)."""


def _run_import(kind: str, path: Path, dry_run: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    from portal.ledger import importer
    from portal.ledger.entries import LedgerError

    run = {"customers": importer.import_customers, "invoices": importer.import_invoices}[kind]
    database = current_app.extensions["portal.db"]
    started = time.perf_counter()
    try:
        with database.unit_of_work() as uow:
            result = run(uow.session, path)
            if not dry_run:
                uow.commit()
    except importer.ImportRejected as exc:
        for line in exc.report(limit=50):
            click.echo(f"{path.name}: {line}", err=True)
        click.echo(f"import FAILED: {len(exc.errors)} error(s) in {path.name}; "
                   "nothing was imported", err=True)
        raise SystemExit(1) from None
    except (LedgerError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        click.echo(f"import FAILED: {reason}; nothing was imported", err=True)
        raise SystemExit(1) from None
    summary = result.summary(time.perf_counter() - started)
    click.echo(f"dry run, nothing saved: {summary}" if dry_run else f"imported {summary}")


@import_group.command("customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count, then roll back.")
@with_appcontext
def import_customers(path: Path, dry_run: bool) -> None:
    """Create or update customers from a CSV file, by customer number."""
    _run_import("customers", path, dry_run)


@import_group.command("invoices")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count, then roll back.")
@with_appcontext
def import_invoices(path: Path, dry_run: bool) -> None:
    """Issue, adjust or leave alone invoices from a CSV file (one row per line)."""
    _run_import("invoices", path, dry_run)
