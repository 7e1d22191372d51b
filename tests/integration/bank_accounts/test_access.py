"""Who may do what with bank accounts: admins always; payers only when the vendor allows it;
viewers see the list only; staff are not customers (404). Another customer's bank account is
a 404 on every route, for every role, before anything else is checked."""

from __future__ import annotations

import pytest

from portal.accounts import services
from portal.accounts.access import Principal
from portal.accounts.models import User, UserSession
from portal.payments import bank_accounts
from portal.vendor.services import get_vendor
from tests.integration.accounts.conftest import PASSWORD, Browser
from tests.integration.bank_accounts.conftest import (
    ADMIN,
    PAYER,
    VIEWER,
    add_globex_account,
    add_typed,
    allow_payers,
    csrf,
    link,
    page_of,
    rows,
    text,
)

ACTIONS = ("Link with your bank (instant)", "Enter account and routing number")


def forbidden_everywhere(b: Browser, own_id: int) -> None:
    """Every change is a 403 for ``b``; reading the list is not."""
    page = page_of(b)
    token = csrf(page)
    assert not any(action in page for action in ACTIONS)
    assert "Only this account's admins can add or remove bank accounts." in text(page)
    post = {"csrf_token": token}
    assert b.client.post("/bank-accounts/link-token",
                         headers={"X-CSRFToken": token}).status_code == 403
    assert b.client.post("/bank-accounts/plaid", data=post).status_code == 403
    assert b.client.get("/bank-accounts/new").status_code == 403
    assert b.client.post("/bank-accounts/new", data=post).status_code == 403
    for action in ("verify", "remove"):
        assert b.client.get(f"/bank-accounts/{own_id}/{action}").status_code == 403
        assert b.client.post(f"/bank-accounts/{own_id}/{action}", data=post).status_code == 403


def test_a_viewer_sees_the_list_and_changes_nothing(app, vendor, signed_in, localplaid):
    add_typed(signed_in(ADMIN))
    [row] = rows(vendor)
    viewer = signed_in(VIEWER)

    assert "STRIPE TEST BANK" in page_of(viewer)
    forbidden_everywhere(viewer, row.id)
    assert rows(vendor)[0].status == "pending_verification"


def test_a_payer_may_change_bank_accounts_only_when_the_vendor_allows_it(
        app, vendor, signed_in, localplaid):
    add_typed(signed_in(ADMIN))
    [row] = rows(vendor)
    payer = signed_in(PAYER)
    forbidden_everywhere(payer, row.id)

    allow_payers(vendor)

    page = page_of(payer)
    assert all(action in page for action in ACTIONS)
    assert link(payer, localplaid).status_code == 303
    assert [r.source for r in rows(vendor)] == ["manual", "plaid"]
    assert page_of(payer, f"/bank-accounts/{row.id}/verify")
    allow_payers(vendor, allowed=False)
    assert payer.client.get("/bank-accounts/new").status_code == 403


def test_can_manage_follows_the_role_and_the_vendor(app, vendor):
    with vendor.session() as uow:
        s = uow.session
        vendor_row = get_vendor(s)

        def principal(email: str) -> Principal:
            user = s.query(User).filter_by(email=email).one()
            return Principal(user, UserSession(customer_id=vendor.acme_id, verified_at=None),
                             "token")

        assert bank_accounts.can_manage(principal(ADMIN), vendor_row)
        assert not bank_accounts.can_manage(principal(PAYER), vendor_row)
        assert not bank_accounts.can_manage(principal(VIEWER), vendor_row)
        assert not bank_accounts.can_manage(None, vendor_row)
        vendor_row.payers_manage_bank_accounts = True
        assert bank_accounts.can_manage(principal(PAYER), vendor_row)
        assert not bank_accounts.can_manage(principal(VIEWER), vendor_row)
        staff = services.create_user(s, email="ar@vendor.example", name="Vera",
                                     password=PASSWORD, staff_role="ar_admin")
        assert not bank_accounts.can_manage(Principal(staff, UserSession(), "t"), vendor_row)


@pytest.mark.parametrize("email", [ADMIN, PAYER, VIEWER])
def test_another_customers_bank_account_is_not_found_everywhere(
        app, vendor, signed_in, email):
    allow_payers(vendor)
    globex_id = add_globex_account(vendor)
    b = signed_in(email)
    token = csrf(page_of(b))

    assert "Globex Bank" not in page_of(b)
    for action in ("verify", "remove"):
        path = f"/bank-accounts/{globex_id}/{action}"
        assert b.client.get(path).status_code == 404
        assert b.client.post(path, data={"csrf_token": token, "amount_1": "32",
                                         "amount_2": "45"}).status_code == 404
    assert b.client.get("/bank-accounts/999999/verify").status_code == 404
    assert [r.status for r in rows(vendor)] == ["pending_verification"]


def test_the_other_customer_sees_only_its_own(app, vendor, signed_in, localplaid):
    link(signed_in(ADMIN), localplaid)
    globex = signed_in("payer@globex.example")

    page = text(page_of(globex))

    assert "First Platypus Bank" not in page and "No bank accounts are saved yet." in page


def test_staff_and_strangers_do_not_reach_the_page(app, vendor):
    with vendor.session() as uow:
        services.create_user(uow.session, email="ar@vendor.example", name="Vera",
                             password=PASSWORD, staff_role="ar_admin")
        uow.commit()
    stranger = Browser(app.test_client())
    assert stranger.client.get("/bank-accounts").status_code == 302
    staff = Browser(app.test_client())
    assert staff.sign_in("ar@vendor.example").status_code == 302
    assert staff.client.get("/bank-accounts").status_code == 404
