"""``portal plans charge-due``: autopay's run (:mod:`portal.plans.autopay`), for cron or
by hand; the day is the vendor's today (``PORTAL_CLOCK`` moves it, for demos and tests)."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.core.request_db import database
from portal.gateways.stripe import NotConfigured, StripeGateway
from portal.plans import autopay
from portal.vendor.services import get_vendor, local_today


@click.group("plans")
def plans_group() -> None:
    """Installment plans."""


@plans_group.command("charge-due")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Charge what is due on or before this day (default: the vendor's today).")
@with_appcontext
def charge_due_command(day: dt.datetime | None) -> None:
    """Charge every due installment of plans on autopay, each once; print what happened."""
    try:
        gateway = StripeGateway.from_config(current_app.config["PORTAL"])
    except NotConfigured as error:
        raise click.ClickException(f"{error}: nothing to charge with") from None
    db = database()
    if day is None:
        with db.session() as session:
            today = local_today(get_vendor(session))
    else:
        today = day.date()
    run = autopay.charge_due(db, gateway, today)
    click.echo(f"plans charge-due {today}: {run.charged} charged, {run.paid} paid, "
               f"{run.declined} declined, {run.missed} missed")
