"""The checkout page, ``/pay``: the selected invoices, editable amounts, the server's totals.

Reached by a POST from the invoice list's selection bar or an invoice page (the
selected numbers, or "every invoice matching this filter" as the filter's
token and the numbers left out), which redirects to ``GET /pay?invoice=...``
so that a reload or the back button shows the same page. Every figure on the
page comes from :func:`portal.payments.checkout.quote`; the form posts back
only what the payer typed, and "Update totals" or "Spread" recompute it.
Only roles with ``pay`` reach it (a viewer's POST is a 403).
"""

from __future__ import annotations

from decimal import InvalidOperation

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from portal.accounts import access
from portal.accounts.access import requires
from portal.core.request_db import uow
from portal.i18n import parse_amount
from portal.invoices import selection
from portal.invoices.forms import amount_example
from portal.money import Money, MoneyError
from portal.payments import checkout
from portal.payments.checkout import CheckoutRequest, LineRequest
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("checkout", __name__)


def _locale() -> str:
    return str(get_locale() or "en")


@bp.post("/pay")
@requires("pay")
def start():
    """Take a selection from the invoice pages to the checkout."""
    session = uow().session
    numbers = selection.selected_numbers(session, access.customer_id(), request.form,
                                         local_today(get_vendor(session)),
                                         limit=checkout.MAX_INVOICES + 1)
    return redirect(url_for("checkout.page", invoice=numbers), code=303)


def _request_from(form: MultiDict) -> CheckoutRequest:
    lines = []
    for number in dict.fromkeys(form.getlist("invoice")):
        shown = form.get(f"shown_discount-{number}", "")
        lines.append(LineRequest(
            number=number, amount=form.get(f"amount-{number}", ""),
            reason=form.get(f"reason-{number}", ""), note=form.get(f"note-{number}", ""),
            shown_discount_minor=int(shown) if shown.isdigit() else None))
    return CheckoutRequest(tuple(lines), use_credit=form.get("use_credit") == "1",
                           overpay_to_credit=form.get("overpay_to_credit") == "1")


def _render(form: MultiDict, *, spread_error: str | None = None):
    session = uow().session
    vendor = get_vendor(session)
    today = local_today(vendor)
    asked = _request_from(form)
    result = checkout.quote(session, access.customer_id(), vendor, today, asked,
                            locale=_locale())
    return render_template("payments/checkout.html", quote=result, vendor=vendor, today=today,
                           typed={line.number: line.amount for line in asked.lines},
                           asked={line.number: line for line in asked.lines}, form=form,
                           spread_error=spread_error, reasons=vendor.short_pay_reasons)


@bp.get("/pay")
@requires("pay")
def page():
    """The checkout for the invoices named in the query string, at what is due today."""
    return _render(request.args)


@bp.post("/pay/review")
@requires("pay")
def review():
    """Recompute the checkout from what the payer typed; spread one amount if asked."""
    form = request.form
    if form.get("action") != "spread":
        return _render(form)
    session = uow().session
    vendor = get_vendor(session)
    result = checkout.quote(session, access.customer_id(), vendor, local_today(vendor),
                            _request_from(form), locale=_locale())
    try:
        total = Money.parse(format(parse_amount(form.get("spread_total", ""), _locale()), "f"),
                            result.currency or "USD").minor
    except (InvalidOperation, MoneyError):
        total = 0
    if total <= 0:
        return _render(form, spread_error=_("Enter the total you want to pay, such as "
                                            "%(example)s.", example=amount_example(_locale())))
    spread = checkout.allocate_total(result, total)
    # The invoices the total reaches, each with its share; those it does not reach drop out.
    spread_form = MultiDict([(k, v) for k, v in form.items(multi=True)
                             if k != "invoice" and not k.startswith("amount-")])
    for number, minor in spread.items():
        spread_form.add("invoice", number)
        spread_form[f"amount-{number}"] = Money(minor, result.currency).plain()
    return _render(spread_form)
