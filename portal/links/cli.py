"""``portal link ...``: create, list and revoke invoice links from the command line.

``portal link create`` prints the URL alone on standard output (so a script can
capture it) and what it did on standard error. The token cannot be shown again:
only its hash is stored.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.ledger.models import Customer, Invoice
from portal.links import mailing, services
from portal.vendor.services import get_vendor

CREATED_BY = "cli"


@click.group("link")
def link_group() -> None:
    """Share invoices by link: /i/<token> opens one invoice without an account."""


@link_group.command("create")
@click.argument("invoice_number")
@click.option("--expires", "expires_days", type=int, default=None, metavar="DAYS",
              help=f"Days until it expires ({services.MIN_DAYS}-{services.MAX_DAYS}; default: "
                   f"{services.DAYS_AFTER_DUE} days after the due date, at most "
                   f"{services.MAX_DAYS} from now).")
@click.option("--email", default=None, metavar="ADDRESS", help="E-mail the link there.")
@with_appcontext
def create_link(invoice_number: str, expires_days: int | None, email: str | None) -> None:
    """Create a link to one invoice and print its URL (with --email, send it)."""
    config = current_app.config["PORTAL"]
    database = current_app.extensions["portal.db"]
    with database.unit_of_work() as unit:
        invoice = unit.session.scalar(select(Invoice).where(Invoice.number == invoice_number))
        if invoice is None:
            raise click.ClickException(f"no invoice with number {invoice_number}")
        try:
            link, token = services.create(unit.session, invoice, expires_days=expires_days,
                                          email=email, created_by=CREATED_BY)
        except services.LinkError as exc:
            raise click.ClickException(str(exc)) from None
        address = services.url(config.base_url, token)
        vendor = get_vendor(unit.session)
        expires_on = services.last_day(link, vendor.zone)
        mailing.send_after_commit(unit, link, address, expires_on)
        unit.commit()
    click.echo(address)
    click.echo(f"link {link.id} to invoice {invoice_number}, works until {expires_on}"
               + (f", e-mailed to {link.sent_to}" if link.sent_to else ""), err=True)


@link_group.command("list")
@click.argument("customer_number")
@with_appcontext
def list_links(customer_number: str) -> None:
    """List a customer's live links (id, invoice, expiry, who made it, last view)."""
    database = current_app.extensions["portal.db"]
    with database.session() as session:
        customer = session.scalar(select(Customer).where(Customer.number == customer_number))
        if customer is None:
            raise click.ClickException(f"no customer with number {customer_number}")
        links = services.live_links(session, customer.id)
        for link in links:
            viewed = link.last_viewed_at.isoformat(timespec="minutes") \
                if link.last_viewed_at else "never"
            click.echo(f"{link.id}\t{link.invoice.number}\t"
                       f"expires {link.expires_at.isoformat(timespec='minutes')}\t"
                       f"by {link.created_by}\tsent to {link.sent_to or '-'}\t"
                       f"last viewed {viewed}")
    if not links:
        click.echo(f"no live links for customer {customer_number}", err=True)


@link_group.command("revoke")
@click.argument("link_id", type=int)
@with_appcontext
def revoke_link(link_id: int) -> None:
    """Revoke a link: it stops working at once, also in browsers that opened it."""
    database = current_app.extensions["portal.db"]
    with database.unit_of_work() as unit:
        try:
            link = services.revoke(unit.session, link_id, by=CREATED_BY)
        except services.LinkNotFound as exc:
            raise click.ClickException(str(exc)) from None
        unit.commit()
    click.echo(f"link {link.id} revoked")
