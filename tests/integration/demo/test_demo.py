"""``portal demo``: every state the portal shows, a clean ledger check, loaded only once."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from portal import ledger
from portal.config import PROJECT_ROOT
from portal.demo import cli, data, hooks, plan, services
from portal.ledger import bulk
from portal.ledger.checks import CheckResult, run_checks
from portal.ledger.models import (
    Allocation,
    CreditMemo,
    Customer,
    Invoice,
    JournalEntry,
    Payment,
    Reservation,
)
from portal.plans.models import Plan
from portal.vendor.services import get_vendor, local_today, update_vendor

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def demo(runner, *args: str, ok: bool = True):
    result = runner.invoke(args=["demo", "--no-serve", *args])
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def counts(session) -> dict[str, int]:
    """Rows of everything the demo writes, to compare runs."""
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Invoice, Payment, Allocation, Reservation, CreditMemo,
                          JournalEntry)}


def aging(invoice: Invoice, today: dt.date) -> str:
    if invoice.due_date > today + dt.timedelta(days=7):
        return "current"
    if invoice.due_date >= today:
        return "due within 7 days"
    late = (today - invoice.due_date).days
    return ("overdue 1-30" if late <= 30 else "overdue 31-60" if late <= 60
            else "overdue 61-90" if late <= 90 else "overdue over 90")


def test_demo_loads_every_state_and_loads_only_once(app, runner):
    first = demo(runner)
    assert "demo data loaded" in first.output and "ledger check OK" in first.output
    sign_ins = [line.split()[2:] for line in first.output.splitlines()
                if line.startswith("sign in: ")]
    assert len(sign_ins) >= 6
    # Each printed sign-in works: the user exists and the password is theirs.
    from portal.accounts.credentials import verify_password
    from portal.accounts.models import User

    with app.app_context(), app.extensions["portal.db"].session() as s:
        for email, password in sign_ins:
            user = s.scalar(select(User).where(User.email == email))
            assert user is not None and verify_password(user.password_hash, password), email
        roles = {m.role for u in s.scalars(select(User)) for m in u.memberships}
        staff = {u.staff_role for u in s.scalars(select(User)) if u.staff_role}
    assert roles == {"admin", "payer", "viewer"}
    assert staff == {"ar_admin", "collector", "viewer"}

    database = app.extensions["portal.db"]
    with database.session() as s:
        vendor = get_vendor(s)
        today = local_today(vendor)
        assert vendor.name == "Northwind Industrial Supply"
        assert vendor.remit_to and vendor.support_email and vendor.support_phone
        assert (PROJECT_ROOT / "static" / vendor.logo_path).is_file()

        customers = s.scalars(select(Customer)).all()
        assert len(customers) >= 4
        assert all(c.contacts for c in customers)
        invoices = s.scalars(select(Invoice)).all()
        assert len(invoices) >= 300
        per_customer = Counter(inv.customer_id for inv in invoices)
        assert max(per_customer.values()) >= 200  # one large account
        assert len({inv.currency for inv in invoices}) >= 2

        # Realistic invoices: several lines with SKUs, tax, PO numbers.
        assert sum(len(inv.lines) for inv in invoices) >= 2.5 * len(invoices)
        assert sum(1 for inv in invoices if inv.tax_minor > 0) >= len(invoices) // 2
        assert sum(1 for inv in invoices if inv.po_number) >= len(invoices) // 2
        assert all(line.sku for inv in invoices[:20] for line in inv.lines
                   if not line.description.startswith("Freight"))

        terms = Counter(inv.terms for inv in invoices)
        assert terms["2/10 net 30"] and terms["net 45"] and terms["net 30"]
        open_ = [inv for inv in invoices if inv.status == "open"]
        assert all(inv.balance_minor > 0 for inv in open_)
        assert any(inv.terms == "2/10 net 30" and inv.issue_date + dt.timedelta(days=10) >= today
                   for inv in open_), "an invoice still inside its discount window"

        states = Counter(aging(inv, today) for inv in open_)
        for state in ("current", "due within 7 days", "overdue 1-30", "overdue 31-60",
                      "overdue 61-90", "overdue over 90"):
            assert states[state] >= 1, f"no {state} invoice: {states}"
        allocated = set(s.scalars(select(Allocation.invoice_id)))
        assert any(0 < inv.balance_minor < inv.total_minor and inv.id in allocated
                   for inv in open_), "a partially paid invoice"
        status = Counter(inv.status for inv in invoices)
        assert status["paid"] >= 1 and status["written_off"] >= 1
        credited = {memo.invoice_id for memo in s.scalars(select(CreditMemo))}
        assert any(inv.status == "credited" and inv.id in credited for inv in invoices)

        payments = s.scalars(select(Payment)).all()
        external = [p for p in payments if p.method == "external" and p.status == "succeeded"]
        assert any(p.reference.startswith("CHK ") for p in external)
        assert any(p.reference.startswith("WIRE ") for p in external)
        discounted = s.scalars(select(Allocation).join(Payment).where(
            Payment.method.in_(("card", "ach")), Payment.status == "succeeded",
            Payment.gateway == "stripe", Allocation.discount_minor > 0)).all()
        assert discounted, "a portal payment that took the early-pay discount"

        processing = [p for p in payments if p.status == "processing"]
        assert len(processing) == 1 and processing[0].method == "ach"
        held = [r for r in processing[0].reservations if r.released_at is None]
        assert held and all(r.invoice.reserved_minor >= r.held_minor for r in held)
        assert sum(inv.reserved_minor for inv in invoices) == sum(r.held_minor for r in held)

        assert any(ledger.customer_credit(s, c.id, c.currency) > 0 for c in customers)
        # A plan request waiting for staff, and an active plan, for /staff/plans.
        assert sorted(p.status for p in s.scalars(select(Plan))) == ["active", "requested"]
        result = run_checks(s)
        assert result.ok, result.violation
        before = counts(s)
        vendor_updated = vendor.updated_at

    second = demo(runner)
    assert "already loaded, nothing changed" in second.output
    with database.session() as s:
        assert counts(s) == before
        assert get_vendor(s).updated_at == vendor_updated
        assert s.scalar(select(func.count()).select_from(Plan)) == 2  # not asked for again


@SQLITE_ONLY
def test_demo_prints_what_the_registered_hooks_return(app, runner, monkeypatch):
    seen: list[hooks.DemoContext] = []

    def demo_users(session, context):
        seen.append(context)
        return ["sign in: clerk@example.test not-a-real-password"]

    def demo_link(session, context):
        return [f"invoice link: {context.base_url}/i/token-for-{context.showcase_invoice}"]

    monkeypatch.setattr(hooks, "registered_hooks", lambda: [demo_users, demo_link])
    output = demo(runner, "--port", "5077").output.splitlines()
    context = seen[0]
    assert output[-2:] == ["sign in: clerk@example.test not-a-real-password",
                           f"invoice link: http://127.0.0.1:5077/i/token-for-"
                           f"{context.showcase_invoice}"]
    assert len(context.customer_numbers) >= 4
    with app.extensions["portal.db"].session() as s:
        showcase = s.scalars(select(Invoice).where(
            Invoice.number == context.showcase_invoice)).one()
        assert showcase.status == "open" and showcase.reserved_minor == 0
        assert showcase.discount_days is not None

    demo(runner)  # hooks run on every start, also when the data is already there
    assert len(seen) == 2


@SQLITE_ONLY
def test_refuses_a_database_with_another_vendor(app, runner):
    with app.extensions["portal.db"].unit_of_work() as uow:
        update_vendor(uow.session, name="Contoso Fasteners")
        uow.commit()
    result = demo(runner, ok=False)
    assert result.exit_code != 0 and "Contoso Fasteners" in result.output
    with app.extensions["portal.db"].session() as s:
        assert get_vendor(s).name == "Contoso Fasteners"
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


@SQLITE_ONLY
def test_reset_recreates_the_sqlite_database(app, runner):
    with app.extensions["portal.db"].unit_of_work() as uow:
        bulk.upsert_customers(uow.session, [bulk.CustomerInput("X-1", "Not demo", "USD")])
        uow.commit()
    refused = demo(runner, ok=False)
    assert refused.exit_code != 0 and "not the demo's" in refused.output

    demo(runner, "--reset")
    with app.extensions["portal.db"].session() as s:
        numbers = set(s.scalars(select(Customer.number)))
        assert "X-1" not in numbers and len(numbers) >= 4
        assert run_checks(s).ok


@SQLITE_ONLY
def test_serves_with_threads_and_no_debugger(runner, monkeypatch):
    served = []
    monkeypatch.setattr(data, "load", lambda *args, **kwargs: False)  # data not needed here
    monkeypatch.setattr(cli, "run_simple", lambda *args, **kwargs: served.append((args, kwargs)))
    result = runner.invoke(args=["demo", "--port", "5078", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    (host, port, _app), options = served[0]
    assert (host, port) == ("0.0.0.0", 5078)
    assert options == {"threaded": True, "use_reloader": False, "use_debugger": False}
    assert "serving on http://127.0.0.1:5078" in result.output


@SQLITE_ONLY
def test_refuses_to_serve_when_the_ledger_check_fails(runner, monkeypatch):
    served = []
    monkeypatch.setattr(data, "load", lambda *args, **kwargs: False)
    monkeypatch.setattr(services, "run_checks",
                        lambda session: CheckResult(violation="entry 7 is unbalanced"))
    monkeypatch.setattr(cli, "run_simple", lambda *args, **kwargs: served.append(args))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "ledger check FAILED: entry 7 is unbalanced" in result.output
    assert not served


@POSTGRES_ONLY
def test_reset_is_refused_on_postgresql(app, runner):
    result = demo(runner, "--reset", ok=False)
    assert result.exit_code != 0 and "SQLite" in result.output
    with app.extensions["portal.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


def test_the_plan_depends_only_on_today():
    today = dt.date(2026, 3, 2)
    now = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    first, second = plan.plan(today, now), plan.plan(today, now)
    assert [(e.at, e.kind, e.invoice, e.amount_minor) for e in first.events] == \
        [(e.at, e.kind, e.invoice, e.amount_minor) for e in second.events]
    assert max(e.at for e in first.events) <= now
    # Shifted by a week, the history keeps its shape (same stories, same sizes).
    later = plan.plan(today + dt.timedelta(days=7))
    assert Counter(e.kind for e in later.events) == Counter(e.kind for e in first.events)
