"""Adding a bank account by its numbers, verified by micro-deposits (the fallback to Plaid).

Why a module of its own: it is the flow with a legal record in it. The payer
accepts the setup authorization (:mod:`portal.payments.ach_authorization`) for
the account they typed, and Stripe gets that acceptance as the mandate's
(https://docs.stripe.com/payments/ach-direct-debit/set-up-payment):

1. :func:`add_manual` — the numbers checked (:mod:`portal.payments.bank_entry`:
   nothing is sent when they are wrong); a ``us_bank_account`` PaymentMethod made at
   Stripe; the row stored ``pending_verification`` with the exact authorization text
   shown (:func:`authorization_text`); a SetupIntent confirmed with the acceptance,
   which sends the micro-deposits (idempotency key from the PaymentMethod).
2. :func:`verify` — the two amounts (cents) or the descriptor code, one counted try
   at a time (:data:`~portal.payments.bank_accounts.MAX_VERIFY_ATTEMPTS`): right, the
   account is ``verified`` with its mandate; wrong, the tries left are said; too many,
   ``verification_failed``.

The rules it shares with linking are in :mod:`portal.payments.bank_accounts`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NoReturn
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.audit import Origin
from portal.accounts.models import User
from portal.gateways.stripe import (
    BankAccountSummary,
    GatewayError,
    MicrodepositsRejected,
    StripeGateway,
)
from portal.ledger.models import Customer, utcnow
from portal.payments import ach_authorization, bank_accounts, bank_entry, card_checkout
from portal.payments.bank_accounts import LinkFailed, VerificationRefused
from portal.payments.bank_entry import InvalidEntry, ManualEntry
from portal.payments.bank_models import (
    PENDING_VERIFICATION,
    VERIFICATION_FAILED,
    VERIFIED,
    AchAuthorization,
    BankAccount,
)
from portal.vendor.models import Vendor

log = logging.getLogger("portal.payments.bank_microdeposits")

AMOUNTS, DESCRIPTOR_CODE = "amounts", "descriptor_code"
_ATTEMPTS_EXCEEDED = "_attempts_exceeded"


def authorization_text(vendor: Vendor, customer_name: str, payer: ach_authorization.Payer, *,
                       account_type: str, last4: str) -> str:
    """The setup authorization as the form shows it and :func:`add_manual` records it.

    The bank's name is not known before Stripe is asked, so the text says "bank"; the
    same words are stored, so what is kept is exactly what the payer accepted.
    """
    shown = BankAccount(bank_name=None, account_type=account_type, last4=last4)
    return ach_authorization.setup_text(vendor, customer_name, payer, shown)


def add_manual(session: Session, *, customer_id: int, user: User, holder_name: str,
               routing_number: str, account_number: str, account_number_again: str,
               account_type: str, payer: ach_authorization.Payer, stripe: StripeGateway,
               vendor: Vendor, accepted_at: dt.datetime, origin: Origin,
               entry_key: str | None = None) -> BankAccount:
    """Save a typed-in bank account and have Stripe send micro-deposits to verify it.

    ``entry_key`` names the form that was submitted (random, from the page): sent again
    (a double click), the same PaymentMethod comes back from Stripe and the account
    already saved is :class:`AlreadyAdded` with its ``bank_account_id``. Raises
    :class:`InvalidEntry` (per field; nothing sent), :class:`AlreadyAdded` or
    :class:`LinkFailed` (nothing stored). The caller commits.
    """
    entry = bank_entry.manual_entry(
        holder_name=holder_name, account_type=account_type, routing_number=routing_number,
        account_number=account_number, account_number_again=account_number_again)
    customer = session.get(Customer, customer_id)
    text = authorization_text(vendor, customer.name, payer, account_type=entry.account_type,
                              last4=entry.last4)
    unavailable = LinkFailed(_("The bank account could not be added just now. Nothing was "
                               "saved; try again in a minute."))
    try:
        stripe_customer = card_checkout.stripe_customer(session, stripe, customer_id)
        method = stripe.create_bank_payment_method(
            stripe_customer, entry.routing_number, entry.account_number, entry.holder_name,
            account_type=entry.account_type, idempotency_key=(
                f"portal-bank-entry-{customer_id}-{entry_key}" if entry_key else None))
    except GatewayError as error:
        raise _refused_numbers(error) or unavailable from None
    shown = BankAccount(bank_name=method.bank_name, account_type=entry.account_type,
                        last4=method.last4 or entry.last4)
    saved = session.scalars(select(BankAccount).where(
        BankAccount.stripe_id == method.id, BankAccount.customer_id == customer_id)).first()
    if saved is not None:  # this form was submitted before
        raise bank_accounts.already(shown, bank_account_id=saved.id)
    bank_accounts.refuse_known_numbers(session, stripe, stripe_customer, customer_id, method, shown)
    row = _pending_row(customer_id, user, entry, method)
    session.add(row)
    session.flush()
    accepted = ach_authorization.record(session, kind=ach_authorization.SETUP,
                                        customer_id=customer_id, bank=row, payer=payer,
                                        text=text, accepted_at=accepted_at)
    row.bank_name = method.bank_name  # after the text: it was shown without it
    try:
        setup = stripe.start_microdeposits(stripe_customer, method.id,
                                           ach_authorization.acceptance(accepted),
                                           idempotency_key=f"portal-bank-setup-{method.id}")
    except GatewayError as error:
        log.warning("Stripe did not start micro-deposits: %s", error.code)
        raise unavailable from None
    row.setup_intent_id = setup.setup_intent_id
    row.microdeposit_type = setup.microdeposit_type or AMOUNTS
    row.microdeposits_arrive_on = (_local_date(setup.arrival_date, vendor.zone)
                                   if setup.arrival_date else None)
    row.mandate_id = accepted.mandate_id = setup.mandate_id
    bank_accounts.audit_event(session, "bank_account.added", row, user, origin,
                              "entered by hand, micro-deposits sent")
    if setup.status == "succeeded":  # Stripe knew the account: no deposits needed
        _verified(session, row, setup.mandate_id, user, origin)
    return row


def _pending_row(customer_id: int, user: User, entry: ManualEntry,
                 method: BankAccountSummary) -> BankAccount:
    return BankAccount(
        customer_id=customer_id, stripe_id=method.id, source=bank_accounts.MANUAL,
        status=PENDING_VERIFICATION, bank_name=None, last4=method.last4 or entry.last4,
        account_type=entry.account_type, holder_name=entry.holder_name,
        added_by_user_id=user.id, verify_attempts=0)


def _refused_numbers(error: GatewayError) -> InvalidEntry | None:
    """Stripe's word on the numbers, as the form's (its checks may be stricter than ours)."""
    if error.code == "routing_number_invalid":
        return InvalidEntry({"routing_number": _(
            "No bank uses this routing number. Check it against a check or your bank's "
            "website.")})
    if error.code == "account_number_invalid":
        return InvalidEntry({"account_number": _(
            "This account number is not valid. Check it against a statement.")})
    return None


def _local_date(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def verify(session: Session, *, customer_id: int, bank_account_id: int,
           amounts: tuple[int, int] | None, descriptor_code: str | None,
           stripe: StripeGateway, user: User, origin: Origin) -> BankAccount:
    """Match the micro-deposits (two amounts in cents, or the ``SM`` code) and verify.

    Raises :class:`NotFound`, :class:`InvalidEntry` (not counted) or
    :class:`VerificationRefused` (counted: the caller commits it). The caller commits.
    """
    row = bank_accounts.owned(session, customer_id, bank_account_id, lock=True)
    if row.status == VERIFIED:
        return row  # a second submission of the right amounts
    if row.status != PENDING_VERIFICATION or not row.setup_intent_id:
        raise VerificationRefused(_failed_words(), tries_left=0, failed=True)
    params = _verify_params(row, amounts, descriptor_code)
    if row.verify_attempts >= bank_accounts.MAX_VERIFY_ATTEMPTS:
        _fail(row)
    row.verify_attempts += 1
    session.flush()
    left = bank_accounts.MAX_VERIFY_ATTEMPTS - row.verify_attempts
    try:
        intent = stripe.verify_microdeposits(row.setup_intent_id, **params)
    except MicrodepositsRejected as error:
        if str(error.code).endswith(_ATTEMPTS_EXCEEDED) or left <= 0:
            _fail(row)
        raise VerificationRefused(_wrong_words(row, left), tries_left=left) from None
    except GatewayError as error:
        log.warning("Stripe did not check micro-deposits: %s", error.code)
        raise VerificationRefused(
            _("The deposits could not be checked just now. Try again in a minute. Tries "
              "left: %(count)s.", count=left), tries_left=left) from None
    if intent.status != "succeeded":
        raise VerificationRefused(_wrong_words(row, left), tries_left=left)
    _verified(session, row, intent.mandate_id, user, origin)
    return row


def _verify_params(row: BankAccount, amounts: tuple[int, int] | None,
                   descriptor_code: str | None) -> dict:
    if row.microdeposit_type == DESCRIPTOR_CODE:
        return {"descriptor_code": bank_entry.descriptor_code(descriptor_code)}
    if amounts is None or len(amounts) != 2 or not all(
            isinstance(a, int) and bank_entry.MICRODEPOSIT_MIN <= a
            <= bank_entry.MICRODEPOSIT_MAX for a in amounts):
        raise InvalidEntry({"amount_1": _("Enter both deposits in cents, between 1 and 99.")})
    return {"amounts": [int(a) for a in amounts]}


def _wrong_words(row: BankAccount, left: int) -> str:
    if row.microdeposit_type == DESCRIPTOR_CODE:
        return _("That code does not match the deposit. Tries left: %(count)s.", count=left)
    return _("Those amounts do not match the deposits. Tries left: %(count)s.", count=left)


def _failed_words() -> str:
    return _("This bank account could not be verified: too many tries. Remove it and add it "
             "again; new deposits will be sent.")


def _fail(row: BankAccount) -> NoReturn:
    row.status = VERIFICATION_FAILED
    raise VerificationRefused(_failed_words(), tries_left=0, failed=True)


def _verified(session: Session, row: BankAccount, mandate_id: str | None, user: User,
              origin: Origin) -> None:
    row.status = VERIFIED
    row.verified_at = utcnow()
    if mandate_id:
        row.mandate_id = mandate_id
        for accepted in session.scalars(select(AchAuthorization).where(
                AchAuthorization.bank_account_id == row.id,
                AchAuthorization.kind == ach_authorization.SETUP,
                AchAuthorization.mandate_id.is_(None))):
            accepted.mandate_id = mandate_id
    bank_accounts.audit_event(session, "bank_account.verified", row, user, origin,
                              "micro-deposits matched")
    bank_accounts.notify_added(session, row, user)
