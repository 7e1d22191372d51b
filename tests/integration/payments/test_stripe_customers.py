"""One Stripe customer per customer account: created once, stored, reused, replaced when
Stripe no longer knows it."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.ledger.models import Customer
from portal.payments.cards import stripe_customer_id
from portal.payments.models import StripeCustomerLink
from tests import builders


def links(database) -> list[tuple[int, str]]:
    with database.session() as session:
        return list(session.execute(select(StripeCustomerLink.customer_id,
                                           StripeCustomerLink.stripe_customer_id)))


def test_an_account_gets_one_stripe_customer_and_keeps_it(card_db, gateway):
    with card_db.unit_of_work() as unit:
        acme = builders.customer(unit.session, "C-ACME")
        globex = builders.customer(unit.session, "C-GLOBEX", name="Globex")
        unit.commit()
    for _ in range(2):  # a second checkout, a retried request: the same customer
        with card_db.unit_of_work() as unit:
            first = stripe_customer_id(unit.session, gateway,
                                       unit.session.get(Customer, acme.id))
            unit.commit()
    with card_db.unit_of_work() as unit:
        other = stripe_customer_id(unit.session, gateway, unit.session.get(Customer, globex.id))
        unit.commit()
    assert first.startswith("cus_") and other != first
    assert sorted(links(card_db)) == sorted([(acme.id, first), (globex.id, other)])
    found = gateway.ensure_customer(acme.id, name="Acme Corp", known_id=first)
    assert found.portal_customer_id == str(acme.id)


def test_a_rolled_back_checkout_leaves_no_second_stripe_customer(card_db, gateway):
    with card_db.unit_of_work() as unit:
        acme = builders.customer(unit.session, "C-ACME")
        unit.commit()
    with card_db.unit_of_work() as unit:  # Stripe answered, then the checkout failed
        lost = stripe_customer_id(unit.session, gateway, unit.session.get(Customer, acme.id))
    assert links(card_db) == []
    with card_db.unit_of_work() as unit:
        again = stripe_customer_id(unit.session, gateway, unit.session.get(Customer, acme.id))
        unit.commit()
    assert again == lost  # the creation's idempotency key returned the same customer


def test_a_customer_stripe_forgot_is_replaced(card_db, gateway, localstripe):
    with card_db.unit_of_work() as unit:
        acme = builders.customer(unit.session, "C-ACME")
        old = stripe_customer_id(unit.session, gateway, acme)
        unit.commit()
    localstripe.reset()  # as if the customer had been deleted at Stripe
    with card_db.unit_of_work() as unit:
        new = stripe_customer_id(unit.session, gateway, unit.session.get(Customer, acme.id))
        unit.commit()
    assert new != old and links(card_db) == [(acme.id, new)]
    with card_db.session() as session:
        assert session.scalar(select(func.count()).select_from(StripeCustomerLink)) == 1
