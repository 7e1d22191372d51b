"""The customer's plan pages: ``/plans`` (the account's plans), asking for one
(``/plans/new``, with its schedule shown live by ``/plans/preview``), and ``/plans/<id>``
(one plan: its schedule and how it stands, paying an installment or everything through
the checkout, autopay, the answer to a counter-proposal).

Everyone on the account reads them (permission ``view``); asking for a plan and answering
the vendor need ``plan``; paying and autopay need ``pay``. Another account's plan is a
404, like one that does not exist. The rules are in :mod:`portal.plans.services`,
:mod:`portal.plans.progress` and :mod:`portal.plans.autopay`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts import access
from portal.accounts.access import principal, requires
from portal.core.request_db import uow
from portal.gateways.stripe import GatewayError
from portal.invoices import selection
from portal.ledger.models import Customer, Invoice
from portal.money import Money
from portal.payments import ach_authorization, card_checkout, cards
from portal.payments.bank_accounts import verified_accounts
from portal.payments.bank_models import BankAccount
from portal.payments.views import allow_stripe
from portal.plans import autopay, forms, progress, services
from portal.plans.models import ACTIVE, COUNTERED, Plan, PlanInstallment, PlanInvoice
from portal.plans.policy_words import percent_words, plan_reasons, reason_words
from portal.plans.services import PlanError
from portal.vendor.services import get_vendor, local_today

bp = Blueprint("plans", __name__)


def _locale() -> str:
    return str(get_locale() or "en")


def plan_or_404(plan_id: int, *, lock: bool = False) -> Plan:
    """The account's plan ``plan_id``; 404 if absent or another account's."""
    query = select(Plan).where(Plan.id == plan_id, Plan.customer_id == access.customer_id())
    plan = uow().session.scalar(query.with_for_update() if lock else query)
    if plan is None:
        abort(404)
    return plan


@bp.get("/plans")
@requires("view")
def index():
    """The account's plans, newest first, each with what comes next."""
    session = uow().session
    vendor = get_vendor(session)
    plans = session.scalars(
        select(Plan).where(Plan.customer_id == access.customer_id())
        .options(selectinload(Plan.terms), selectinload(Plan.installments),
                 selectinload(Plan.invoices).selectinload(PlanInvoice.invoice))
        .order_by(Plan.created_at.desc(), Plan.id.desc())).all()
    return render_template("plans/index.html", rows=[_listed(plan) for plan in plans],
                           vendor=vendor, today=local_today(vendor),
                           can_plan=principal().can("plan"))


@dataclass(frozen=True, slots=True)
class Listed:
    """A plan on the list: its next installment (active plans) and what it still owes."""

    plan: Plan
    upcoming: PlanInstallment | None
    owed_minor: int  # what the next installment still needs (payments in progress aside)
    remaining_minor: int


def _listed(plan: Plan) -> Listed:
    now = progress.standing(plan)
    upcoming, owed = progress.upcoming(plan, now)
    return Listed(plan, upcoming, owed, now.remaining_minor)


# Asking for a plan -----------------------------------------------------------------------


@bp.post("/plans/start")
@requires("plan")
def start():
    """Take a selection from the invoice list to the request page."""
    session = uow().session
    numbers = selection.selected_numbers(session, access.customer_id(), request.form,
                                         local_today(get_vendor(session)), limit=200)
    return redirect(url_for("plans.new", invoice=numbers), code=303)


def _request_page(*, asked: forms.Asked | None = None, error: str | None = None,
                  status: int = 200):
    session = uow().session
    vendor = get_vendor(session)
    today = local_today(vendor)
    form = request.form if request.method == "POST" else request.args
    chosen = set(form.getlist("invoice"))
    policy = services.policy_for(vendor)
    invoices = services.eligible(session, access.customer_id())
    offered = {invoice.number for invoice in invoices}
    return render_template(
        "plans/new.html", invoices=invoices, chosen=chosen,
        unavailable=sorted(chosen - offered), form=form,
        errors=asked.errors if asked else {}, error=error,
        today=today, preview=_preview(asked) if asked else None,
        earliest_first=(today + dt.timedelta(days=1)).isoformat(),
        default_first=(today + dt.timedelta(days=30)).isoformat(),
        policy=policy, min_down_percent=percent_words(policy),
        frequencies=forms.FREQUENCIES), status


def _asked_invoices(asked: forms.Asked) -> list[Invoice]:
    return [inv for inv in services.eligible(uow().session, access.customer_id())
            if inv.number in asked.numbers]


def _read() -> forms.Asked:
    """The form's request; the down payment is read in the chosen invoices' currency."""
    session = uow().session
    numbers = request.form.getlist("invoice")
    currency = session.scalar(select(Invoice.currency).where(
        Invoice.customer_id == access.customer_id(), Invoice.number.in_(numbers)).limit(1))
    return forms.read(request.form, currency or "USD", _locale(),
                      local_today(get_vendor(session)))


def _preview(asked: forms.Asked):
    """The schedule and the policy's verdict for what the form asks, or what is wrong."""
    if asked.terms is None or asked.errors:
        return None
    session = uow().session
    vendor = get_vendor(session)
    invoices = _asked_invoices(asked)
    if not invoices:
        return None
    currencies = {inv.currency for inv in invoices}
    if len(currencies) > 1:
        return _("A plan covers invoices in one currency.")
    policy = services.policy_for(vendor)
    try:
        result = services.preview(session, access.customer_id(), invoices, asked.terms, policy,
                                  local_today(vendor))
    except PlanError as problem:
        return str(problem)
    result.words.extend(reason_words(code, policy, result.total_minor, result.currency)
                        for code in result.reasons)
    return result


@bp.get("/plans/new")
@requires("plan")
def new():
    """Ask for a plan: the invoices (those in the query string chosen), terms, reason."""
    return _request_page()


@bp.post("/plans/preview")
@requires("plan")
def preview():
    """The schedule the form's terms make, as a fragment the request page shows live."""
    asked = _read()
    return render_template("plans/_preview.html", preview=_preview(asked), errors=asked.errors)


@bp.post("/plans/new")
@requires("plan")
def create():
    """Send the request: approved at once inside the vendor's policy, else to the vendor."""
    unit = uow()
    session = unit.session
    asked = _read()
    if request.form.get("action") == "preview":  # "Show the schedule", without JavaScript
        return _request_page(asked=asked)
    if asked.errors:
        return _request_page(asked=asked, status=422)
    vendor = get_vendor(session)
    invoice_ids = list(session.scalars(select(Invoice.id).where(
        Invoice.customer_id == access.customer_id(), Invoice.number.in_(asked.numbers))))
    if len(invoice_ids) != len(asked.numbers):
        return _request_page(asked=asked, error=_("Choose invoices of this account only."),
                             status=422)
    try:
        plan = services.request_plan(
            session, customer_id=access.customer_id(), invoice_ids=invoice_ids,
            terms=asked.terms, reason=asked.reason, user_id=principal().user.id,
            policy=services.policy_for(vendor), today=local_today(vendor))
    except PlanError as problem:
        session.rollback()
        return _request_page(asked=asked, error=str(problem), status=422)
    unit.commit()
    if plan.status == ACTIVE:
        flash(_("Your plan is approved. Pay each installment by its date, or turn on "
                "autopay below."), "success")
    else:
        flash(_("Your request is with %(vendor)s: you will get an e-mail when they decide. "
                "Until then, the invoices stay as they are.", vendor=vendor.name), "info")
    return redirect(url_for("plans.detail", plan_id=plan.id), code=303)


# One plan ---------------------------------------------------------------------------------


def _autopay_choices(plan: Plan):
    """The saved cards and verified bank accounts autopay may use, with each bank
    account's authorization text."""
    session = uow().session
    gateway = cards.configured_gateway()
    saved = []
    stripe_customer = cards.known_stripe_customer_id(session, plan.customer_id)
    if gateway is not None and stripe_customer:
        try:
            saved = gateway.list_saved_cards(stripe_customer)
        except GatewayError:
            saved = []
    banks = []
    if plan.currency == "USD":
        vendor = get_vendor(session)
        who = principal()
        payer = ach_authorization.Payer(user_id=who.user.id, name=who.user.name,
                                        email=who.user.email, ip_address="", user_agent="")
        name = session.get(Customer, plan.customer_id).name
        debits = autopay.remaining_debits(plan, local_today(vendor))
        banks = [(bank, ach_authorization.plan_text(vendor, name, payer, bank, plan.id, debits,
                                                    plan.currency))
                 for bank in verified_accounts(session, plan.customer_id)]
    return saved, banks


@bp.get("/plans/<int:plan_id>")
@requires("view")
def detail(plan_id: int):
    plan = plan_or_404(plan_id)
    session = uow().session
    vendor = get_vendor(session)
    today = local_today(vendor)
    policy = services.policy_for(vendor)
    can_pay = principal().can("pay")
    saved, banks = _autopay_choices(plan) if can_pay and plan.status == ACTIVE else ([], [])
    gateway = cards.configured_gateway() if can_pay and plan.status == ACTIVE else None
    if gateway is not None:
        allow_stripe(gateway)
    standing = progress.standing(plan)
    upcoming, upcoming_owed = progress.upcoming(plan, standing)
    return render_template(
        "plans/detail.html", plan=plan, vendor=vendor, today=today, standing=standing,
        upcoming=upcoming, upcoming_owed=upcoming_owed,
        reasons=plan_reasons(plan, policy),
        can_pay=can_pay, saved_cards=saved, banks=banks, grace_days=policy.grace_days,
        gateway=gateway,
        autopay_bank=session.get(BankAccount, plan.autopay_bank_account_id)
        if plan.autopay_bank_account_id else None)


@bp.post("/plans/<int:plan_id>/pay")
@requires("pay")
def pay(plan_id: int):
    """Pay the next installment (with any before it still owed), or everything, through the
    normal checkout: the amounts go to the plan's invoices oldest first."""
    plan = plan_or_404(plan_id)
    if plan.status != ACTIVE:
        flash(_("This plan is not active: pay its invoices from the invoice list."), "info")
        return redirect(url_for("plans.detail", plan_id=plan.id), code=303)
    standing = progress.standing(plan)
    if request.form.get("what") == "all":
        amount = standing.remaining_minor - standing.in_progress_minor
    else:
        amount = progress.upcoming(plan, standing)[1]
    if amount <= 0:
        flash(_("Nothing is owed on this plan right now: payments in progress cover it."),
              "info")
        return redirect(url_for("plans.detail", plan_id=plan.id), code=303)
    shares = autopay.allocations(plan, amount)
    numbers = {row.invoice_id: row.invoice.number for row in plan.invoices}
    query = {"invoice": [numbers[share.invoice_id] for share in shares]}
    for share in shares:
        query[f"amount-{numbers[share.invoice_id]}"] = Money(share.amount_minor,
                                                             plan.currency).plain()
    return redirect(url_for("checkout.page", **query), code=303)


@bp.post("/plans/<int:plan_id>/autopay")
@requires("pay")
def set_autopay(plan_id: int):
    """Turn autopay on with a saved card or a verified bank account (its authorization
    accepted), or off."""
    unit = uow()
    plan = plan_or_404(plan_id, lock=True)
    choice = "off" if request.form.get("off") else request.form.get("method", "")
    try:
        if choice == "off":
            autopay.stop(unit.session, plan)
            message = _("Autopay is off: pay each installment by its date on this page.")
        elif choice.startswith("card:"):
            saved, _banks = _autopay_choices(plan)
            card = next((c for c in saved if c.payment_method_id == choice[5:]), None)
            if card is None:
                raise autopay.AutopayError(_("That card is no longer saved. Choose another."))
            autopay.set_card(unit.session, plan, card.payment_method_id)
            message = _("Autopay is on: each installment will be charged to the %(brand)s "
                        "card ending in %(last4)s on its date.", brand=card.brand.title(),
                        last4=card.last4)
        elif choice == "newcard":
            message = _set_new_card(plan, request.form.get("setup_intent", ""))
        elif choice.startswith("bank:"):
            message = _set_bank(plan, choice[5:])
        else:
            raise autopay.AutopayError(_("Choose a card or a bank account for autopay."))
    except autopay.AutopayError as problem:
        unit.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="autopay"), code=303)
    unit.commit()
    flash(message, "success")
    return redirect(url_for("plans.detail", plan_id=plan_id), code=303)


SETUP_INTENT = re.compile(r"seti_[A-Za-z0-9_]{1,200}")


@bp.post("/plans/<int:plan_id>/card-setup")
@requires("pay")
def card_setup(plan_id: int):
    """Start saving a new card for autopay: a SetupIntent the page confirms with Stripe.js
    (the card's details go from the browser to Stripe, never here)."""
    unit = uow()
    plan = plan_or_404(plan_id)
    gateway = cards.configured_gateway()
    if plan.status != ACTIVE or gateway is None:
        return jsonify(error=_("A card cannot be added now.")), 409
    try:
        customer = card_checkout.stripe_customer(unit.session, gateway, plan.customer_id)
        unit.commit()
        intent = gateway.create_setup_intent(customer)
    except GatewayError:
        return jsonify(error=_("The card processor could not be reached. Try again in a "
                               "minute.")), 503
    return jsonify(client_secret=intent.client_secret)


def _set_new_card(plan: Plan, setup_intent_id: str) -> str:
    """Autopay with the card the page just saved, once Stripe says it is saved for this
    account (the SetupIntent succeeded, for the account's Stripe customer)."""
    gateway = cards.configured_gateway()
    customer = cards.known_stripe_customer_id(uow().session, plan.customer_id)
    if not SETUP_INTENT.fullmatch(setup_intent_id) or gateway is None or customer is None:
        raise autopay.AutopayError(_("Enter the card's details, or choose a saved card."))
    try:
        intent = gateway.retrieve_setup_intent(setup_intent_id)
    except GatewayError:
        raise autopay.AutopayError(_("The card processor could not be reached. Nothing was "
                                     "changed; try again in a minute.")) from None
    if intent.customer_id != customer or intent.status != "succeeded" or \
            not intent.payment_method_id:
        raise autopay.AutopayError(_("The card was not saved. Enter it again, or choose a "
                                     "saved card."))
    autopay.set_card(uow().session, plan, intent.payment_method_id)
    card = next((c for c in gateway.list_saved_cards(customer)
                 if c.payment_method_id == intent.payment_method_id), None)
    if card is None:
        return _("Autopay is on: each installment will be charged to the new card on its date.")
    return _("Autopay is on: each installment will be charged to the %(brand)s card ending "
             "in %(last4)s on its date.", brand=card.brand.title(), last4=card.last4)


def _set_bank(plan: Plan, bank_id: str) -> str:
    session = uow().session
    bank = next((b for b in verified_accounts(session, plan.customer_id)
                 if str(b.id) == bank_id), None)
    if bank is None:
        raise autopay.AutopayError(_("Choose one of the account's verified bank accounts."))
    if request.form.get(f"authorize-{bank.id}") != "1":
        raise autopay.AutopayError(_("To pay by bank debit, accept the debit authorization."))
    who = principal()
    payer = ach_authorization.Payer(
        user_id=who.user.id, name=who.user.name, email=who.user.email,
        ip_address=request.remote_addr or "", user_agent=request.user_agent.string or "")
    vendor = get_vendor(session)
    autopay.set_bank(session, plan, bank, payer=payer, vendor=vendor,
                     customer_name=session.get(Customer, plan.customer_id).name,
                     today=local_today(vendor))
    return _("Autopay is on: each installment will be debited from the account ending in "
             "%(last4)s on its date.", last4=bank.last4)


@bp.post("/plans/<int:plan_id>/answer")
@requires("plan")
def answer(plan_id: int):
    """Accept or decline the vendor's counter-proposal."""
    unit = uow()
    plan = plan_or_404(plan_id, lock=True)
    accept = request.form.get("answer") == "accept"
    vendor = get_vendor(unit.session)
    if plan.status != COUNTERED:
        flash(_("This plan is not waiting for your answer any more."), "info")
        return redirect(url_for("plans.detail", plan_id=plan_id), code=303)
    try:
        services.answer_counter(unit.session, plan, accept=accept, today=local_today(vendor))
    except PlanError as problem:
        unit.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("plans.detail", plan_id=plan_id), code=303)
    unit.commit()
    flash(_("You accepted the new terms: the plan is active.") if accept else
          _("You declined the new terms: the invoices stay due as before."), "success")
    return redirect(url_for("plans.detail", plan_id=plan_id), code=303)
