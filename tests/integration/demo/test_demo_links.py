"""``portal demo`` prints one ``invoice link: URL`` line, and the link opens an open invoice
of the large customer without an account; every start prints a new one that works too."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.demo.catalog import LARGE_CUSTOMER
from portal.ledger.models import Customer, Invoice
from portal.links import services

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def links_printed(runner, *args: str) -> list[str]:
    result = runner.invoke(args=["demo", "--no-serve", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return [line.removeprefix("invoice link: ") for line in result.output.splitlines()
            if line.startswith("invoice link:")]


def opened(client, url: str) -> str:
    """Open the link as a payer: landing page, "View invoice", the invoice page."""
    path = urlsplit(url).path
    landing = client.get(path)
    assert landing.status_code == 200 and "Set-Cookie" not in landing.headers
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      landing.get_data(as_text=True)).group(1)
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    page = client.get("/i/invoice")
    assert page.status_code == 200
    return page.get_data(as_text=True)


@SQLITE_ONLY
def test_demo_prints_one_live_link_to_an_open_invoice_of_the_large_customer(app, runner):
    [first] = links_printed(runner, "--port", "5079")
    assert re.fullmatch(r"http://127\.0\.0\.1:5079/i/[A-Za-z0-9_-]{43}", first)
    with app.extensions["portal.db"].session() as s:
        link = services.find(s, first.rsplit("/", 1)[1])
        assert link is not None and link.created_by == "demo"
        invoice = s.get(Invoice, link.invoice_id)
        assert invoice.status == "open" and invoice.balance_minor > 0
        assert s.get(Customer, invoice.customer_id).number == LARGE_CUSTOMER
        heading = f"Invoice {invoice.number}"
    assert heading in opened(app.test_client(), first)

    [second] = links_printed(runner)  # already loaded: a new link, the first still works
    assert second != first and second.startswith("http://127.0.0.1:5000/i/")
    assert heading in opened(app.test_client(), second)
    assert heading in opened(app.test_client(), first)
    with app.extensions["portal.db"].session() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.number == LARGE_CUSTOMER))
        assert len(services.live_links(s, customer_id)) == 2
