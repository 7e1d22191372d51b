"""``portal users ...``: create users from the command line (first staff admin, support)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import CUSTOMER_ROLES, STAFF_ROLES
from portal.ledger.models import Customer


@click.group("users")
def users_group() -> None:
    """Manage users."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="The person's name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--staff-role", type=click.Choice(STAFF_ROLES), help="Make a vendor staff user.")
@click.option("--customer", "customer_number", help="Customer number to join.")
@click.option("--role", type=click.Choice(CUSTOMER_ROLES), default="admin", show_default=True)
@with_appcontext
def create_user(email: str, name: str, password: str, staff_role: str | None,
                customer_number: str | None, role: str) -> None:
    """Create a staff user (--staff-role) or a user of a customer account (--customer)."""
    if bool(staff_role) == bool(customer_number):
        raise click.UsageError("give either --staff-role or --customer")
    database = current_app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        try:
            user = services.create_user(uow.session, email=email, name=name,
                                        password=password, staff_role=staff_role)
            if customer_number:
                customer = uow.session.scalar(
                    select(Customer).where(Customer.number == customer_number))
                if customer is None:
                    raise click.ClickException(f"no customer with number {customer_number}")
                services.add_membership(uow.session, user, customer.id, role)
        except services.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    click.echo(f"created {user.email}")
