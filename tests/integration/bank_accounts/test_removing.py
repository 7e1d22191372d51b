"""Removing a bank account: a confirmation page, then a CSRF-protected POST; the account is
detached at Stripe, its Plaid Item removed (the access token stops working and is cleared),
and it leaves the list and the checkout's choices; it can be linked again afterwards."""

from __future__ import annotations

import dataclasses

import pytest

from portal.core import secrets
from portal.gateways.plaid import PlaidError
from portal.payments import bank_accounts
from tests.integration.bank_accounts.conftest import (
    ADMIN,
    add_typed,
    audit_actions,
    csrf,
    link,
    page_of,
    rows,
    stripe_customer_of,
    text,
)


def remove(b, bank_id: int):
    path = f"/bank-accounts/{bank_id}/remove"
    return b.client.post(path, data={"csrf_token": csrf(page_of(b, path))})


def test_a_linked_account_is_removed_here_at_stripe_and_at_plaid(
        app, vendor, signed_in, localplaid, plaid, stripe):
    admin = signed_in(ADMIN)
    link(admin, localplaid)
    [row] = rows(vendor)
    access_token = secrets.decrypt(app.config["PORTAL"], row.plaid_access_token)
    confirm = text(page_of(admin, f"/bank-accounts/{row.id}/remove"))
    assert "Remove the First Platypus Bank account ending in 6789?" in confirm
    assert "A payment already started from it is not stopped" in confirm
    assert admin.client.post(f"/bank-accounts/{row.id}/remove").status_code == 400, "CSRF"

    response = remove(admin, row.id)

    assert response.status_code == 303
    shown = text(page_of(admin))
    assert "The First Platypus Bank checking account ending in 6789 was removed." in shown
    assert "No bank accounts are saved yet." in shown
    [row] = rows(vendor)
    assert (row.status, row.plaid_access_token) == ("removed", None) and row.removed_at
    assert stripe.list_bank_accounts(stripe_customer_of(vendor)) == []
    with pytest.raises(PlaidError) as revoked:
        plaid.list_accounts(access_token)
    assert revoked.value.code == "INVALID_ACCESS_TOKEN"
    with vendor.session() as uow:
        assert bank_accounts.verified_accounts(uow.session, vendor.acme_id) == []
    assert audit_actions(vendor) == ["bank_account.added", "bank_account.removed"]
    # Gone for good: a second removal is a 404, and the account may be linked again.
    assert admin.client.get(f"/bank-accounts/{row.id}/remove").status_code == 404
    assert link(admin, localplaid).status_code == 303
    assert [r.status for r in rows(vendor)] == ["removed", "verified"]


def test_a_typed_in_account_waiting_for_deposits_is_removed(app, vendor, signed_in):
    admin = signed_in(ADMIN)
    add_typed(admin)
    [row] = rows(vendor)

    assert remove(admin, row.id).status_code == 303

    assert rows(vendor)[0].status == "removed"
    assert admin.client.get(f"/bank-accounts/{row.id}/verify").status_code == 404


def test_a_plaid_that_cannot_be_reached_does_not_stop_the_removal(
        app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    link(admin, localplaid)
    [row] = rows(vendor)
    app.config["PORTAL"] = dataclasses.replace(app.config["PORTAL"],
                                               plaid_api_base="http://127.0.0.1:9")

    assert remove(admin, row.id).status_code == 303

    [row] = rows(vendor)
    assert (row.status, row.plaid_access_token) == ("removed", None)
    assert "could not" not in text(page_of(admin))


def test_a_stripe_that_cannot_be_reached_changes_nothing(app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    link(admin, localplaid)
    [row] = rows(vendor)
    app.config["PORTAL"] = dataclasses.replace(app.config["PORTAL"],
                                               stripe_api_base="http://127.0.0.1:9")

    remove(admin, row.id)

    assert ("The bank account could not be removed just now. Try again in a minute."
            in text(page_of(admin)))
    assert rows(vendor)[0].status == "verified" and rows(vendor)[0].plaid_access_token
    assert len(localplaid._state.items) == 1
