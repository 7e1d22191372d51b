"""``portal plans charge-due``: the plans' daily run (:func:`portal.plans.autopay.daily`:
reminders, autopay charges, paid and completed plans, defaults), for cron or by hand, and
the same run as the task ``plans.charge_due`` for Celery beat. The day is the vendor's
today (``PORTAL_CLOCK`` moves it, for demos and tests) unless ``--date`` names one."""

from __future__ import annotations

import datetime as dt
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import tasks
from portal.core.request_db import database
from portal.gateways.stripe import NotConfigured, StripeGateway
from portal.plans import autopay
from portal.plans.services import policy_for
from portal.vendor.services import get_vendor, local_today

log = logging.getLogger("portal.plans")


@click.group("plans")
def plans_group() -> None:
    """Installment plans."""


def run_daily(day: dt.date | None = None) -> tuple[dt.date, autopay.Run, bool]:
    """Run the day's plan work; return the day, what was done, and whether Stripe was there."""
    try:
        gateway = StripeGateway.from_config(current_app.config["PORTAL"])
    except NotConfigured:
        gateway = None
    db = database()
    with db.session() as session:
        vendor = get_vendor(session)
        today = day or local_today(vendor)
        policy = policy_for(vendor)
    return today, autopay.daily(db, gateway, today, policy), gateway is not None


@plans_group.command("charge-due")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Charge what is due on or before this day (default: the vendor's today).")
@with_appcontext
def charge_due_command(day: dt.datetime | None) -> None:
    """Send reminders, charge every due autopay installment once, complete paid plans and
    default those past the grace period; print what happened."""
    today, run, charged = run_daily(day.date() if day else None)
    if not charged:
        click.echo("Stripe is not configured: no installment was charged", err=True)
    click.echo(f"plans charge-due {today}: {run.line()}")


@tasks.task("plans.charge_due")
def charge_due_task() -> None:
    """The daily run as a task (Celery beat, once a day)."""
    today, run, charged = run_daily()
    log.info("plans charge-due %s: %s%s", today, run.line(),
             "" if charged else " (Stripe not configured: nothing charged)")
