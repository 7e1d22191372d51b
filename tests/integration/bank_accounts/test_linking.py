"""Linking a bank account with Plaid, through the local Plaid API server and its Link stand-in's
endpoint, into the local Stripe: the account is verified at once and listed; the access token
is stored encrypted; the same account twice, a spent public token, and a Stripe or Plaid that
refuses store nothing and leave no Plaid Item behind; the account's other users are e-mailed."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from portal.accounts.models import User
from portal.core import secrets
from portal.payments import bank_accounts
from tests.integration.bank_accounts.conftest import (
    ADMIN,
    CHECKING,
    PAYER,
    SAVING,
    VIEWER,
    audit_actions,
    choose_in_link,
    link,
    link_token,
    page_of,
    post_link,
    rows,
    stripe_customer_of,
    text,
)


def test_an_admin_links_a_bank_account_and_it_can_pay_at_once(
        app, vendor, signed_in, localplaid, plaid, stripe):
    admin = signed_in(ADMIN)
    page = page_of(admin)
    assert "Link with your bank (instant)" in page
    assert f'data-link-js="{localplaid.link_js_url}"' in page
    policy = admin.client.get("/bank-accounts").headers["Content-Security-Policy"]
    assert localplaid.url in policy.split("script-src", 1)[1].split(";")[0]
    assert localplaid.url in policy.split("connect-src", 1)[1].split(";")[0]

    response = link(admin, localplaid, CHECKING)

    assert response.status_code == 303 and response.location.endswith("/bank-accounts")
    shown = text(page_of(admin))
    assert "The First Platypus Bank checking account ending in 6789 was added." in shown
    assert "First Platypus Bank •••• ending in 6789 Checking Ready to pay" in shown
    assert "by Acme Admin" in shown
    [row] = rows(vendor)
    assert (row.status, row.source, row.bank_name, row.last4, row.account_type) == (
        "verified", "plaid", "First Platypus Bank", "6789", "checking")
    assert row.stripe_id.startswith("ba_") and row.plaid_item_id and row.verified_at
    with vendor.session() as uow:
        assert [r.id for r in bank_accounts.verified_accounts(uow.session, vendor.acme_id)] == [
            row.id]
    # At Stripe: a verified bank account of the account's Stripe customer.
    [saved] = stripe.list_bank_accounts(stripe_customer_of(vendor))
    assert (saved.id, saved.verified, saved.last4) == (row.stripe_id, True, "6789")
    assert audit_actions(vendor) == ["bank_account.added"]


def test_the_access_token_is_stored_encrypted_with_the_configured_key_only(
        app, vendor, signed_in, localplaid, plaid):
    admin = signed_in(ADMIN)
    link(admin, localplaid)

    [row] = rows(vendor)
    stored = bytes(row.plaid_access_token)
    assert b"access-sandbox" not in stored and b"access-" not in stored
    config = app.config["PORTAL"]
    access_token = secrets.decrypt(config, stored)
    assert access_token.startswith("access-sandbox-")
    assert plaid.list_accounts(access_token), "the decrypted token is the Item's"
    other_key = dataclasses.replace(config, bank_token_key=Fernet.generate_key().decode())
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(other_key, stored)
    derived = dataclasses.replace(config, bank_token_key="")
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(derived, stored)
    assert access_token not in page_of(admin)


def test_the_same_bank_account_linked_twice_is_refused_and_its_second_item_removed(
        app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    link(admin, localplaid, CHECKING)

    again = link(admin, localplaid, CHECKING)

    assert again.status_code == 303
    shown = text(page_of(admin))
    assert ("The First Platypus Bank checking account ending in 6789 is saved for this "
            "account already.") in shown
    assert len(rows(vendor)) == 1
    assert len(localplaid._state.items) == 1, "the second Item's token was revoked"
    # Another account of the same bank is another bank account.
    link(admin, localplaid, SAVING)
    assert [(r.last4, r.account_type) for r in rows(vendor)] == [
        ("6789", "checking"), ("2227", "savings")]


def test_a_public_token_is_used_once(app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    public_token, account_id = choose_in_link(localplaid, link_token(admin))
    assert post_link(admin, public_token, account_id).status_code == 303

    post_link(admin, public_token, account_id)

    assert ("The link with your bank expired or was used already. Link the account again."
            in text(page_of(admin)))
    assert len(rows(vendor)) == 1


def test_nothing_is_stored_and_the_item_removed_when_stripe_cannot_be_reached(
        app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    public_token, account_id = choose_in_link(localplaid, link_token(admin))
    app.config["PORTAL"] = dataclasses.replace(app.config["PORTAL"],
                                               stripe_api_base="http://127.0.0.1:9")

    response = post_link(admin, public_token, account_id)

    assert response.status_code == 303
    assert ("The bank account could not be added just now. Nothing was saved; try again in a "
            "minute.") in text(page_of(admin))
    assert rows(vendor) == [] and audit_actions(vendor) == []
    assert localplaid._state.items == {}, "no access token is left at Plaid"


def test_nothing_is_stored_when_plaid_cannot_make_the_stripe_token(
        app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    localplaid.connect_stripe("http://127.0.0.1:9", "sk_test_unreachable")

    link(admin, localplaid)

    assert ("The bank account could not be read from your bank. Try again, or enter the "
            "account and routing numbers." in text(page_of(admin)))
    assert rows(vendor) == [] and localplaid._state.items == {}


def test_an_unknown_account_or_a_forged_token_is_refused(app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    public_token, _ = choose_in_link(localplaid, link_token(admin))

    post_link(admin, public_token, "x" * 37)
    post_link(admin, "public-sandbox-made-up", "x" * 37)
    post_link(admin, "", "")

    assert rows(vendor) == [] and localplaid._state.items == {}


def test_the_other_users_are_told_by_email(app, vendor, signed_in, localplaid, smtp_sink):
    admin = signed_in(ADMIN)
    with vendor.session() as uow:
        uow.session.scalars(select(User).where(User.email == VIEWER)).one().locale = "fr"
        uow.commit()

    link(admin, localplaid)

    assert smtp_sink.to(ADMIN) == [] and smtp_sink.to("payer@globex.example") == []
    [message] = smtp_sink.to(PAYER)
    assert message["Subject"] == "A bank account was added to Acme Corp's billing portal"
    body = " ".join(smtp_sink.text(message).split())
    assert body.startswith("Hello,")
    assert "Acme Admin (admin@acme.example) added a bank account" in body
    assert "First Platypus Bank checking account ending in 6789" in body
    assert ("If you did not expect this, tell your account's admin, or Northwind Supply "
            "at ar@northwind.example.") in body
    # The viewer reads French: the same facts, in their language.
    [message] = smtp_sink.to(VIEWER)
    body = " ".join(smtp_sink.text(message).split())
    assert body.startswith("Bonjour,")
    assert all(fact in body for fact in ("Acme Admin", "admin@acme.example",
                                         "First Platypus Bank", "6789", "ar@northwind.example"))


def test_without_plaid_keys_the_numbers_can_still_be_entered(app, vendor, signed_in):
    app.config["PORTAL"] = dataclasses.replace(app.config["PORTAL"], plaid_client_id="",
                                               plaid_secret="")
    admin = signed_in(ADMIN)

    page = page_of(admin)

    assert "Link with your bank (instant)" not in page and "bank_link.js" not in page
    assert "Linking with your bank is not available here" in text(page)
    assert "Enter account and routing number" in page
    token = admin.client.post("/bank-accounts/link-token",
                              headers={"X-CSRFToken": page.split('name="csrf_token" value="')[1]
                                       .split('"')[0]})
    assert token.status_code == 503


def test_plaid_errors_never_reach_the_page_as_raw_text(app, vendor, signed_in, localplaid):
    """Plaid's own message (English, technical) is logged, the payer reads the portal's."""
    admin = signed_in(ADMIN)
    post_link(admin, "public-sandbox-made-up", "x" * 37)
    shown = text(page_of(admin))
    assert "could not find matching public token" not in shown
    assert "The link with your bank expired or was used already." in shown
