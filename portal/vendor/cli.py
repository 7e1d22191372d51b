"""``portal vendor show | set``: the vendor's profile from the command line — its name,
support contacts, time zone, discount base, and the lists customers choose from
(``short_pay_reasons``, ``dispute_reasons``).

``set`` takes one field and its value; a list is given as JSON, e.g.
``portal vendor set dispute_reasons '[{"code": "pricing", "label": "Pricing"}]'``,
and ``true``/``false`` for the yes-or-no fields. Every value is checked by
:func:`portal.vendor.services.update_vendor`: a bad one changes nothing and says why.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.vendor.services import EDITABLE_FIELDS, VendorError, get_vendor, update_vendor

LISTS = ("short_pay_reasons", "dispute_reasons")
OBJECTS = ("plan_policy",)
SWITCHES = ("prorate_partial_discounts", "payers_manage_bank_accounts")


@click.group("vendor")
def vendor_group() -> None:
    """The vendor's profile: name, contacts, policies and the reasons customers choose from."""


@vendor_group.command("show")
@with_appcontext
def show() -> None:
    """Print every editable field of the profile, one per line (lists as JSON)."""
    with current_app.extensions["portal.db"].session() as session:
        vendor = get_vendor(session)
        values = {name: getattr(vendor, name) for name in sorted(EDITABLE_FIELDS)}
        values["dispute_reasons"] = vendor.dispute_reason_list()
    for name, value in values.items():
        shown = json.dumps(value) if isinstance(value, list | dict | bool) else (value or "")
        click.echo(f"{name}: {shown}")


@vendor_group.command("set")
@click.argument("field", type=click.Choice(sorted(EDITABLE_FIELDS)))
@click.argument("value")
@with_appcontext
def set_field(field: str, value: str) -> None:
    """Set one field of the profile (JSON for the lists, true/false for the switches)."""
    parsed: object = value
    if field in LISTS:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{field} must be a JSON list: {exc}") from None
    elif field in OBJECTS:
        try:
            parsed = json.loads(value) if value.strip() else None
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{field} must be a JSON object: {exc}") from None
    elif field in SWITCHES:
        if value.lower() not in ("true", "false"):
            raise click.ClickException(f"{field} must be true or false")
        parsed = value.lower() == "true"
    with current_app.extensions["portal.db"].unit_of_work() as unit:
        try:
            update_vendor(unit.session, **{field: parsed})
        except VendorError as exc:
            raise click.ClickException(str(exc)) from None
        unit.commit()
    click.echo(f"vendor {field} set", err=True)
