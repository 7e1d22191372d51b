"""Linking a bank account with Plaid: instant, verified by the payer's login at their bank.

Why a module of its own: it is the one flow that holds a Plaid access token in
plain text, for the few calls between Link's public token and the encrypted row
(https://plaid.com/docs/auth/partnerships/stripe/):

1. :func:`link_token` — the token the page opens Plaid Link with;
2. :func:`link_plaid` — Link's public token exchanged for the Item's access token;
   the chosen account read (bank, mask, type; checking and savings only); the access
   token encrypted before anything else happens; Plaid asked for a Stripe bank
   account token, which is attached to the account's Stripe customer (idempotency
   key from the Item and account, so a retry attaches once); the row stored
   ``verified``. When anything after the exchange fails, the Item is removed at
   Plaid before the error goes up, so no usable token is left behind.

The rules it shares with the typed-in way are in :mod:`portal.payments.bank_accounts`.
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.audit import Origin
from portal.accounts.models import User
from portal.config import Config
from portal.core import secrets
from portal.gateways import plaid as plaid_gateway
from portal.gateways.plaid import PlaidError, PlaidGateway
from portal.gateways.stripe import BankAccountSummary, GatewayError, StripeGateway
from portal.ledger.models import Customer, utcnow
from portal.payments import bank_accounts, bank_entry, card_checkout
from portal.payments.bank_accounts import AlreadyAdded, LinkFailed
from portal.payments.bank_models import ONE_OFF, VERIFIED, BankAccount

log = logging.getLogger("portal.payments.bank_linking")

LINK_CLIENT_NAME_MAX = 30  # Plaid's limit on link/token/create's client_name
LINK_LANGUAGES = ("en", "es", "fr")  # the portal's languages, all Link languages too


def link_token(plaid: PlaidGateway, *, user_id: int, vendor_name: str, locale: str) -> str:
    """Create the token that opens Plaid Link for ``user_id``; else :class:`LinkFailed`."""
    language = locale if locale in LINK_LANGUAGES else "en"
    try:
        return plaid.create_link_token(str(user_id), vendor_name[:LINK_CLIENT_NAME_MAX],
                                       language).link_token
    except PlaidError as error:
        log.warning("Plaid refused a link token: %s (request %s)", error.code, error.request_id)
        raise LinkFailed(_("Linking with your bank is not available just now. Try again in "
                           "a minute, or enter the account and routing numbers.")) from None


def link_plaid(session: Session, *, customer_id: int, user: User, public_token: str,
               account_id: str, plaid: PlaidGateway, stripe: StripeGateway, config: Config,
               origin: Origin) -> BankAccount:
    """Save the account the payer chose in Plaid Link as a verified bank account.

    Raises :class:`LinkFailed` or :class:`AlreadyAdded`, storing nothing (and removing
    the Plaid Item, if one was made). The caller commits.
    """
    if not public_token or not account_id:
        raise LinkFailed(_("Your bank did not send an account. Link it again."))
    try:
        item = plaid.exchange_public_token(public_token)
    except PlaidError as error:
        log.warning("Plaid refused a public token: %s (request %s)", error.code,
                    error.request_id)
        raise LinkFailed(_("The link with your bank expired or was used already. Link the "
                           "account again.")) from None
    try:
        return _save_linked(session, customer_id=customer_id, user=user, item=item,
                            account_id=account_id, plaid=plaid, stripe=stripe, config=config,
                            origin=origin)
    except BaseException:
        bank_accounts.remove_item(plaid, item.access_token, item.item_id)
        raise


def _save_linked(session: Session, *, customer_id: int, user: User, item: plaid_gateway.Item,
                 account_id: str, plaid: PlaidGateway, stripe: StripeGateway, config: Config,
                 origin: Origin) -> BankAccount:
    account = _debitable_account(plaid, item, account_id)
    try:
        encrypted = secrets.encrypt(config, item.access_token)
    except secrets.SecretError:
        log.exception("Plaid access tokens cannot be encrypted: check PORTAL_BANK_TOKEN_KEY")
        raise LinkFailed(_("Bank accounts cannot be linked just now.")) from None
    stripe_customer, saved, shown = _attach(session, plaid, stripe, item, account, customer_id)
    bank_accounts.refuse_known_numbers(session, stripe, stripe_customer, customer_id, saved, shown)
    row = BankAccount(
        customer_id=customer_id, stripe_id=saved.id, source=bank_accounts.PLAID, status=VERIFIED,
        bank_name=account.institution_name or saved.bank_name,
        last4=(account.mask or saved.last4)[-4:], account_type=account.subtype,
        holder_name=saved.holder_name, plaid_item_id=item.item_id,
        plaid_access_token=encrypted, added_by_user_id=user.id, verified_at=utcnow())
    session.add(row)
    session.flush()
    bank_accounts.audit_event(session, "bank_account.added", row, user, origin, "linked with Plaid")
    bank_accounts.notify_added(session, row, user)
    return row


def link_one_off(session: Session, *, customer_id: int, public_token: str, account_id: str,
                 plaid: PlaidGateway, stripe: StripeGateway) -> BankAccount:
    """Make the account chosen in Plaid Link debitable once, for a payment through an
    invoice link (:data:`ONE_OFF`): not saved with the account's bank accounts, and the
    Plaid Item removed at once, whatever happens (no access token is kept).

    Raises :class:`LinkFailed`, storing nothing. The caller commits.
    """
    if not public_token or not account_id:
        raise LinkFailed(_("Your bank did not send an account. Connect it again."))
    try:
        item = plaid.exchange_public_token(public_token)
    except PlaidError as error:
        log.warning("Plaid refused a public token: %s (request %s)", error.code,
                    error.request_id)
        raise LinkFailed(_("The connection with your bank expired or was used already. "
                           "Connect your bank again.")) from None
    try:
        account = _debitable_account(plaid, item, account_id)
        try:
            stripe_customer, saved, _shown = _attach(session, plaid, stripe, item, account,
                                                     customer_id, one_off=True)
        except AlreadyAdded:  # its own Stripe customer: only a replayed request gets here
            raise LinkFailed(_("The connection with your bank expired or was used already. "
                               "Connect your bank again.")) from None
        row = BankAccount(
            customer_id=customer_id, stripe_id=saved.id, source=bank_accounts.PLAID,
            status=ONE_OFF, bank_name=account.institution_name or saved.bank_name,
            last4=(account.mask or saved.last4)[-4:], account_type=account.subtype,
            holder_name=saved.holder_name, plaid_item_id=item.item_id, verified_at=utcnow(),
            stripe_customer_id=stripe_customer)
        session.add(row)
        session.flush()
        return row
    finally:
        bank_accounts.remove_item(plaid, item.access_token, item.item_id)


def _one_off_customer(session: Session, stripe: StripeGateway, customer_id: int,
                      item: plaid_gateway.Item) -> str:
    """A Stripe customer for one one-off account (named after the customer account), so
    the account's own Stripe customer — its saved cards and bank accounts — never has it."""
    name = session.get(Customer, customer_id).name
    return stripe.ensure_customer(f"{customer_id}-one-off-{item.item_id}",
                                  name=f"{name} (invoice link)").id


def _debitable_account(plaid: PlaidGateway, item: plaid_gateway.Item,
                       account_id: str) -> plaid_gateway.BankAccount:
    """The Item's account ``account_id``, if it is one that can be debited."""
    try:
        account = plaid.get_account(item.access_token, account_id)
    except PlaidError as error:
        log.warning("Plaid did not give account details: %s", error.code)
        raise _unreadable() from None
    if account.type != "depository" or account.subtype not in bank_entry.ACCOUNT_TYPES:
        raise LinkFailed(_("Choose a checking or savings account: only those can be "
                           "debited."))
    return account


def _unreadable() -> LinkFailed:
    return LinkFailed(_("The bank account could not be read from your bank. Try "
                        "again, or enter the account and routing numbers."))


def _attach(session: Session, plaid: PlaidGateway, stripe: StripeGateway,
            item: plaid_gateway.Item, account: plaid_gateway.BankAccount,
            customer_id: int, *, one_off: bool = False) -> tuple[str, BankAccountSummary,
                                                                 BankAccount]:
    """Turn the account into a Stripe bank account of the customer's Stripe customer (or,
    ``one_off``, of a Stripe customer of its own) — once per Item and account: idempotency
    key; return that customer, the bank account, and how it is described. Raises
    :class:`LinkFailed` or :class:`AlreadyAdded`."""
    try:
        token = plaid.stripe_bank_account_token(item.access_token, account.account_id)
    except PlaidError as error:
        log.warning("Plaid did not make a Stripe token: %s (request %s)", error.code,
                    error.request_id)
        raise _unreadable() from None
    shown = BankAccount(bank_name=account.institution_name, last4=account.mask or "",
                        account_type=account.subtype)
    try:
        stripe_customer = (_one_off_customer(session, stripe, customer_id, item) if one_off
                           else card_checkout.stripe_customer(session, stripe, customer_id))
        saved = stripe.attach_bank_token(
            stripe_customer, token,
            idempotency_key=f"plaid-{item.item_id}-{account.account_id}")
    except GatewayError as error:
        if error.code == "bank_account_exists":
            raise bank_accounts.already(shown) from None
        log.warning("Stripe refused a Plaid bank account: %s", error.code)
        raise LinkFailed(_("The bank account could not be added just now. Nothing was "
                           "saved; try again in a minute.")) from None
    if session.scalars(select(BankAccount.id).where(
            BankAccount.stripe_id == saved.id)).first() is not None:
        raise bank_accounts.already(shown)  # a replayed request: this one is saved already
    return stripe_customer, saved, shown
