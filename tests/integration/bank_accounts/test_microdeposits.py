"""Entering a bank account by its numbers, and verifying it with micro-deposits, against the
local Stripe (Stripe's test values: amounts 32 and 45 cents, descriptor code SM11AA): bad
numbers are refused per field with nothing sent; the authorization shown is the one stored;
right amounts verify; wrong ones count down the tries, then fail; the code works the same."""

from __future__ import annotations

import html
import re

import pytest

from portal.payments import bank_accounts
from portal.payments.models import StripeCustomerLink
from tests.integration.bank_accounts.conftest import (
    ACCOUNT,
    ADMIN,
    PAYER,
    ROUTING,
    VIEWER,
    add_typed,
    audit_actions,
    authorizations,
    confirm,
    enter,
    link,
    page_of,
    rows,
    stripe_customer_of,
    text,
    verify,
)

BAD_ENTRIES = [
    ({"routing_number": "110000001"}, "routing_number",
     "This is not a valid US routing number. Check it against a check or your bank's website."),
    ({"routing_number": "11000000"}, "routing_number", "Enter the routing number: 9 digits."),
    ({"routing_number": "1100000000"}, "routing_number", "Enter the routing number: 9 digits."),
    ({"routing_number": "11000000a"}, "routing_number", "Enter the routing number: 9 digits."),
    ({"routing_number": "000000000"}, "routing_number",
     "This is not a valid US routing number. Check it against a check or your bank's website."),
    ({"account_number": "123", "account_number_again": "123"}, "account_number",
     "Enter the account number: 4 to 17 digits."),
    ({"account_number": "1" * 18, "account_number_again": "1" * 18}, "account_number",
     "Enter the account number: 4 to 17 digits."),
    ({"account_number_again": "000123456788"}, "account_number_again",
     "The two account numbers are not the same. Type the account number again."),
    ({"holder_name": "  "}, "holder_name", "Enter the name on the bank account."),
    ({"account_type": "brokerage"}, "account_type", "Choose checking or savings."),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_ENTRIES,
                         ids=[f"{case[1]}-{i}" for i, case in enumerate(BAD_ENTRIES)])
def test_bad_numbers_are_refused_per_field_and_nothing_is_sent(
        app, vendor, signed_in, fields, field, message):
    admin = signed_in(ADMIN)

    response = enter(admin, **fields)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<div class="field-error" id="{field}-error">{message}' in page.replace(
        "&#39;", "'")
    assert "Check what is marked below. Nothing has been sent or saved." in text(page)
    assert rows(vendor) == []
    with vendor.session() as uow:
        assert uow.session.get(StripeCustomerLink, vendor.acme_id) is None, "Stripe not asked"


def test_the_numbers_are_kept_as_typed_with_spaces_and_hyphens(app, vendor, signed_in):
    admin = signed_in(ADMIN)

    response = enter(admin, routing_number="1100 0000 0", account_number="0001-2345-6789",
                     account_number_again="000123456789")

    assert response.status_code == 200
    assert "•••• ending in 6789" in text(response.get_data(as_text=True))


def test_right_amounts_verify_the_account(app, vendor, signed_in, smtp_sink, stripe):
    admin = signed_in(ADMIN)
    review = enter(admin)
    page = review.get_data(as_text=True)
    shown = text(page)
    assert "Step 2 of 2" in shown and "Routing number 110000000" in shown
    assert ACCOUNT not in shown, "the full account number is not shown back"
    assert ("I, Acme Admin (admin@acme.example), on behalf of Acme Corp, authorize Northwind "
            "Supply and its payment processor, Stripe, to make small deposits to and a "
            "matching debit from the bank checking account ending in 6789") in shown

    refused = confirm(admin, page, authorize=False)
    assert refused.status_code == 422
    assert "Tick the box to authorize" in text(refused.get_data(as_text=True))
    assert rows(vendor) == []

    added = confirm(admin, page)

    [row] = rows(vendor)
    assert added.status_code == 303
    assert added.location.endswith(f"/bank-accounts/{row.id}/verify?sent=1")
    assert (row.status, row.source, row.last4, row.account_type, row.holder_name) == (
        "pending_verification", "manual", "6789", "checking", "Acme Corp")
    assert row.bank_name == "STRIPE TEST BANK" and row.stripe_id.startswith("pm_")
    assert row.setup_intent_id.startswith("seti_") and row.microdeposit_type == "amounts"
    assert row.microdeposits_arrive_on is not None and row.verify_attempts == 0
    [accepted] = authorizations(vendor)
    assert accepted.kind == "setup" and accepted.bank_account_id == row.id
    shown_text = re.search(r'id="authorization-text">([^<]+)</p>', page).group(1)
    assert accepted.text == html.unescape(shown_text), "stored word for word as shown"
    assert accepted.accepted_by == "Acme Admin <admin@acme.example>"
    assert accepted.ip_address == "127.0.0.1" and accepted.text_version
    listed = text(page_of(admin))
    assert "Not verified yet" in listed and "Waiting for the deposits — they arrive by" in listed
    assert smtp_sink.messages == [], "nobody is told before it is verified"
    verify_page = text(page_of(admin, f"/bank-accounts/{row.id}/verify"))
    assert "You have 3 tries left." in verify_page

    response = verify(admin, row.id, amount_1="0.45", amount_2="32")

    assert response.status_code == 303 and response.location.endswith("/bank-accounts")
    assert ("The STRIPE TEST BANK checking account ending in 6789 is verified. It can pay "
            "invoices now.") in text(page_of(admin))
    [row] = rows(vendor)
    assert row.status == "verified" and row.verified_at and row.mandate_id.startswith("mandate_")
    assert authorizations(vendor)[0].mandate_id == row.mandate_id
    with vendor.session() as uow:
        assert [r.id for r in bank_accounts.verified_accounts(uow.session, vendor.acme_id)] == [
            row.id]
    [saved] = stripe.list_bank_accounts(stripe_customer_of(vendor))
    assert saved.id == row.stripe_id and saved.verified
    assert audit_actions(vendor) == ["bank_account.added", "bank_account.verified"]
    assert {m["To"] for m in smtp_sink.messages} == {PAYER, VIEWER}
    assert "STRIPE TEST BANK checking account ending in 6789" in smtp_sink.text(
        smtp_sink.to(PAYER)[0])


def test_wrong_amounts_count_down_the_tries_then_fail(app, vendor, signed_in):
    admin = signed_in(ADMIN)
    add_typed(admin)
    [row] = rows(vendor)

    first = verify(admin, row.id, amount_1="12", amount_2="34")
    assert first.status_code == 422
    assert ("Those amounts do not match the deposits. Tries left: 2."
            in text(first.get_data(as_text=True)))
    assert "You have 2 tries left." in text(first.get_data(as_text=True))
    second = verify(admin, row.id, amount_1="0.12", amount_2="0.34")
    assert "Tries left: 1." in text(second.get_data(as_text=True))

    third = verify(admin, row.id, amount_1="1", amount_2="2")

    assert third.status_code == 303
    shown = text(page_of(admin))
    assert ("This bank account could not be verified: too many tries. Remove it and add it "
            "again; new deposits will be sent.") in shown
    assert "Could not be verified" in shown
    [row] = rows(vendor)
    assert (row.status, row.verify_attempts) == ("verification_failed", 3)
    # No more tries: the right amounts now change nothing and Stripe is not asked.
    fourth = verify(admin, row.id, amount_1="32", amount_2="45")
    assert fourth.status_code == 200
    assert "could not be verified: too many wrong tries" in text(fourth.get_data(as_text=True))
    assert rows(vendor)[0].status == "verification_failed"
    with vendor.session() as uow:
        assert bank_accounts.verified_accounts(uow.session, vendor.acme_id) == []


@pytest.mark.parametrize("amounts", [("1.50", "32"), ("abc", "45"), ("0", "45"), ("", "45"),
                                     ("100", "45"), ("0.321", "45")])
def test_unreadable_amounts_are_not_counted(app, vendor, signed_in, amounts):
    admin = signed_in(ADMIN)
    add_typed(admin)
    [row] = rows(vendor)

    response = verify(admin, row.id, amount_1=amounts[0], amount_2=amounts[1])

    assert response.status_code == 422
    assert ("Enter the deposit in cents, between 1 and 99: for $0.32 type 32 or 0.32."
            in text(response.get_data(as_text=True)))
    assert rows(vendor)[0].verify_attempts == 0


def test_a_descriptor_code_verifies(app, vendor, signed_in, localstripe):
    localstripe.use_microdeposit_type("descriptor_code")
    admin = signed_in(ADMIN)
    add_typed(admin, routing_number=ROUTING, account_type="savings")
    [row] = rows(vendor)
    assert row.microdeposit_type == "descriptor_code" and row.account_type == "savings"
    page = text(page_of(admin, f"/bank-accounts/{row.id}/verify"))
    assert "Code from the deposit" in page and "First deposit" not in page
    assert "Waiting for the deposit — it arrives by" in text(page_of(admin))

    refused = verify(admin, row.id, descriptor_code="XX11AA")
    assert refused.status_code == 422 and rows(vendor)[0].verify_attempts == 0
    wrong = verify(admin, row.id, descriptor_code="SM22BB")
    assert "That code does not match the deposit. Tries left: 2." in text(
        wrong.get_data(as_text=True))

    right = verify(admin, row.id, descriptor_code=" sm11aa ")

    assert right.status_code == 303
    assert rows(vendor)[0].status == "verified"


def test_the_same_numbers_twice_are_refused(app, vendor, signed_in, localplaid):
    admin = signed_in(ADMIN)
    add_typed(admin)
    [row] = rows(vendor)
    verify(admin, row.id, amount_1="32", amount_2="45")

    again = add_typed(admin)

    assert again.status_code == 422
    assert "is saved for this account already" in text(again.get_data(as_text=True))
    assert len(rows(vendor)) == 1
    # Linked with Plaid, the same numbers (Plaid Checking's) are the same account too.
    link(admin, localplaid)
    assert len(rows(vendor)) == 1 and localplaid._state.items == {}
    assert "is saved for this account already" in text(page_of(admin))


def test_the_authorization_submitted_twice_adds_one_account(app, vendor, signed_in):
    """A double click on "Add the account": the second submission finds the first's account
    (same form, same PaymentMethod at Stripe) and shows it; one set of deposits is sent."""
    admin = signed_in(ADMIN)
    page = enter(admin).get_data(as_text=True)

    first = confirm(admin, page)
    second = confirm(admin, page)

    [row] = rows(vendor)
    assert first.location == second.location == f"/bank-accounts/{row.id}/verify?sent=1"
    assert len(authorizations(vendor)) == 1
    # Each new form has its own key.
    key = re.compile(r'name="entry_key" value="([^"]+)"')
    assert key.search(page)[1] != key.search(enter(admin).get_data(as_text=True))[1]
