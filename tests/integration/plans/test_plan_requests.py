"""Plan requests against the vendor's policy, and staff's decisions, on SQLite and
PostgreSQL: approved at once inside the policy, sent to staff outside it, approved,
countered then accepted or declined, rejected; invoices that cannot go on a plan."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.disputes.models import Dispute
from portal.ledger.models import Customer, Invoice
from portal.plans import services
from portal.plans.models import Plan
from portal.plans.schedule import MONTHLY, WEEKLY, Policy
from portal.plans.services import PlanError, Terms
from tests.integration.invoices.conftest import (  # noqa: F401  (fixtures used here)
    TODAY,
    clock,
    issue,
    world,
)

POLICY = Policy(max_total_minor=5_000_00, max_installments=6, max_first_delay_days=30)
MONTHLY_3 = Terms(3, MONTHLY, TODAY + dt.timedelta(days=30), down_minor=200_00)


@pytest.fixture
def book(world):  # noqa: F811
    """Acme: P-1 $1,000.00, P-2 $999.99 (USD), P-EUR €100 (EUR), P-PAID (paid)."""
    with world.session() as uow:
        s = uow.session
        acme = s.get(Customer, world.acme_id)
        issue(s, acme, "P-1", 1_000_00, due=TODAY - dt.timedelta(days=5))
        issue(s, acme, "P-2", 999_99, due=TODAY + dt.timedelta(days=5))
        issue(s, acme, "P-EUR", 100_00, currency="EUR")
        uow.commit()
    return world


def ids(book, *numbers: str) -> list[int]:
    with book.database.session() as session:
        found = dict(session.execute(select(Invoice.number, Invoice.id)
                                     .where(Invoice.number.in_(numbers))).all())
    return [found[n] for n in numbers]


def request(book, numbers=("P-1", "P-2"), terms=MONTHLY_3, customer_id=None, **options):
    with book.session() as uow:
        plan = services.request_plan(
            uow.session, customer_id=customer_id or book.acme_id,
            invoice_ids=ids(book, *numbers), terms=terms, reason="Cash flow after a slow month",
            user_id=None, policy=options.pop("policy", POLICY), today=TODAY, **options)
        uow.commit()
        return plan.id


def plan_row(book, plan_id: int) -> Plan:
    with book.database.session() as session:
        plan = session.get(Plan, plan_id)
        _ = (plan.installments, plan.terms, plan.invoices)
        session.expunge_all()
        return plan


def test_a_request_inside_the_policy_is_active_at_once(book):
    plan = plan_row(book, request(book))
    assert (plan.status, plan.total_minor, plan.decided_by, plan.policy_reasons) == (
        "active", 1_999_99, "policy", [])
    assert [(i.number, i.due_on, i.amount_minor) for i in plan.installments] == [
        (0, TODAY, 200_00),
        (1, dt.date(2026, 12, 20), 599_99), (2, dt.date(2027, 1, 20), 599_99),
        (3, dt.date(2027, 2, 20), 600_01)]
    # Oldest due first: the order installments pay the invoices in.
    assert [row.position for row in plan.invoices] == [0, 1]


def test_a_request_outside_the_policy_waits_for_staff_with_its_reasons(book):
    plan_id = request(book, terms=Terms(8, WEEKLY, TODAY + dt.timedelta(days=40)))
    plan = plan_row(book, plan_id)
    assert (plan.status, plan.installments) == ("requested", [])
    assert plan.policy_reasons == ["installments", "first_date", "down_payment"]
    with book.session() as uow:
        services.approve(uow.session, uow.session.get(Plan, plan_id), by="ar@vendor.example",
                         today=TODAY)
        uow.commit()
    plan = plan_row(book, plan_id)
    assert plan.status == "active" and len(plan.installments) == 8
    assert sum(i.amount_minor for i in plan.installments) == 1_999_99


@pytest.mark.parametrize("accept", [True, False])
def test_a_counter_proposal_is_accepted_or_declined(book, accept):
    plan_id = request(book, terms=Terms(10, MONTHLY, TODAY + dt.timedelta(days=20)))
    counter = Terms(4, MONTHLY, TODAY + dt.timedelta(days=15), down_minor=300_00)
    with book.session() as uow:
        services.counter(uow.session, uow.session.get(Plan, plan_id), counter,
                         by="ar@vendor.example", today=TODAY, note="Four months at most.")
        uow.commit()
    plan = plan_row(book, plan_id)
    assert plan.status == "countered" and [t.side for t in plan.terms] == ["customer", "vendor"]
    with book.session() as uow:
        services.answer_counter(uow.session, uow.session.get(Plan, plan_id), accept=accept,
                                today=TODAY)
        uow.commit()
    plan = plan_row(book, plan_id)
    if accept:
        assert plan.status == "active"
        assert [i.amount_minor for i in plan.installments] == [300_00, 424_99, 424_99, 424_99,
                                                               425_02]
    else:
        assert (plan.status, plan.installments) == ("declined", [])
        # Declined: the invoices may go on another plan.
        assert plan_row(book, request(book)).status == "active"


def test_a_rejection_needs_a_reason_and_frees_the_invoices(book):
    plan_id = request(book, terms=Terms(12, MONTHLY, TODAY + dt.timedelta(days=10)))
    with book.session() as uow, pytest.raises(PlanError, match="Say why"):
        services.reject(uow.session, uow.session.get(Plan, plan_id), by="ar@vendor.example",
                        note=" ")
    with book.session() as uow:
        services.reject(uow.session, uow.session.get(Plan, plan_id), by="ar@vendor.example",
                        note="Over our limit for this account.")
        uow.commit()
    assert plan_row(book, plan_id).status == "rejected"
    with book.session() as uow, pytest.raises(PlanError, match="not waiting"):
        services.approve(uow.session, uow.session.get(Plan, plan_id), by="x", today=TODAY)
    assert plan_row(book, request(book)).status == "active"


def test_invoices_that_cannot_go_on_a_plan_are_refused_and_nothing_is_written(book):
    request(book, numbers=("P-1",), terms=Terms(2, MONTHLY, TODAY + dt.timedelta(days=10),
                                                down_minor=100_00))
    [p2, globex_invoice] = ids(book, "P-2", "A-GLOBEX-1")
    with book.session() as uow:
        uow.session.add(Dispute(customer_id=book.acme_id, invoice_id=p2,
                                status="open", reason="pricing", amount_minor=10_00,
                                currency="USD", description="x", opened_by_name="x",
                                opened_by_email="x@acme.example"))
        uow.commit()
    cases = [
        (("P-1",), "is on a plan already"),
        (("P-2",), "is disputed"),
        (("P-1", "P-EUR"), "one currency"),
    ]
    for numbers, message in cases:
        with pytest.raises(PlanError, match=message):
            request(book, numbers=numbers)
    with book.session() as uow, pytest.raises(PlanError, match="this account only"):
        services.request_plan(uow.session, customer_id=book.acme_id,
                              invoice_ids=[globex_invoice], terms=MONTHLY_3, reason="x",
                              user_id=None, policy=POLICY, today=TODAY)
    with book.database.session() as session:
        assert len(session.scalars(select(Plan)).all()) == 1


@pytest.mark.parametrize("terms, message", [
    (Terms(3, MONTHLY, TODAY), "after today"),
    (Terms(3, MONTHLY, TODAY + dt.timedelta(days=3), down_minor=1_999_99), "less than the total"),
    (Terms(0, MONTHLY, TODAY + dt.timedelta(days=3)), "at least one installment"),
])
def test_terms_that_make_no_schedule_are_refused(book, terms, message):
    with pytest.raises(PlanError, match=message):
        request(book, terms=terms)


def test_the_customers_record_is_read_for_the_policy(book):
    with book.session() as uow:
        uow.session.get(Customer, book.acme_id).credit_limit_minor = 1_000_00
        uow.commit()
    plan = plan_row(book, request(book))
    assert (plan.status, plan.policy_reasons) == ("requested", ["credit_limit"])


def test_the_credit_limit_is_held_to_what_is_open_in_its_currency(book):
    # $1,999.99 open in USD, the customer's currency, and €100.00: a $2,000.00 limit is
    # not exceeded (euros are not dollars; adding the minor units would make $2,099.99).
    with book.session() as uow:
        uow.session.get(Customer, book.acme_id).credit_limit_minor = 2_000_00
        uow.commit()
    assert plan_row(book, request(book)).status == "active"


def test_one_cent_over_the_credit_limit_goes_to_staff(book):
    with book.session() as uow:
        uow.session.get(Customer, book.acme_id).credit_limit_minor = 1_999_98
        uow.commit()
    plan = plan_row(book, request(book))
    assert (plan.status, plan.policy_reasons) == ("requested", ["credit_limit"])
