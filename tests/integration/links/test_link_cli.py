"""``portal link create | list | revoke``: the URL printed works, --email sends it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.ledger.models import utcnow
from portal.links import services
from portal.links.models import InvoiceLink
from tests.conftest import SmtpSink
from tests.integration.links.conftest import BASE_URL, DUE, long_date

VENDOR_ZONE = ZoneInfo("America/New_York")  # the default vendor's


def test_create_prints_a_url_that_opens_the_invoice(app, world, runner, visitor):
    result = runner.invoke(args=["link", "create", "L-1"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith(f"{BASE_URL}/i/") and len(url.rsplit("/", 1)[1]) == 43
    last_day = DUE + dt.timedelta(days=30)
    assert f"link 1 to invoice L-1, works until {last_day}" in result.stderr
    token = url.rsplit("/", 1)[1]
    with world.database.session() as s:
        link = s.scalars(select(InvoiceLink)).one()
        assert link.created_by == "cli" and link.sent_to is None
        assert services.find(s, token).id == link.id
    assert visitor().open(token).status_code == 303


def test_create_with_email_sends_the_link(app, world, runner, smtp_sink: SmtpSink):
    result = runner.invoke(args=["link", "create", "L-1", "--expires", "10",
                                 "--email", "ap@acme.example"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    [message] = smtp_sink.to("ap@acme.example")
    assert message["Subject"] == "Invoice L-1 from Payment portal"
    body = " ".join(SmtpSink.text(message).split())
    last_day = (utcnow() + dt.timedelta(days=10)).astimezone(VENDOR_ZONE).date()
    for expected in (f"invoice L-1 for $1,234.56, due on {long_date(DUE)}", url,
                     f"works until {long_date(last_day)}"):
        assert expected in body, expected
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{url}"' in html
    with world.database.session() as s:
        assert s.scalars(select(InvoiceLink)).one().sent_to == "ap@acme.example"


def test_create_refuses_what_it_cannot_do(world, runner):
    for args, message in ((["L-404"], "no invoice with number L-404"),
                          (["L-1", "--expires", "0"], "1 to 120 days"),
                          (["L-1", "--expires", "121"], "1 to 120 days"),
                          (["L-1", "--email", "nobody"], "not an e-mail address")):
        result = runner.invoke(args=["link", "create", *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    with world.database.session() as s:
        assert s.scalars(select(InvoiceLink)).all() == []


def test_list_and_revoke(world, runner, visitor):
    token = world.link("L-1")
    world.link("L-2", email="ap@acme.example")
    world.link("G-1")
    listed = runner.invoke(args=["link", "list", "C-ACME"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["2", "L-2"], ["1", "L-1"]]
    assert "sent to ap@acme.example" in lines[0] and "last viewed never" in lines[0]
    assert "expires " in lines[1] and "by ar@vendor.example" in lines[1]

    b = visitor()
    b.open(token)
    revoked = runner.invoke(args=["link", "revoke", "1"])
    assert revoked.exit_code == 0 and "link 1 revoked" in revoked.output
    assert b.client.get("/i/invoice").status_code == 404
    assert b.client.get(f"/i/{token}").status_code == 404
    after = runner.invoke(args=["link", "list", "C-ACME"]).stdout.splitlines()
    assert [line.split("\t")[1] for line in after] == ["L-2"]

    assert runner.invoke(args=["link", "revoke", "99"]).exit_code != 0
    assert "no customer" in runner.invoke(args=["link", "list", "C-NOPE"]).output
    globex = runner.invoke(args=["link", "list", "C-GLOBEX"])
    assert [line.split("\t")[1] for line in globex.stdout.splitlines()] == ["G-1"]
    with world.database.unit_of_work() as uow:
        services.revoke(uow.session, 3, by="cli")
        uow.commit()
    empty = runner.invoke(args=["link", "list", "C-GLOBEX"])
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "no live links for customer C-GLOBEX" in empty.stderr
