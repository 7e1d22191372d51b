"""Cards at Stripe for a customer account: its one Stripe customer.

Every card payment and saved card of an account hangs on one Stripe customer.
:func:`stripe_customer_id` finds it through the id the portal stored the first
time (``portal_stripe_customers``), asks Stripe to create it otherwise — with an
idempotency key from the account's id, so a crash between Stripe's answer and the
portal's commit does not leave a second customer behind — and replaces a stored
id Stripe no longer knows (a customer deleted in the Dashboard). The account's
row is locked first, so two first card payments at once create one link.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from portal.gateways.stripe import NotConfigured, StripeGateway
from portal.ledger import store
from portal.ledger.models import Customer
from portal.payments.models import StripeCustomerLink


def stripe_customer_id(session: Session, gateway: StripeGateway, customer: Customer) -> str:
    """Return the Stripe customer id of ``customer``, creating and storing it once."""
    # Lock the account first: on its first card use there is no link row to lock, and
    # two first payments at once would both create one.
    store.lock_customer(session, customer.id)
    link = session.get(StripeCustomerLink, customer.id, with_for_update=True,
                       populate_existing=True)
    found = gateway.ensure_customer(customer.id, name=customer.name,
                                    known_id=link.stripe_customer_id if link else None)
    if link is None:
        session.add(StripeCustomerLink(customer_id=customer.id, stripe_customer_id=found.id))
    elif link.stripe_customer_id != found.id:
        link.stripe_customer_id = found.id
    session.flush()
    return found.id


def configured_gateway() -> StripeGateway | None:
    """The app's Stripe gateway, or None when no Stripe keys are configured."""
    try:
        return StripeGateway.from_config(current_app.config["PORTAL"])
    except NotConfigured:
        return None


def known_stripe_customer_id(session: Session, customer_id: int) -> str | None:
    """The account's Stripe customer id if it has one already (nothing is created)."""
    link = session.get(StripeCustomerLink, customer_id)
    return link.stripe_customer_id if link else None
