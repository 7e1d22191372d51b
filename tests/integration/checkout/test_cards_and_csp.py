"""Saved cards (/cards) and what the payment pages let the browser load."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import AuditEvent
from tests.integration.checkout.conftest import VISA, checkout_form, hidden, pay, text


def _save_a_card(payer, stripe_js, number: str = VISA) -> None:
    form = checkout_form(payer, ["K-3"], payment_method=stripe_js.create_card(number),
                         save_card="1")
    assert pay(payer, form).status_code == 303


def test_the_checkout_loads_stripe_js_and_lets_only_stripe_in(cart, signed_in, stripe_config):
    payer = signed_in()
    response = payer.client.get("/pay?invoice=K-3")
    page = response.get_data(as_text=True)
    local = stripe_config.stripe_api_base
    assert f'<script src="{local}/js.stripe.com/v3/"></script>' in page
    policy = dict(part.strip().split(" ", 1)
                  for part in response.headers["Content-Security-Policy"].split(";"))
    assert local in policy["script-src"] and "https://js.stripe.com" in policy["script-src"]
    assert local in policy["connect-src"] and "https://api.stripe.com" in policy["connect-src"]
    assert "https://js.stripe.com" in policy["frame-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    # Pages without a card form keep the strict policy.
    plain = payer.client.get("/invoices").headers["Content-Security-Policy"]
    assert local not in plain and "frame-src 'none'" in plain


def test_a_saved_card_is_listed_and_can_be_removed_once(cart, signed_in, stripe_js):
    payer = signed_in()
    assert "No cards are saved." in text(payer.client.get("/cards").get_data(as_text=True))
    _save_a_card(payer, stripe_js)
    page = payer.client.get("/cards").get_data(as_text=True)
    assert "Visa ending in 4242" in text(page)
    method = page.split('action="/cards/')[1].split("/remove")[0]
    token = hidden(page, "csrf_token")
    response = payer.client.post(f"/cards/{method}/remove", data={"csrf_token": token})
    assert response.status_code == 303
    after = text(payer.client.get("/cards").get_data(as_text=True))
    assert "The card ending in 4242 was removed." in after and "No cards are saved." in after
    assert payer.client.post(f"/cards/{method}/remove",
                             data={"csrf_token": token}).status_code == 404
    with cart.session() as uow:
        events = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "card.removed")).all()
        assert [(e.actor_email, e.subject) for e in events] == [("payer@acme.example",
                                                                "visa 4242")]


def test_another_accounts_card_cannot_be_seen_or_removed(cart, signed_in, stripe_js):
    acme = signed_in()
    _save_a_card(acme, stripe_js)
    method = acme.client.get("/cards").get_data(as_text=True).split(
        'action="/cards/')[1].split("/remove")[0]
    globex = signed_in("payer@globex.example")
    page = globex.client.get("/cards").get_data(as_text=True)
    # Neither the card's digits nor its Stripe id (the page's tokens are random: they may
    # hold "4242" by chance, so the words shown are what is searched).
    assert "4242" not in text(page) and method not in page
    assert "No cards are saved." in text(page)
    token = hidden(page, "csrf_token")
    assert globex.client.post(f"/cards/{method}/remove",
                              data={"csrf_token": token}).status_code == 404
    assert "Visa ending in 4242" in text(acme.client.get("/cards").get_data(as_text=True))


def test_viewers_cannot_see_saved_cards(cart, signed_in):
    viewer = signed_in("viewer@acme.example")
    assert viewer.client.get("/cards").status_code == 403
