"""Every route, requested by a user of another customer with the victim's real ids.

The route list comes from the app itself, so a new route is covered the day it
is added; a route whose URL takes a parameter this test does not know fails
the test until a value for it is added below.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from portal import ledger
from portal.accounts import services
from portal.accounts.audit import Origin
from portal.disputes import files
from portal.disputes import services as disputes
from portal.disputes.models import DisputeAttachment
from portal.ledger.models import Payment
from portal.ledger.payments import AllocationInput
from portal.links import services as link_services
from portal.links.models import InvoiceLink
from portal.payments.bank_models import BankAccount
from portal.plans import services as plans
from portal.plans.schedule import Policy
from portal.vendor.services import get_vendor, local_today
from tests import builders, pdf

# Routes anyone may reach without signing in; they show no customer data.
PUBLIC = {"static", "core.healthz", "accounts.login", "accounts.index", "accounts.logout",
          "accounts.set_language",
          "accounts.forgot_password", "accounts.verify_totp", "accounts.reset_password",
          "accounts.accept_invitation"}
# Routes that end the attacker's own session (harmless, but would end the test's sign-in).
SIGNS_OUT = {"accounts.logout_everywhere"}


@pytest.fixture
def victim(world, app):
    """Acme's real ids and the words that must never reach Globex's users."""
    database = app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        s = uow.session
        acme = s.merge(world.acme)
        invoice = builders.invoice(s, acme, 987_654_32, number="ACME-SECRET-0001")
        admin = s.get(services.User, world.ids["acme_admin"])
        issued = services.invite(s, customer_id=acme.id, email="secret.hire@acme.example",
                                 role="payer", name="Secret Hire", invited_by=admin,
                                 origin=Origin(), ttl=__import__("datetime").timedelta(days=1))
        ledger.record_external_payment(
            s, customer_id=acme.id, amount_minor=1_234_56, currency="USD",
            reference="ACME-CHK-SECRET", idempotency_key="acme-check",
            allocations=[AllocationInput(invoice.id, 1_234_56)])
        payment_id = s.scalar(select(Payment.id).where(Payment.reference == "ACME-CHK-SECRET"))
        bank = BankAccount(customer_id=acme.id, stripe_id="ba_acme_secret", source="manual",
                           status="pending_verification", bank_name="ACME SECRET BANK",
                           last4="9876", account_type="checking", setup_intent_id="seti_acme")
        s.add(bank)
        link, _token = link_services.create(s, invoice, expires_days=None, email=None,
                                            created_by="ar@vendor.example")
        photo = io.BytesIO()
        Image.new("RGB", (4, 4)).save(photo, "PNG")
        dispute = disputes.open_dispute(
            s, invoice_id=invoice.id, customer_id=acme.id, asked=disputes.Request(
                reason="damaged", amount="100", description="ACME SECRET DISPUTE",
                uploads=[disputes.Upload("acme-secret.png", photo.getvalue())]),
            author=disputes.Author("customer", "Acme Admin", "admin@acme.example", admin.id),
            vendor=get_vendor(s), storage=files.storage_for(app.config["PORTAL"]))
        s.flush()
        attachment_id = s.scalar(select(DisputeAttachment.id))
        on_plan = builders.invoice(s, acme, 55_555_55, number="ACME-SECRET-PLAN-1")
        today = local_today(get_vendor(s))
        plan = plans.request_plan(
            s, customer_id=acme.id, invoice_ids=[on_plan.id],
            terms=plans.Terms(3, "monthly", today + dt.timedelta(days=20)),
            reason="ACME SECRET PLAN REASON", user_id=admin.id,
            policy=Policy(min_down_percent=0), today=today)
        uow.commit()
    values = {
        "user_id": world.ids["acme_payer"],
        "number": invoice.number,
        "token": issued.token,
        "filename": "x.pdf",
        "payment_id": payment_id,
        # A saved card's id (this app has no Stripe: the refusal with a real saved card of
        # Acme's is in tests/integration/checkout/test_cards_and_csp.py).
        "payment_method": "pm_acme_secret_card",
        "bank_account_id": bank.id,
        "link_id": link.id,  # an invoice link of Acme's (/staff/links/<id>/revoke)
        "dispute_id": dispute.id,
        "attachment_id": attachment_id,
        "plan_id": plan.id,
    }
    secrets = ["Acme Corp", "C-ACME", "ACME-SECRET-0001", "9,876,543.21", "987654321",
               "payer@acme.example", "admin@acme.example", "secret.hire@acme.example",
               "ACME-CHK-SECRET", "1,234.56", "ACME SECRET BANK", "ACME SECRET DISPUTE",
               "acme-secret.png", "ACME-SECRET-PLAN-1", "ACME SECRET PLAN REASON",
               "55,555.55"]
    return values, secrets


def _text(response, url: str) -> str:
    """What the response shows, less the URL asked for (a sign-in redirect repeats it).

    A PDF's text is compressed inside the file: it is read with pypdf.
    """
    if response.mimetype == "application/pdf":
        body = pdf.text(response.data)
    else:
        body = response.get_data(as_text=True)
    return body.replace(url, "")


def _routes(app, skip=frozenset()):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint in skip:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_another_customers_ids_reach_nothing(app, world, victim, browser):
    values, secrets = victim
    attacker = browser()
    assert attacker.sign_in("admin@globex.example").status_code == 302
    token = attacker.csrf("/account/users")
    checked = 0
    for rule, method in _routes(app, skip=SIGNS_OUT):
        missing = [arg for arg in rule.arguments if arg not in values]
        assert not missing, f"{rule.rule}: add a victim value for {missing} to this test"
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]
        if method == "GET":
            response = attacker.client.get(url)
        else:
            response = attacker.client.open(url, method=method,
                                            data={"csrf_token": token, "role": "viewer",
                                                  "email": "x@globex.example"})
        body = _text(response, url)
        if rule.arguments:
            assert response.status_code in (403, 404), f"{method} {url}: {response.status_code}"
        for secret in secrets:
            assert secret not in body, f"{method} {url} shows {secret!r}"
        checked += 1
    assert checked >= 10
    # And nothing above changed Acme: its payer is still a payer.
    admin = browser()
    admin.sign_in("admin@acme.example")
    users = admin.client.get("/account/users").get_data(as_text=True)
    payer_id = world.ids["acme_payer"]
    assert re.search(rf'id="role-{payer_id}".*?value="payer" selected', users, re.S)
    with app.extensions["portal.db"].session() as s:  # and Acme's link still works
        assert s.get(InvoiceLink, values["link_id"]).revoked_at is None


def test_signed_out_visitors_reach_nothing(app, world, victim, browser):
    values, secrets = victim
    visitor = browser()
    for rule, method in _routes(app):
        url = rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]
        response = visitor.client.open(url, method=method)
        assert response.status_code in (302, 400, 401, 404), f"{method} {url}"
        if response.status_code == 302:
            assert "/login" in response.location
        body = _text(response, url)
        for secret in secrets:
            assert secret not in body, f"{method} {url} shows {secret!r}"
