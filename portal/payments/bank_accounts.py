"""A customer account's bank accounts for ACH: who may change them, what there is, removing.

Why it exists: the checkout debits only what these modules have made a
:class:`~portal.payments.bank_models.BankAccount` with status ``verified``
(:func:`verified_accounts`), so every rule about getting a bank account to that
state, and out of it, lives in them. Views parse forms and call one function;
nothing here reads a request. Three modules, one feature:

- this one: the errors, :func:`can_manage`, the queries, :func:`remove`, the
  audit and e-mail of every change, and what both ways of adding share;
- :mod:`portal.payments.bank_linking`: linking with Plaid (instant);
- :mod:`portal.payments.bank_microdeposits`: numbers typed in, verified by
  micro-deposits (the numbers themselves are checked by :mod:`portal.payments.bank_entry`).

Invariants:

- Only :func:`can_manage` people add, verify or remove (account admins; payers when
  the vendor allows it); anyone who may ``view`` sees the list.
- Another customer's bank account is :class:`NotFound`, whatever the action.
- Nothing is stored when Plaid or Stripe refuses: each function raises its error
  before the row exists, and the caller's unit of work rolls back. A Plaid Item
  exchanged before Stripe refused is removed at once, so no access token is left
  usable with no row pointing at it.
- The same bank account (Stripe's fingerprint of its numbers) is saved once per
  customer account; a second is :class:`AlreadyAdded` (Stripe's ``bank_account_exists``
  for a second link, :func:`refuse_known_numbers` across Plaid and typed-in ones).
- Plaid access tokens are stored only encrypted (:mod:`portal.core.secrets`) and
  cleared on removal; account and routing numbers are never stored or logged.
- Removing is allowed while a debit from the account is processing: Stripe finishes
  that debit (or returns it) whatever happens to the saved account.
- Every addition, verification and removal is in the audit log; when an account is
  added (linked, or verified by micro-deposits) the account's other users get an
  e-mail, sent only once the transaction commits (:mod:`portal.payments.bank_notices`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import audit
from portal.accounts.access import Principal
from portal.accounts.audit import Origin
from portal.accounts.models import User
from portal.config import Config
from portal.core import secrets
from portal.gateways import plaid as plaid_gateway
from portal.gateways.plaid import PlaidError, PlaidGateway
from portal.gateways.stripe import BankAccountSummary, GatewayError, StripeGateway
from portal.gateways.stripe import NotFound as StripeNotFound
from portal.ledger.models import utcnow
from portal.payments import bank_notices, cards
from portal.payments.bank_models import NOT_SAVED, REMOVED, VERIFIED, BankAccount
from portal.vendor.models import Vendor

log = logging.getLogger("portal.payments.bank_accounts")

MAX_VERIFY_ATTEMPTS = 3
PLAID, MANUAL = "plaid", "manual"


class BankAccountError(Exception):
    """A refusal to show the payer: ``message`` is in their language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(BankAccountError):
    """No such bank account in this customer account (another's reads the same)."""


class AlreadyAdded(BankAccountError):
    """This bank account is saved for the customer account already (``bank_account_id``,
    when it is known which)."""

    def __init__(self, message: str, *, bank_account_id: int | None = None) -> None:
        super().__init__(message)
        self.bank_account_id = bank_account_id


class LinkFailed(BankAccountError):
    """Plaid or Stripe refused, or could not be reached; nothing was stored."""


class Unavailable(BankAccountError):
    """Stripe could not be asked just now; nothing was changed."""


class VerificationRefused(BankAccountError):
    """The micro-deposits were not accepted. The try was counted: commit, then show it."""

    def __init__(self, message: str, *, tries_left: int, failed: bool = False) -> None:
        super().__init__(message)
        self.tries_left = tries_left
        self.failed = failed


# Who may, and what there is ------------------------------------------------------------


def can_manage(principal: Principal | None, vendor: Vendor) -> bool:
    """Tell whether ``principal`` may add, verify and remove the account's bank accounts."""
    if principal is None or principal.is_staff:
        return False
    if principal.can("manage_bank_accounts"):  # account admins
        return True
    return principal.role == "payer" and bool(vendor.payers_manage_bank_accounts)


def accounts(session: Session, customer_id: int) -> list[BankAccount]:
    """Return the customer account's bank accounts that are not removed, newest first."""
    return list(session.scalars(
        select(BankAccount)
        .where(BankAccount.customer_id == customer_id, BankAccount.status.not_in(NOT_SAVED))
        .order_by(BankAccount.created_at.desc(), BankAccount.id.desc())))


def verified_accounts(session: Session, customer_id: int) -> list[BankAccount]:
    """Return the bank accounts the checkout may debit, newest first."""
    return [row for row in accounts(session, customer_id) if row.status == VERIFIED]


def owned(session: Session, customer_id: int, bank_account_id: int, *,
          lock: bool = False) -> BankAccount:
    """Return the customer account's bank account ``bank_account_id`` (not removed), else
    :class:`NotFound`; ``lock`` takes its row lock (PostgreSQL) for a change."""
    query = select(BankAccount).where(BankAccount.id == bank_account_id,
                                      BankAccount.customer_id == customer_id,
                                      BankAccount.status.not_in(NOT_SAVED))
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(_("There is no such bank account in this account."))
    return row


def added_by_names(session: Session, rows: Iterable[BankAccount]) -> dict[int, str]:
    """Return the names of the users who added ``rows``, by user id."""
    ids = {row.added_by_user_id for row in rows if row.added_by_user_id}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def configured_plaid(config: Config) -> PlaidGateway | None:
    """The Plaid gateway of ``config``, or None when no Plaid keys are configured."""
    try:
        return PlaidGateway.from_config(config)
    except plaid_gateway.NotConfigured:
        return None


def describe(row: BankAccount) -> str:
    """The account in words: "First Platypus Bank checking account ending in 6789"."""
    kind = _("savings") if row.account_type == "savings" else _("checking")
    return _("%(bank)s %(kind)s account ending in %(last4)s",
             bank=row.bank_name or _("bank"), kind=kind, last4=row.last4)


# What both ways of adding share -------------------------------------------------------


def remove_item(plaid: PlaidGateway, access_token: str, item_id: str | None) -> None:
    """Revoke a Plaid access token; a failure is logged (by Item id, never the token)."""
    try:
        plaid.remove_item(access_token)
    except PlaidError as error:
        log.warning("Plaid Item %s was not removed: %s (request %s)", item_id, error.code,
                    error.request_id)


def already(shown: BankAccount, bank_account_id: int | None = None) -> AlreadyAdded:
    """The refusal of a bank account saved already (``shown`` describes it)."""
    return AlreadyAdded(_("The %(account)s is saved for this account already.",
                          account=describe(shown)), bank_account_id=bank_account_id)


def refuse_known_numbers(session: Session, stripe: StripeGateway, stripe_customer: str,
                          customer_id: int, saved: BankAccountSummary,
                          shown: BankAccount) -> None:
    """Refuse (and take back) ``saved`` if the same numbers are saved already in another way
    (linked once with Plaid and once typed in): Stripe's fingerprint says so."""
    if not saved.fingerprint:
        return
    try:
        listed = stripe.list_bank_accounts(stripe_customer)
    except GatewayError as error:
        log.warning("Stripe did not list bank accounts (duplicates not checked): %s",
                    error.code)
        return
    twins = {item.id for item in listed
             if item.id != saved.id and item.fingerprint == saved.fingerprint}
    if twins and session.scalars(select(BankAccount.id).where(
            BankAccount.customer_id == customer_id, BankAccount.status.not_in(NOT_SAVED),
            BankAccount.stripe_id.in_(twins))).first() is not None:
        try:
            stripe.detach_bank_account(stripe_customer, saved.id)
        except GatewayError as error:
            log.warning("a duplicate bank account %s stays at Stripe: %s", saved.id,
                        error.code)
        raise already(shown)


# Removing --------------------------------------------------------------------------------


def remove(session: Session, *, customer_id: int, bank_account_id: int, stripe: StripeGateway,
           plaid: PlaidGateway | None, config: Config, user: User, origin: Origin) -> None:
    """Remove a bank account: at Stripe, at Plaid (best effort), then here.

    A debit already started from it still completes at Stripe. Raises :class:`NotFound`
    or :class:`Unavailable` (nothing changed). The caller commits.
    """
    row = owned(session, customer_id, bank_account_id, lock=True)
    stripe_customer = cards.known_stripe_customer_id(session, customer_id)
    if stripe_customer is not None:
        try:
            stripe.detach_bank_account(stripe_customer, row.stripe_id)
        except StripeNotFound:
            pass  # gone at Stripe already (removed in the Dashboard, or never attached)
        except GatewayError as error:
            log.warning("Stripe did not remove bank account %s: %s", row.id, error.code)
            raise Unavailable(_("The bank account could not be removed just now. Try again "
                                "in a minute.")) from None
    if row.plaid_access_token is not None:
        _revoke_at_plaid(row, plaid, config)
    row.status = REMOVED
    row.removed_at = utcnow()
    row.plaid_access_token = None
    audit_event(session, "bank_account.removed", row, user, origin, "removed")


def _revoke_at_plaid(row: BankAccount, plaid: PlaidGateway | None, config: Config) -> None:
    if plaid is None:
        log.warning("Plaid Item %s not removed: Plaid is not configured", row.plaid_item_id)
        return
    try:
        access_token = secrets.decrypt(config, row.plaid_access_token)
    except secrets.SecretError:
        log.warning("Plaid Item %s not removed: its token cannot be decrypted",
                    row.plaid_item_id)
        return
    remove_item(plaid, access_token, row.plaid_item_id)


# Telling people ------------------------------------------------------------------------


def audit_event(session: Session, action: str, row: BankAccount, user: User, origin: Origin,
           how: str) -> None:
    audit.record(session, action, origin=origin, user=user, customer_id=row.customer_id,
                 subject=f"bank account {row.id}",
                 detail=f"{row.bank_name or 'bank'} {row.account_type or ''} ending "
                        f"{row.last4}: {how}")


def notify_added(session: Session, row: BankAccount, added_by: User) -> None:
    """E-mail the account's other users that ``row`` was added, once this commits."""
    bank_notices.queue_added(session, bank_account_id=row.id, added_by_user_id=added_by.id)
