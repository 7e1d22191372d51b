"""Paying at /pay with a card: the invoice pages' world (Acme, Globex, signed-in browsers),
an app that talks to localstripe and e-mails over SMTP, and helpers to read pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from portal.config import Config
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer, Invoice, Payment
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    signed_in,
    world,
)

VISA = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT = "4000008260003178"
THREE_D_SECURE = "4000002760003184"


@pytest.fixture
def config(config: Config, stripe_config: Config, smtp_sink) -> Config:
    """The suite's settings, plus localstripe and the SMTP sink."""
    return dataclasses.replace(
        config, smtp_url=smtp_sink.url, base_url="http://portal.test",
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base)


@pytest.fixture
def cart(world):  # noqa: F811
    """Acme: K-1 $1,000 on 2/10 net 30 issued two days ago; K-2 $500 overdue; K-3 $250."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        issue(s, acme, "K-1", 1000_00, issued=TODAY - dt.timedelta(days=2),
              due=TODAY + dt.timedelta(days=28), terms="2/10 net 30", po="PO-1")
        issue(s, acme, "K-2", 500_00, due=TODAY - dt.timedelta(days=20))
        issue(s, acme, "K-3", 250_00, due=TODAY + dt.timedelta(days=5))
        uow.commit()
    return world


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def checkout_form(payer, numbers: list[str], **fields) -> dict:
    """Open /pay for ``numbers`` and return the form to confirm, as the page would post it."""
    query = "&".join(f"invoice={n}" for n in numbers)
    page = payer.client.get(f"/pay?{query}").get_data(as_text=True)
    form = {"invoice": numbers, "checkout_key": hidden(page, "checkout_key"),
            "shown_charge": hidden(page, "shown_charge"), "card": "new",
            "csrf_token": hidden(page, "csrf_token"), "action": "pay"}
    form.update(fields)
    return form


def pay(payer, form: dict):
    """POST the checkout to /pay/confirm (the Pay button)."""
    return payer.client.post("/pay/confirm", data=form)


def invoice(book, number: str) -> tuple[int, int, str]:
    with book.session() as uow:
        row = uow.session.scalars(select(Invoice).where(Invoice.number == number)).one()
        return row.balance_minor, row.reserved_minor, row.status


def payments_of(book) -> list[Payment]:
    with book.session() as uow:
        rows = list(uow.session.scalars(select(Payment).order_by(Payment.id)))
        uow.session.expunge_all()
        return rows


def ledger_ok(book) -> None:
    with book.session() as uow:
        result = run_checks(uow.session)
    assert result.ok, result.violation
