"""The ACH debit authorization: its text, shown before a debit, and the record of its acceptance.

NACHA's rules for a debit the payer starts online (a WEB or, for a business
account, CCD entry) ask for an authorization that is clear and readable, names
who authorizes what, for which amount and date, from which account and to which
company, and says how to revoke it; the originator keeps proof of it for two
years after it ends. Stripe asks for the same acceptance as the mandate's
``customer_acceptance`` (online: time, IP address, user agent) and keeps it.

The text is versioned (:data:`VERSION`): change the wording, change the version.
Each acceptance stores the exact text the payer saw, in their language, with
the version, who (user, name and e-mail), when, IP and browser, the account and,
for a debit, the amount and payment (:class:`portal.payments.bank_models.AchAuthorization`).

Two kinds:

- ``setup``: verifying a bank account entered by hand (micro-deposits) sets up a
  mandate at Stripe; the text authorizes the small verification debits and any
  later debit the payer starts in the portal, each with its own authorization.
- ``debit``: one payment of a stated amount on a stated date, shown on the
  checkout before "Pay" and accepted with it.
- ``plan``: an installment plan's autopay from a bank account: the debits of its
  schedule (each amount and date listed), accepted when autopay is turned on. Each
  debit autopay then makes gets a copy of that acceptance naming its payment, so
  every debit has the record of what authorized it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays
from flask_babel import gettext as _

from portal.gateways.stripe import MandateAcceptance
from portal.i18n import date, money
from portal.payments.bank_models import AchAuthorization, BankAccount
from portal.vendor.models import Vendor

VERSION = "ach-2026-12-02"
# What the authorization tells the payer a debit takes, and "expected by" counts.
BUSINESS_DAYS = 4
# ACH moves on the Federal Reserve's banking days: weekdays but its holidays (a holiday on
# a Saturday leaves the Friday open; one on a Sunday closes the Monday).
FED_HOLIDAYS = holidays.financial_holidays("XFED")
SETUP = "setup"
DEBIT = "debit"
PLAN = "plan"  # a plan's autopay: every installment of its schedule


@dataclass(frozen=True, slots=True)
class Payer:
    """Who accepts, and from where (the request's IP address and browser)."""

    user_id: int | None
    name: str
    email: str
    ip_address: str
    user_agent: str


def _account(bank: BankAccount) -> str:
    kind = _("savings") if bank.account_type == "savings" else _("checking")
    return _("%(bank)s %(kind)s account ending in %(last4)s",
             bank=bank.bank_name or _("bank"), kind=kind, last4=bank.last4)


def _revoke(vendor: Vendor) -> str:
    contact = vendor.support_email or vendor.support_phone
    if contact:
        return _("You may revoke this authorization by contacting %(vendor)s (%(contact)s) "
                 "at least 3 business days before the debit date; you may not revoke it for "
                 "a debit already sent to your bank.", vendor=vendor.name, contact=contact)
    return _("You may revoke this authorization by contacting %(vendor)s at least 3 "
             "business days before the debit date; you may not revoke it for a debit already "
             "sent to your bank.", vendor=vendor.name)


def debit_text(vendor: Vendor, customer_name: str, payer: Payer, bank: BankAccount,
               amount_minor: int, currency: str, on: dt.date) -> str:
    """The authorization of one debit, as the checkout shows it beside "Pay"."""
    return " ".join((
        _("By selecting Pay, I, %(name)s (%(email)s), on behalf of %(customer)s, authorize "
          "%(vendor)s to debit %(amount)s from the %(account)s on or after %(date)s, once, "
          "for the invoices listed, and, as the ACH rules allow, to present a returned "
          "debit again and to reverse a debit made in error.",
          name=payer.name, email=payer.email, customer=customer_name, vendor=vendor.name,
          amount=money(amount_minor, currency), account=_account(bank), date=date(on, "long")),
        _("The debit usually takes %(days)d business days to complete.", days=BUSINESS_DAYS),
        _revoke(vendor)))


def setup_text(vendor: Vendor, customer_name: str, payer: Payer, bank: BankAccount) -> str:
    """The authorization given when a bank account is verified by micro-deposits."""
    return " ".join((
        _("I, %(name)s (%(email)s), on behalf of %(customer)s, authorize %(vendor)s and its "
          "payment processor, Stripe, to make small deposits to and a matching debit from "
          "the %(account)s to verify it, and to debit it for the payments I or my "
          "colleagues start in this portal, each of which we authorize separately.",
          name=payer.name, email=payer.email, customer=customer_name, vendor=vendor.name,
          account=_account(bank)),
        _revoke(vendor)))


def plan_text(vendor: Vendor, customer_name: str, payer: Payer, bank: BankAccount,
              plan_number: int, debits: list[tuple[dt.date, int]], currency: str) -> str:
    """The recurring authorization of a plan's autopay: each debit's date and amount."""
    schedule = "; ".join(f"{date(on, 'long')}: {money(amount, currency)}"
                         for on, amount in debits)
    return " ".join((
        _("By turning on autopay, I, %(name)s (%(email)s), on behalf of %(customer)s, "
          "authorize %(vendor)s to debit the %(account)s for the installments of payment "
          "plan %(plan)s still to pay, on or after each date: %(schedule)s. A debit is "
          "smaller when part of an installment was already paid, and none is made for an "
          "installment paid another way. As the ACH rules allow, %(vendor)s may present a "
          "returned debit again and reverse a debit made in error.",
          name=payer.name, email=payer.email, customer=customer_name, vendor=vendor.name,
          account=_account(bank), plan=plan_number, schedule=schedule),
        _("Turning autopay off on the plan's page stops the debits not yet made."),
        _revoke(vendor)))


def banking_day(day: dt.date) -> bool:
    """Tell whether ACH moves money on ``day``: a weekday that is no Federal Reserve holiday."""
    return day.weekday() < 5 and day not in FED_HOLIDAYS


def expected_by(started: dt.date, business_days: int = BUSINESS_DAYS) -> dt.date:
    """When a debit started on ``started`` should have settled: ``business_days`` banking
    days later (an estimate, said as one: a return may still come later)."""
    day = started
    while business_days:
        day += dt.timedelta(days=1)
        if banking_day(day):
            business_days -= 1
    return day


def record(session, *, kind: str, customer_id: int, bank: BankAccount, payer: Payer,
           text: str, accepted_at: dt.datetime, payment_id: int | None = None,
           amount_minor: int | None = None, currency: str | None = None,
           plan_id: int | None = None) -> AchAuthorization:
    """Store one acceptance (the caller commits it with what it authorizes)."""
    row = AchAuthorization(
        customer_id=customer_id, bank_account_id=bank.id, payment_id=payment_id, kind=kind,
        plan_id=plan_id,
        user_id=payer.user_id, accepted_by=f"{payer.name} <{payer.email}>"[:255],
        text_version=VERSION, text=text, amount_minor=amount_minor, currency=currency,
        accepted_at=accepted_at, ip_address=payer.ip_address[:64],
        user_agent=payer.user_agent[:500])
    session.add(row)
    session.flush()
    return row


def acceptance(row: AchAuthorization) -> MandateAcceptance:
    """What Stripe gets as the mandate's online customer acceptance."""
    return MandateAcceptance(accepted_at=row.accepted_at, ip_address=row.ip_address,
                             user_agent=row.user_agent)
