"""``portal demo``: create the database, load the demo, print how to get in, serve.

DESIGN.md's contract: prints one ``sign in: EMAIL PASSWORD`` line per demo
user and one ``invoice link: URL`` line (whatever the registered hooks of
:mod:`portal.demo.hooks` return), then serves on http://127.0.0.1:5000 — with
a local Stripe when no Stripe keys are set (:mod:`portal.demo.local_stripe`) and a
local Plaid when no Plaid keys are (:mod:`portal.demo.local_plaid`).
"""

from __future__ import annotations

from dataclasses import replace

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from portal.config import Config
from portal.demo import local_plaid, local_stripe, services


def _browser_host(host: str) -> str:
    # A server listening on every interface is still reached at 127.0.0.1.
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Load and print, then exit (tests, CI).")
@click.option("--reset", is_flag=True,
              help="Delete the SQLite database first and load the demo afresh.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool, reset: bool) -> None:
    """Create the database, load the demo data, print the sign-ins and serve the portal."""
    app = current_app._get_current_object()
    base_url = f"http://{_browser_host(host)}:{port}"
    try:
        run = services.prepare(app.extensions["portal.db"], base_url=base_url, reset=reset)
    except services.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    if not run.check.ok:
        # Never serve a ledger that breaks its own rules.
        click.echo(f"ledger check FAILED: {run.check.violation}", err=True)
        raise SystemExit(1)
    s = run.summary
    what = (f"loaded in {run.seconds:.1f} s" if run.loaded
            else "already loaded, nothing changed")
    click.echo(f"demo data {what}: {s.customers} customers, {s.invoices} invoices "
               f"({', '.join(s.currencies)}), {sum(s.payment_statuses.values())} payments, "
               f"{s.journal_entries} journal entries; ledger check OK")
    for line in run.lines:
        click.echo(line)
    if no_serve:
        return
    if app.config["PORTAL"].base_url == Config.base_url:
        # Links in e-mails and PDFs point at where this demo serves (unless
        # PORTAL_BASE_URL says otherwise).
        app.config["PORTAL"] = replace(app.config["PORTAL"], base_url=base_url)
    stripe = local_stripe.start_for_demo(app, base_url)
    if stripe is not None:
        click.echo(local_stripe.describe(stripe))
    plaid = local_plaid.start_for_demo(app)  # after Stripe: it mints tokens with the demo's
    if plaid is not None:
        click.echo(local_plaid.describe(plaid))
    click.echo(f"serving on {base_url} (Ctrl+C to stop)")
    try:
        # Flask's app.run() does nothing under the flask CLI, so call werkzeug directly.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        if plaid is not None:
            plaid.stop()
        if stripe is not None:
            stripe.stop()
