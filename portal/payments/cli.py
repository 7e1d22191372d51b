"""``portal payments ...``: the payments' commands (the reconciliation sweep)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.gateways.stripe import NotConfigured, StripeGateway
from portal.payments.reconcile import reconcile


@click.group("payments")
def payments_group() -> None:
    """Card payments at Stripe."""


@payments_group.command("reconcile")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), default=None,
              metavar="MINUTES",
              help="Only payments started this many minutes ago or earlier "
                   "(default: PORTAL_RECONCILE_AFTER_MINUTES).")
@with_appcontext
def reconcile_command(older_than: int | None) -> None:
    """Ask Stripe about every unsettled card payment; settle or fail it; exit 1 on errors."""
    config = current_app.config["PORTAL"]
    try:
        gateway = StripeGateway.from_config(config)
    except NotConfigured as error:
        raise click.ClickException(f"{error}: nothing to reconcile against") from None
    minutes = config.reconcile_after_minutes if older_than is None else older_than
    summary = reconcile(current_app.extensions["portal.db"], gateway, minutes,
                        config.card_action_timeout_minutes)
    for problem in summary.problems:
        click.echo(f"error: {problem}", err=True)
    click.echo(f"payments reconcile: {summary.line()}")
    if summary.errors:
        raise SystemExit(1)
