"""Bank accounts at /bank-accounts: the invoice pages' world (Acme with an admin, a payer and a
viewer; Globex), an app that talks to the local Stripe and the local Plaid (connected to each
other, as Plaid is to the vendor's Stripe account) and e-mails over SMTP; and helpers that do
what the browser does: the Link stand-in's choice of an account, the forms' posts.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import urllib.request

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from portal.accounts.models import AuditEvent
from portal.config import Config
from portal.gateways import localplaid as local_plaid
from portal.gateways.plaid import PlaidGateway
from portal.gateways.stripe import StripeGateway
from portal.payments.bank_models import AchAuthorization, BankAccount
from portal.payments.models import StripeCustomerLink
from portal.vendor.services import get_vendor, update_vendor
from tests.integration.accounts.conftest import Browser
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    World,
    clock,
    signed_in,
    world,
)

TOKEN_KEY = Fernet.generate_key().decode()
ADMIN, PAYER, VIEWER = "admin@acme.example", "payer@acme.example", "viewer@acme.example"
# Stripe's ACH test numbers (the local Stripe behaves as Stripe's test mode does).
ROUTING = "110000000"
ACCOUNT = "000123456789"
# The Link stand-in's accounts, in the order its dialog lists them.
CHECKING, SAVING = 0, 1


@pytest.fixture
def config(config: Config, stripe_config: Config, plaid_config: Config, smtp_sink,
           localplaid: local_plaid.LocalPlaid) -> Config:
    """The suite's settings, plus the local Stripe and Plaid, a token key and the SMTP sink."""
    localplaid.connect_stripe(stripe_config.stripe_api_base, stripe_config.stripe_secret_key)
    return dataclasses.replace(
        config, smtp_url=smtp_sink.url, base_url="http://portal.test", bank_token_key=TOKEN_KEY,
        stripe_secret_key=stripe_config.stripe_secret_key,
        stripe_publishable_key=stripe_config.stripe_publishable_key,
        stripe_webhook_secret=stripe_config.stripe_webhook_secret,
        stripe_api_base=stripe_config.stripe_api_base,
        plaid_client_id=plaid_config.plaid_client_id, plaid_secret=plaid_config.plaid_secret,
        plaid_api_base=plaid_config.plaid_api_base,
        plaid_link_js_url=plaid_config.plaid_link_js_url)


@pytest.fixture
def vendor(world: World):  # noqa: F811  (the fixture, imported above)
    """The vendor's profile, stored (pages and e-mails name it and its support address)."""
    with world.session() as uow:
        update_vendor(uow.session, name="Northwind Supply", support_email="ar@northwind.example")
        uow.commit()
    return world


def allow_payers(book: World, allowed: bool = True) -> None:
    """The vendor lets payers (not only account admins) add and remove bank accounts."""
    with book.session() as uow:
        update_vendor(uow.session, name="Northwind Supply")
        get_vendor(uow.session).payers_manage_bank_accounts = allowed
        uow.commit()


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def page_of(b: Browser, path: str = "/bank-accounts") -> str:
    response = b.client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def link_token(b: Browser) -> str:
    """What static/js/bank_link.js does first: POST for a link token, CSRF in a header."""
    token = csrf(page_of(b))
    response = b.client.post("/bank-accounts/link-token", headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["link_token"]


def choose_in_link(localplaid: local_plaid.LocalPlaid, token: str,
                   account: int = CHECKING) -> tuple[str, str]:
    """What the Link stand-in's dialog does on Continue: (public token, chosen account id)."""
    request = urllib.request.Request(
        f"{localplaid.url}/_link/public_token", method="POST",
        data=json.dumps({"link_token": token, "account": account}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    return answer["public_token"], answer["metadata"]["account_id"]


def post_link(b: Browser, public_token: str, account_id: str):
    """The page's hidden form, submitted by Link's onSuccess."""
    return b.client.post("/bank-accounts/plaid", data={
        "csrf_token": csrf(page_of(b)), "public_token": public_token, "account_id": account_id})


def link(b: Browser, localplaid: local_plaid.LocalPlaid, account: int = CHECKING):
    """Link an account the whole way, as a browser would; return the /plaid response."""
    public_token, account_id = choose_in_link(localplaid, link_token(b), account)
    return post_link(b, public_token, account_id)


ENTRY = {"holder_name": "Acme Corp", "account_type": "checking", "routing_number": ROUTING,
         "account_number": ACCOUNT, "account_number_again": ACCOUNT}


def enter(b: Browser, **fields):
    """Step 1 of /bank-accounts/new: the numbers (``fields`` change the defaults)."""
    return b.client.post("/bank-accounts/new", data={
        "csrf_token": csrf(page_of(b, "/bank-accounts/new")), "step": "review",
        **ENTRY, **fields})


def confirm(b: Browser, review_page: str, authorize: bool = True):
    """Step 2: accept the authorization shown on ``review_page`` and add the account."""
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', review_page))
    form = {name: html.unescape(value) for name, value in form.items()}
    form["step"] = "confirm"
    if authorize:
        form["authorize"] = "1"
    return b.client.post("/bank-accounts/new", data=form)


def add_typed(b: Browser, **fields):
    """Enter an account by its numbers and authorize it; return the response of step 2."""
    review = enter(b, **fields)
    assert review.status_code == 200, text(review.get_data(as_text=True))
    return confirm(b, review.get_data(as_text=True))


def verify(b: Browser, bank_id: int, **fields):
    path = f"/bank-accounts/{bank_id}/verify"
    return b.client.post(path, data={"csrf_token": csrf(page_of(b, path)), **fields})


def rows(book: World, customer_id: int | None = None) -> list[BankAccount]:
    """Every bank account row (of one customer account), oldest first."""
    with book.session() as uow:
        query = select(BankAccount).order_by(BankAccount.id)
        if customer_id is not None:
            query = query.where(BankAccount.customer_id == customer_id)
        found = list(uow.session.scalars(query))
        uow.session.expunge_all()
        return found


def authorizations(book: World) -> list[AchAuthorization]:
    with book.session() as uow:
        found = list(uow.session.scalars(select(AchAuthorization).order_by(AchAuthorization.id)))
        uow.session.expunge_all()
        return found


def audit_actions(book: World) -> list[str]:
    with book.session() as uow:
        return list(uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("bank_account.%"))
            .order_by(AuditEvent.id)))


def stripe_customer_of(book: World) -> str | None:
    with book.session() as uow:
        link = uow.session.get(StripeCustomerLink, book.acme_id)
        return link.stripe_customer_id if link else None


def add_globex_account(book: World) -> int:
    """A bank account of Globex, the other customer (as if its admin had linked it)."""
    with book.session() as uow:
        row = BankAccount(customer_id=book.globex_id, stripe_id="ba_globex_only", source="plaid",
                          status="pending_verification", bank_name="Globex Bank", last4="4321",
                          account_type="checking", setup_intent_id="seti_globex")
        uow.session.add(row)
        uow.commit()
        return row.id


@pytest.fixture
def stripe(app) -> StripeGateway:
    return StripeGateway.from_config(app.config["PORTAL"])


@pytest.fixture
def plaid(app) -> PlaidGateway:
    return PlaidGateway.from_config(app.config["PORTAL"])
