"""``/cards``: the account's saved cards — what is kept at Stripe, and removing one.

Cards are saved at checkout ("Save this card for future payments", which sets
``setup_future_usage`` on the PaymentIntent) and used again from the checkout's
list. Stripe keeps them, attached to the account's Stripe customer; the portal
stores no card data at all, so this page asks Stripe each time. Roles with
``pay`` (account admins and payers) see and remove them; viewers get a 403. An
account that has never paid by card has no Stripe customer, and none is created
just to show an empty list.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from portal.accounts import access, audit
from portal.accounts.access import requires
from portal.accounts.views import origin
from portal.core.request_db import uow
from portal.gateways.stripe import (
    CardSummary,
    GatewayError,
    NotFound,
    StripeGateway,
)
from portal.payments import cards as card_accounts

bp = Blueprint("cards", __name__)


def _gateway_and_customer() -> tuple[StripeGateway | None, str | None]:
    return (card_accounts.configured_gateway(),
            card_accounts.known_stripe_customer_id(uow().session, access.customer_id()))


@bp.get("/cards")
@requires("pay")
def index():
    gateway, customer = _gateway_and_customer()
    cards: list[CardSummary] = []
    unavailable = False
    if gateway is not None and customer is not None:
        uow().session.rollback()  # nothing is held while Stripe answers
        try:
            cards = gateway.list_saved_cards(customer)
        except GatewayError:
            unavailable = True
    return render_template("payments/cards.html", cards=cards,
                           unavailable=unavailable or gateway is None)


@bp.post("/cards/<payment_method>/remove")
@requires("pay")
def remove(payment_method: str):
    gateway, customer = _gateway_and_customer()
    if gateway is None or customer is None:
        abort(404)
    unit = uow()
    session = unit.session
    session.rollback()
    try:
        cards = {card.payment_method_id: card for card in gateway.list_saved_cards(customer)}
        card = cards.get(payment_method)
        if card is None:
            abort(404)  # another account's card reads like one that does not exist
        gateway.detach_card(payment_method, customer)
    except NotFound:
        abort(404)
    except GatewayError:
        flash(_("The card could not be removed just now. Try again in a minute."), "error")
        return redirect(url_for("cards.index"), code=303)
    who = access.principal()
    audit.record(session, "card.removed", origin=origin(), user=who.user,
                 customer_id=access.customer_id(),
                 subject=f"{card.brand} {card.last4}",
                 detail=f"saved card {card.brand} ending {card.last4} removed")
    unit.commit()
    flash(_("The card ending in %(last4)s was removed.", last4=card.last4), "success")
    return redirect(url_for("cards.index"), code=303)
