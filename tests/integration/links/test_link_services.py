"""portal.links.services: tokens stored as hashes, expiry rules, find, revoke, live links."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.accounts.models import AuditEvent
from portal.links import services
from portal.links.models import InvoiceLink
from portal.vendor.services import update_vendor
from tests.integration.links.conftest import BASE_URL, DUE

NOW = dt.datetime.combine(dt.date.today(), dt.time(15), tzinfo=dt.UTC)  # DUE is 18 days on


def make(world, number="L-1", *, now=NOW, **options):
    options.setdefault("expires_days", None)
    options.setdefault("email", None)
    with world.database.unit_of_work() as uow:
        link, token = services.create(uow.session, world.invoice(uow.session, number),
                                      created_by="ar@vendor.example", now=now, **options)
        uow.commit()
    return link, token


def test_the_token_is_random_and_only_its_hash_is_stored(world):
    link, token = make(world)
    other_link, other = make(world)
    assert len(token) == 43 and token != other  # secrets.token_urlsafe(32): 256 bits
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with world.database.session() as s:
        rows = s.execute(select(InvoiceLink.__table__)).mappings().all()
        assert all(token not in str(dict(row)) for row in rows)
        stored = s.get(InvoiceLink, link.id)
        assert stored.created_by == "ar@vendor.example" and stored.sent_to is None
        assert stored.revoked_at is None and stored.last_viewed_at is None
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "link.created")).first()
        assert event.subject == "L-1" and event.detail == f"link={link.id}"
        assert event.customer_id == world.acme_id
    assert other_link.id != link.id


def test_find_returns_the_live_link_and_none_for_everything_else(world):
    link, token = make(world)
    with world.database.session() as s:
        found = services.find(s, token, now=NOW)
        assert found.id == link.id and found.invoice.number == "L-1"
        for bad in ("", "short", token[:-1], token + "A", token[:-1] + "*",
                    token.upper() if token.upper() != token else token.lower(),
                    "A" * 43, None, 12):
            assert services.find(s, bad, now=NOW) is None, bad
        # Expired: at the expiry moment and after.
        assert services.find(s, token, now=found.expires_at) is None
        assert services.find(s, token, now=found.expires_at - dt.timedelta(seconds=1))


def test_revoked_links_are_not_found_and_revoking_twice_changes_nothing(world):
    link, token = make(world)
    with world.database.unit_of_work() as uow:
        services.revoke(uow.session, link.id, by="ar@vendor.example", now=NOW)
        uow.commit()
    with world.database.unit_of_work() as uow:
        again = services.revoke(uow.session, link.id, by="someone@else", now=NOW)
        assert again.revoked_by == "ar@vendor.example" and again.revoked_at == NOW
        uow.commit()
    with world.database.session() as s:
        assert services.find(s, token, now=NOW) is None
        assert services.live_link(s, link.id, link.invoice_id, now=NOW) is None
        revoked = s.scalars(select(AuditEvent).where(AuditEvent.action == "link.revoked")).all()
        assert len(revoked) == 1
    with world.database.unit_of_work() as uow, pytest.raises(services.LinkNotFound):
        services.revoke(uow.session, 999_999, by="cli")


def test_default_expiry_is_30_days_after_the_due_date_end_of_day_vendor_time(world):
    with world.database.unit_of_work() as uow:
        update_vendor(uow.session, name="Northwind", timezone="America/Chicago")
        uow.commit()
    link, _token = make(world)
    last_day = DUE + dt.timedelta(days=30)
    # Midnight after the 30th day, in Chicago.
    expected = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(),
                                   tzinfo=ZoneInfo("America/Chicago"))
    assert link.expires_at == expected
    assert services.last_day(link, ZoneInfo("America/Chicago")) == last_day


def test_default_expiry_is_at_most_120_and_at_least_14_days_from_now(world):
    far, _ = make(world, now=NOW - dt.timedelta(days=365))  # due date far in its future
    assert far.expires_at == NOW - dt.timedelta(days=365) + dt.timedelta(days=120)
    late, _ = make(world, now=NOW + dt.timedelta(days=400))  # long overdue
    assert late.expires_at == NOW + dt.timedelta(days=400) + dt.timedelta(days=14)


@pytest.mark.parametrize("days", [1, 7, 120])
def test_expires_days_sets_the_expiry(world, days):
    link, _ = make(world, expires_days=days)
    assert link.expires_at == NOW + dt.timedelta(days=days)


@pytest.mark.parametrize("days", [0, -3, 121, 10_000])
def test_expires_days_outside_1_to_120_is_refused(world, days):
    with pytest.raises(services.LinkError, match="1 to 120 days"):
        make(world, expires_days=days)
    with world.database.session() as s:
        assert s.scalars(select(InvoiceLink)).all() == []


def test_the_address_sent_to_is_kept_and_checked(world):
    link, _ = make(world, email="  AP@Acme.Example ")
    assert link.sent_to == "ap@acme.example"
    for bad in ("not an address", "nobody", "a b@c.d"):
        with pytest.raises(services.LinkError, match="not an e-mail address"):
            make(world, email=bad)


def test_live_links_are_the_customers_unrevoked_unexpired_ones_newest_first(world):
    first, _ = make(world, "L-1", now=NOW - dt.timedelta(days=2))
    second, _ = make(world, "L-2", now=NOW - dt.timedelta(days=1))
    short, _ = make(world, "L-2", expires_days=1, now=NOW - dt.timedelta(days=3))
    revoked, _ = make(world, "L-1")
    make(world, "G-1")  # another customer's
    with world.database.unit_of_work() as uow:
        services.revoke(uow.session, revoked.id, by="cli")
        uow.commit()
    with world.database.session() as s:
        live = services.live_links(s, world.acme_id, now=NOW)
        assert [link.id for link in live] == [second.id, first.id]
        assert [link.invoice.number for link in live] == ["L-2", "L-1"]
        assert short.id not in {link.id for link in live}
        assert services.live_links(s, world.globex_id, now=NOW)[0].invoice.number == "G-1"


def test_url_is_the_base_url_and_the_token():
    assert services.url(BASE_URL, "tok") == f"{BASE_URL}/i/tok"
    assert services.url(BASE_URL + "/", "tok") == f"{BASE_URL}/i/tok"
