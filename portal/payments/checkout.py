"""What a selection of invoices costs: the checkout's arithmetic, done on the server.

The checkout page posts, for each invoice, the amount the payer typed (or
nothing: pay what is open), a short-pay reason and note, and whether to use the
account's credit and to send an overpayment to credit. :func:`quote` turns that
into exact minor units, invoice by invoice, and refuses what cannot be paid —
with a message per invoice or for the whole form — before anything is written.
The browser's total is never read.

The rules, per invoice (``open`` is balance less what payments in progress
reserve):

- An early-pay discount still open (:func:`portal.invoices.services.discount_offer`,
  judged on the vendor's today) is taken when the payment settles the whole
  balance: the payer pays ``offer.pay`` and ``offer.save`` is discounted. The
  page sends the discount it showed; if the server's differs (the deadline
  passed while the page was open), the quote is refused with the new amount
  rather than charging something else.
- Less than due (``open`` or, with a discount, ``offer.pay``) is a short payment
  and needs a reason from the vendor's list (``other`` needs a note); on an
  invoice of an active installment plan the reason is the plan (``PLAN_REASON``).
- More than due is refused unless the payer confirms the rest goes to the
  account's credit (``overpay_to_credit``).
- Credit, when asked for, is used oldest-overdue invoice first, up to what each
  invoice takes; the card is charged the rest.
- Every invoice must be the account's, open, and in one currency.

:func:`allocate_total` spreads one amount over the invoices oldest-overdue
first (discounted amounts where a discount is open), for the page to show as
editable amounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.disputes import services as disputes
from portal.i18n import money, parse_amount
from portal.invoices.services import DiscountOffer, discount_offer
from portal.ledger.models import Invoice
from portal.ledger.payments import AllocationInput
from portal.money import Money, MoneyError
from portal.payments import credit_plan
from portal.plans.queries import on_active_plan
from portal.vendor.models import Vendor

# The short-pay reason that needs the payer's own words.
OTHER_REASON = "other"
# The short-pay reason of a payment that leaves a disputed amount unpaid (portal.disputes).
DISPUTED_REASON = "disputed"
# The short-pay reason of an installment paying part of an invoice on an active plan.
PLAN_REASON = "plan_installment"
# Most invoices one checkout may pay (one PaymentIntent's metadata names them).
MAX_INVOICES = 100


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One invoice as the checkout form posts it."""

    number: str
    amount: str = ""  # as typed, in the payer's language; empty: pay what is due
    reason: str = ""
    note: str = ""
    shown_discount_minor: int | None = None  # the discount the page showed, if any


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """The whole form: the invoices, and the payer's two confirmations."""

    lines: tuple[LineRequest, ...]
    use_credit: bool = False
    overpay_to_credit: bool = False


@dataclass(slots=True)
class QuoteLine:
    """One invoice of the quote: what is open, what is paid, how, and what is wrong."""

    invoice: Invoice
    offer: DiscountOffer | None
    due_minor: int  # what settles it now: open, or offer.pay while a discount is open
    held_minor: int = 0  # on hold by a dispute in force: paid only if the payer asks
    pay_minor: int = 0  # cash and credit together
    discount_minor: int = 0
    credit_minor: int = 0
    over_minor: int = 0  # beyond what is due: to the account's credit
    reason: str | None = None
    note: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def open_minor(self) -> int:
        return self.invoice.available_minor

    @property
    def short_minor(self) -> int:
        """What stays unpaid on the invoice after this payment."""
        return max(self.due_minor - self.pay_minor, 0) if not self.discount_minor else 0

    @property
    def cash_minor(self) -> int:
        """What the card pays for this invoice (the overpayment excluded)."""
        return self.pay_minor - self.credit_minor - self.over_minor


@dataclass(slots=True)
class Quote:
    """The checkout's figures: per invoice and in all, in one currency."""

    currency: str
    lines: list[QuoteLine]
    credit_available_minor: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(line.errors for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def credit_minor(self) -> int:
        return sum(line.credit_minor for line in self.lines)

    @property
    def over_minor(self) -> int:
        return sum(line.over_minor for line in self.lines)

    @property
    def charge_minor(self) -> int:
        """What the card is charged: every invoice's cash plus any overpayment."""
        return sum(line.cash_minor for line in self.lines) + self.over_minor

    def allocations(self) -> list[AllocationInput]:
        """The card payment's allocations, for :func:`portal.ledger.start_payment`.

        An invoice the card pays nothing of (credit pays it all) is not in the
        payment: its discount, if any, goes with the credit
        (:meth:`credit_applications`).
        """
        return [AllocationInput(invoice_id=line.invoice.id, amount_minor=line.cash_minor,
                                discount_minor=line.discount_minor,
                                short_pay_reason=line.reason, short_pay_note=line.note)
                for line in self.lines if line.cash_minor > 0]

    def credit_applications(self) -> list[tuple[QuoteLine, int]]:
        """Each invoice credit pays part of, with the discount the credit posts (0 or all)."""
        return [(line, line.discount_minor if line.cash_minor == 0 else 0)
                for line in self.lines if line.credit_minor > 0]


def _oldest_first(lines: Sequence[QuoteLine]) -> list[QuoteLine]:
    return sorted(lines, key=lambda line: (line.invoice.due_date, line.invoice.id))


def _load(session: Session, customer_id: int, numbers: Sequence[str]) -> dict[str, Invoice]:
    rows = session.scalars(select(Invoice).where(Invoice.customer_id == customer_id,
                                                 Invoice.number.in_(list(numbers))))
    return {invoice.number: invoice for invoice in rows}


def _minor(text: str, currency: str, locale: str) -> int:
    """Minor units of an amount typed in ``locale``; MoneyError if it is not one."""
    try:
        value = parse_amount(text, locale)
    except InvalidOperation:
        raise MoneyError(text) from None
    if value < 0:
        raise MoneyError(text)
    return Money.parse(format(value, "f"), currency).minor


def quote(session: Session, customer_id: int, vendor: Vendor, today: dt.date,
          request: CheckoutRequest,
          locale: str = "en") -> Quote:
    """Compute the checkout for ``request``; refusals are in the quote's errors."""
    numbers = list(dict.fromkeys(line.number for line in request.lines))
    found = _load(session, customer_id, numbers)
    currencies = sorted({invoice.currency for invoice in found.values()})
    result = Quote(currency=currencies[0] if currencies else "", lines=[])
    if not numbers:
        result.errors.append(_("Choose at least one invoice to pay."))
        return result
    if len(numbers) > MAX_INVOICES:
        result.errors.append(_("Pay at most %(count)d invoices at a time.", count=MAX_INVOICES))
        return result
    missing = [number for number in numbers if number not in found]
    if missing:
        # Another account's invoice reads exactly like one that does not exist.
        result.errors.append(_("Invoice %(number)s was not found in this account.",
                               number=missing[0]))
    if len(currencies) > 1:
        result.errors.append(_("Invoices in %(currencies)s cannot be paid together: pay each "
                               "currency separately.", currencies=", ".join(currencies)))
    reasons = {reason["code"] for reason in vendor.short_pay_reasons} | {OTHER_REASON}
    on_hold = disputes.held(session, [invoice.id for invoice in found.values()])
    planned = on_active_plan(session, [invoice.id for invoice in found.values()])
    for request_line in request.lines:
        invoice = found.get(request_line.number)
        if invoice is None or any(line.invoice is invoice for line in result.lines):
            continue
        line = _line(invoice, vendor, today, request_line, request, reasons, locale,
                     on_hold.get(invoice.id, 0), invoice.id in planned)
        result.lines.append(line)
    if result.currency:
        # Less what card payments still in progress have promised (credit_plan).
        result.credit_available_minor = credit_plan.available(session, customer_id,
                                                              result.currency)
    if request.use_credit and result.ok:
        _use_credit(result)
    return result


def _line(invoice: Invoice, vendor: Vendor, today: dt.date, request_line: LineRequest,
          request: CheckoutRequest, reasons: set[str], locale: str,
          held: int = 0, on_plan: bool = False) -> QuoteLine:
    offer = discount_offer(invoice, vendor, today)
    due = offer.pay.minor if offer else invoice.available_minor
    # A dispute's hold: what is paid by default is the undisputed rest (DESIGN: the
    # undisputed part stays payable); the payer may still choose to pay more.
    held = min(held, invoice.available_minor)
    line = QuoteLine(invoice=invoice, offer=offer, due_minor=due, held_minor=held)
    if invoice.status != "open" or invoice.available_minor <= 0:
        line.errors.append(_closed_message(invoice))
        return line
    shown = request_line.shown_discount_minor
    if shown and (offer is None or offer.save.minor != shown):
        line.errors.append(_(
            "The early-payment discount on this invoice is no longer available; "
            "%(amount)s is now due.", amount=money(invoice.available_minor, invoice.currency)))
        return line
    undisputed = invoice.available_minor - held
    if held and undisputed <= 0 and not request_line.amount.strip():
        line.errors.append(_("All of it is disputed: nothing is due until the dispute is "
                             "resolved."))
        return line
    try:
        paid = (undisputed if held else due) if not request_line.amount.strip() else _minor(
            request_line.amount, invoice.currency, locale)
    except MoneyError:
        line.errors.append(_("Enter the amount to pay, such as %(example)s.",
                             example=money(due, invoice.currency)))
        return line
    if paid <= 0:
        line.errors.append(_("Enter an amount greater than zero, or remove this invoice."))
        return line
    line.pay_minor = paid
    if paid >= due:
        line.discount_minor = offer.save.minor if offer else 0
        line.over_minor = paid - due
        if line.over_minor and not request.overpay_to_credit:
            line.errors.append(_(
                "This is %(over)s more than the %(due)s due. To pay it anyway, confirm that the "
                "rest goes to your account's credit.",
                over=money(line.over_minor, invoice.currency),
                due=money(due, invoice.currency)))
        return line
    if held and paid >= undisputed and not request_line.reason.strip():
        # Leaving the disputed amount unpaid needs no other reason.
        line.reason, line.note = DISPUTED_REASON, None
        return line
    if on_plan and not request_line.reason.strip():
        # An installment of the invoice's plan: the plan is the reason.
        line.reason, line.note = PLAN_REASON, None
        return line
    _short_pay(line, request_line, reasons)
    return line


def _short_pay(line: QuoteLine, request_line: LineRequest, reasons: set[str]) -> None:
    reason = request_line.reason.strip()
    note = request_line.note.strip()[:500]
    if reason not in reasons:
        line.errors.append(_("Paying less than is due needs a reason."))
    elif reason == OTHER_REASON and not note:
        line.errors.append(_("Say in a few words why less is paid."))
    line.reason, line.note = reason or None, note or None


def _closed_message(invoice: Invoice) -> str:
    if invoice.status == "open" and invoice.reserved_minor > 0:
        return _("A payment in progress already covers this invoice's whole balance.")
    if invoice.status == "paid":
        return _("This invoice is already paid.")
    return _("This invoice has nothing left to pay.")


def _use_credit(result: Quote) -> None:
    """Spend the account's credit on the invoices, oldest-overdue first."""
    left = result.credit_available_minor
    for line in _oldest_first(result.lines):
        if left <= 0:
            break
        take = min(left, line.pay_minor - line.over_minor)
        line.credit_minor = take
        left -= take


def allocate_total(result: Quote, total_minor: int) -> dict[str, int]:
    """Spread ``total_minor`` over the quote's invoices, oldest-overdue first.

    Each invoice takes what settles it (its discounted amount while a discount is
    open) until the total runs out; the last one touched takes what is left. What
    the total exceeds the invoices by is put on the oldest (the checkout then asks
    to confirm it goes to credit). Returns amounts by invoice number.
    """
    amounts: dict[str, int] = {}
    left = total_minor
    ordered = _oldest_first([line for line in result.lines if not line.errors])
    for line in ordered:
        take = min(left, line.due_minor)
        if take > 0:
            amounts[line.invoice.number] = take
        left -= take
    if left > 0 and ordered:
        first = ordered[0].invoice.number
        amounts[first] = amounts.get(first, 0) + left
    return amounts
