"""Telling a customer account's other users that a bank account was added to it.

Why: a bank account added to the portal can be debited for the account's
invoices, so a colleague who did not expect it must hear of it at once — the
same reason banks write when a payee is added. When an account is linked with
Plaid, or a typed-in one is verified, :func:`queue_added` holds the e-mail on
the session (:mod:`portal.core.after_commit`): it goes only once the change is
committed. The task then writes to every other active user of the account (any
role), each in their own language, saying who added which account (bank, last
four) and when (the vendor's time zone), and whom to contact if it is a surprise.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import tasks
from portal.accounts.models import Membership, User
from portal.core import after_commit
from portal.core.request_db import database
from portal.i18n import reader_locale
from portal.ledger.models import Customer
from portal.notifications import mail
from portal.payments.bank_models import REMOVED, BankAccount
from portal.vendor.services import get_vendor

log = logging.getLogger("portal.payments.bank_notices")

TASK = "send_bank_account_added"


def queue_added(session: Session, *, bank_account_id: int, added_by_user_id: int) -> None:
    """E-mail the account's other users about the bank account, once ``session`` commits."""
    after_commit.enqueue(session, TASK, bank_account_id=bank_account_id,
                         added_by_user_id=added_by_user_id)


@dataclass(frozen=True, slots=True)
class _Reader:
    email: str
    locale: str


@dataclass(frozen=True, slots=True)
class _Added:
    """What the e-mail says, read before any template runs (no session stays open)."""

    account: str  # the customer account's name
    adder_name: str
    adder_email: str
    bank_name: str | None
    account_type: str | None
    last4: str
    added_at: dt.datetime
    zone: ZoneInfo
    vendor: str
    contact: str
    readers: tuple[_Reader, ...]


def _read(session: Session, bank_account_id: int, added_by_user_id: int) -> _Added | None:
    bank = session.get(BankAccount, bank_account_id)
    adder = session.get(User, added_by_user_id)
    if bank is None or bank.status == REMOVED or adder is None:
        return None
    vendor = get_vendor(session)
    readers = session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.customer_id == bank.customer_id, User.id != adder.id,
               User.disabled_at.is_(None)).order_by(User.id))
    return _Added(
        account=session.get(Customer, bank.customer_id).name, adder_name=adder.name,
        adder_email=adder.email, bank_name=bank.bank_name, account_type=bank.account_type,
        last4=bank.last4, added_at=bank.verified_at or bank.created_at, zone=vendor.zone,
        vendor=vendor.name, contact=vendor.support_email or vendor.support_phone or "",
        readers=tuple(_Reader(user.email, reader_locale(user.locale))
                      for user in readers))


def _message(added: _Added, reader: _Reader) -> mail.Email:
    with force_locale(reader.locale):
        when = format_datetime(added.added_at, "long", tzinfo=added.zone,
                               locale=str(get_locale() or "en"))
        kind = _("savings") if added.account_type == "savings" else _("checking")
        bank = added.bank_name or _("bank")
    return mail.render("bank_account_added", reader.email, reader.locale,
                       account=added.account, adder_name=added.adder_name,
                       adder_email=added.adder_email, bank=bank, kind=kind, last4=added.last4,
                       when=when, vendor_name=added.vendor, contact=added.contact)


@tasks.task(TASK)
def _send_added(bank_account_id: int, added_by_user_id: int) -> None:
    # Read everything first, in a read-only unit that is closed before rendering: a
    # template reads the vendor through the request's own session, which must not wait
    # on this one's lock (SQLite).
    with database().unit_of_work(read_only=True) as unit:
        added = _read(unit.session, bank_account_id, added_by_user_id)
    if added is None:
        log.info("no e-mail about bank account %s: it is gone", bank_account_id)
        return
    for reader in added.readers:
        try:
            mail.deliver(_message(added, reader))
        except Exception:
            # The account is added whatever happens to one e-mail; the others still go.
            log.exception("the e-mail about bank account %s to a user was not sent",
                          bank_account_id)
