"""Random sequences of postings against an independent model of what they should do.

The model is plain Python (balances, reservations and customer credit kept
by hand from the rules in DESIGN.md and the posting API's docstrings); it
never asks the ledger. Each step runs in its own unit of work, committed if
the ledger accepts and rolled back if it refuses; the model predicts which.
After every step the database must agree with the model, the journal must
sum to zero per currency and ``run_checks`` must pass.

Each Hypothesis example gets a fresh database: SQLite in the default suite,
PostgreSQL (fewer examples) in the ``postgres`` one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from portal import ledger
from portal.db import Database
from portal.ledger.checks import run_checks
from portal.ledger.models import Customer

CURRENCIES = ("USD", "EUR")
TERMS = ("net 30", "2/10 net 30")
ISSUED = dt.date(2026, 11, 1)
UNSETTLED = ("pending", "requires_action", "processing")
REFUSED = object()


OPERATIONS: dict[str, tuple] = {}


def operation(precondition, **strategies):
    """Register a method as an operation the machine's one rule may choose.

    ``precondition(machine)`` says whether it can run now (None: always);
    ``strategies`` draw its arguments.
    """
    def register(method):
        OPERATIONS[method.__name__] = (precondition, strategies)
        return method
    return register


@dataclass
class ModelInvoice:
    id: int
    number: str
    customer: int
    currency: str
    terms: str
    subtotal: int
    tax: int
    balance: int
    reserved: int = 0
    # The last receivable line on this invoice came from a full write-off under
    # the default key (so a repeat of it is a replay).
    last_move_default_write_off: bool = False

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    @property
    def available(self) -> int:
        return max(self.balance - self.reserved, 0)


@dataclass
class ModelPayment:
    id: int
    customer: int
    currency: str
    amount: int
    reservations: list[tuple[int, int, int]]  # (invoice, cash, discount), in order
    status: str = "pending"
    released: bool = False
    applied: list[tuple[int, int, int]] = field(default_factory=list)
    settlement_entry: int | None = None
    reversal_entry: int | None = None


@dataclass
class Replay:
    """A posting that was accepted, and how to call it again."""

    kind: str
    key: str
    entry_id: int
    call: object  # session -> Posted


class LedgerMachine(RuleBasedStateMachine):
    """Subclasses set ``make_database`` (a function returning a fresh database URL)."""

    make_database = None
    drop_database = None

    def __init__(self) -> None:
        super().__init__()
        self.url = type(self).make_database()
        self.db = Database(self.url)
        self.customers: list[int] = []
        self.invoices: dict[int, ModelInvoice] = {}
        self.payments: dict[int, ModelPayment] = {}
        self.credit: dict[tuple[int, str], int] = {}
        self.entries = 0
        self.replays: list[Replay] = []
        self.numbers = itertools.count(1)

    def teardown(self) -> None:
        self.db.dispose()
        if type(self).drop_database is not None:
            type(self).drop_database(self.url)

    # --- plumbing ------------------------------------------------------------------

    def run(self, call, *, refused: bool, error=ledger.LedgerError):
        """Run ``call(session)`` in a unit of work; it must be refused iff ``refused``."""
        step = call.__qualname__.split(".")[1]
        with self.db.unit_of_work() as uow:
            try:
                result = call(uow.session)
            except error:
                assert refused, "the ledger refused what the model allows"
                event(f"{step}: refused")
                return REFUSED
            event(f"{step}: accepted")
            assert not refused, f"the ledger accepted what the model refuses: {result!r}"
            uow.commit()
            return result

    def add_credit(self, customer: int, currency: str, amount: int) -> None:
        self.credit[customer, currency] = self.credit.get((customer, currency), 0) + amount

    def posted(self, result, kind: str, key: str, call) -> int:
        assert isinstance(result, ledger.Posted) and result.created
        assert (result.entry.kind, result.entry.idempotency_key) == (kind, key)
        self.entries += 1
        self.replays.append(Replay(kind, key, result.entry.id, call))
        return result.entry.id

    @staticmethod
    def pick(data, preferred: list, anything: list, label: str):
        """Mostly one of ``preferred`` (when there are any), now and then any of ``anything``."""
        pool = preferred if preferred and data.draw(st.integers(0, 9), label=label) < 8 \
            else anything
        return data.draw(st.sampled_from(pool), label=label)

    def pick_party(self, data) -> tuple[int, str]:
        """A customer and currency: mostly those of an invoice with something open or
        reserved (half the time a reserved one), now and then any pair."""
        live = [i for i in self.invoices.values() if i.available or i.reserved]
        reserved = [i for i in live if i.reserved]
        if reserved and data.draw(st.booleans(), label="one under a reservation"):
            live = reserved
        return self.pick(data, sorted((i.customer, i.currency) for i in live),
                         list(itertools.product(self.customers, CURRENCIES)), "party")

    def pick_invoices(self, data, customer: int, currency: str, max_size: int):
        """Mostly the customer's invoices in ``currency`` with something open or reserved;
        now and then anyone's."""
        if not self.invoices:
            return []
        mine = [i.id for i in self.invoices.values()
                if (i.customer, i.currency) == (customer, currency)
                and (i.available or i.reserved)]
        reserved = [i for i in mine if self.invoices[i].reserved]
        if reserved and data.draw(st.booleans(), label="one under a reservation"):
            mine = reserved
        size = data.draw(st.integers(0 if max_size > 1 else 1, max_size), label="how many")
        return [self.pick(data, mine, sorted(self.invoices), "invoice") for _ in range(size)]

    def pick_payment(self, data, wanted: tuple[str, ...]) -> ModelPayment:
        """Mostly a payment whose status is in ``wanted``; now and then any."""
        preferred = [i for i, p in self.payments.items() if p.status in wanted]
        return self.payments[self.pick(data, preferred, sorted(self.payments), "payment")]

    def payable_mismatch(self, invoice_ids, customer: int, currency: str) -> bool:
        return any((self.invoices[i].customer, self.invoices[i].currency)
                   != (customer, currency) for i in invoice_ids)

    def touched(self, invoice_id: int) -> None:
        """A receivable line was posted on the invoice."""
        self.invoices[invoice_id].last_move_default_write_off = False

    # --- set-up ---------------------------------------------------------------------

    @initialize(
        customers=st.integers(1, 2),
        invoices=st.lists(st.tuples(st.integers(0, 1), st.sampled_from(CURRENCIES),
                                    st.integers(1, 300), st.integers(0, 30),
                                    st.sampled_from(TERMS)), min_size=1, max_size=4),
        # Payments under way on some of them (percent of the total), and unapplied
        # credit, so that postings under a reservation, and applying credit, are
        # common from the first step rather than rare.
        reserving=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 100)), max_size=2),
        credit=st.one_of(st.just(0), st.integers(1, 200)))
    def open_the_books(self, customers, invoices, reserving, credit):
        with self.db.unit_of_work() as uow:
            for n in range(customers):
                row = Customer(number=f"C{n}", name=f"Customer {n}", currency="USD",
                               default_terms="net 30")
                uow.session.add(row)
                uow.session.flush()
                self.customers.append(row.id)
            uow.commit()
        for n, currency, subtotal, tax, terms in invoices:
            self.issue(self.customers[n % customers], currency, subtotal, tax, terms)
        ids = sorted(self.invoices)
        for n, percent in reserving:
            inv = self.invoices[ids[n % len(ids)]]
            cash = min(max(inv.total * percent // 100, 1), inv.available)
            if cash:
                self.start(inv.customer, inv.currency, "ach", cash,
                           [ledger.AllocationInput(inv.id, cash)], refused=False)
        if credit:
            self.credit_memo(self.customers[0], "USD", credit, None, refused=False)

    def issue(self, customer: int, currency: str, subtotal: int, tax: int, terms: str,
              number: str | None = None) -> None:
        """Issue an invoice; one whose number is taken (``number`` given) is refused."""
        duplicate = number is not None
        number = number or f"INV-{next(self.numbers)}"
        data_in = ledger.InvoiceInput(
            number=number, customer_id=customer, issue_date=ISSUED, currency=currency,
            terms=terms, lines=[ledger.LineInput("Widgets", subtotal, tax_minor=tax)])
        invoice = self.run(lambda s: ledger.create_invoice(s, data_in), refused=duplicate)
        if invoice is REFUSED:
            return
        self.invoices[invoice.id] = ModelInvoice(invoice.id, number, customer, currency, terms,
                                                 subtotal, tax, balance=subtotal + tax)
        if subtotal + tax:
            self.entries += 1

    @rule(data=st.data())
    def step(self, data):
        """Run one operation, chosen evenly among those that can run now.

        One rule rather than one per operation: Hypothesis runs each example with
        a random subset of the rules, and with a few dozen examples that left most
        runs to one or two kinds of posting, seldom meeting one another.
        """
        ready = [name for name, (pre, _) in OPERATIONS.items() if pre is None or pre(self)]
        name = data.draw(st.sampled_from(ready), label="operation")
        arguments = {arg: data.draw(strategy, label=arg)
                     for arg, strategy in OPERATIONS[name][1].items()}
        getattr(self, name)(data, **arguments)

    # --- invoices -------------------------------------------------------------------

    @operation(None, subtotal=st.integers(0, 300), tax=st.one_of(st.just(0), st.integers(1, 30)),
               terms=st.sampled_from(TERMS), currency=st.sampled_from(CURRENCIES))
    def issue_invoice(self, data, subtotal, tax, terms, currency):
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        self.issue(customer, currency, subtotal, tax, terms)

    @operation(lambda self: self.invoices)
    def issue_a_taken_number(self, data):
        taken = data.draw(st.sampled_from([i.number for i in self.invoices.values()]))
        self.issue(self.customers[0], "USD", 100, 0, "net 30", number=taken)

    @operation(lambda self: self.invoices, subtotal=st.integers(0, 300),
               tax=st.integers(0, 30), other_customer=st.integers(0, 19))
    def adjust_invoice(self, data, subtotal, tax, other_customer):
        inv = self.invoices[self.pick(data, [i for i, v in self.invoices.items() if v.reserved],
                                      sorted(self.invoices), "invoice")]
        customer = inv.customer
        if other_customer == 0 and len(self.customers) > 1:
            customer = next(c for c in self.customers if c != inv.customer)
        data_in = ledger.InvoiceInput(
            number=inv.number, customer_id=customer, issue_date=ISSUED, currency=inv.currency,
            terms=inv.terms, lines=[ledger.LineInput("Widgets", subtotal, tax_minor=tax)])
        result = self.run(lambda s: ledger.adjust_invoice(s, inv.id, data_in),
                          refused=customer != inv.customer)
        if result is REFUSED:
            return
        delta = subtotal + tax - inv.total
        if (subtotal, tax) == (inv.subtotal, inv.tax):
            assert result is None
            return
        assert result.created and result.entry.kind == "invoice_adjusted"
        self.entries += 1
        if delta > 0:
            change = delta
        else:
            # Down to zero at most, reservations or not; the rest is the customer's.
            change = -min(-delta, inv.balance)
            self.add_credit(inv.customer, inv.currency, -delta + change)
        inv.balance += change
        if change:
            self.touched(inv.id)
        inv.subtotal, inv.tax = subtotal, tax

    # --- payments -------------------------------------------------------------------

    @operation(None, extra=st.one_of(st.just(0), st.integers(1, 100)),
               short=st.integers(0, 19))
    def start_payment(self, data, extra, short):
        customer, currency = self.pick_party(data)
        chosen = self.pick_invoices(data, customer, currency, 2)
        if not chosen:
            extra = max(extra, data.draw(st.integers(0, 50), label="prepayment"))
        allocations, refused, cash_total = [], False, 0
        for invoice_id in chosen:
            inv = self.invoices[invoice_id]
            avail = inv.available
            mode = data.draw(st.sampled_from(
                ["partial", "partial", "full", "full", "discounted", "discounted", "over",
                 "discount_only"]), label="mode")
            discount = 0
            if mode == "partial":
                cash = data.draw(st.integers(1, max(avail, 1)), label="cash")
            elif mode == "full":
                cash = avail
            elif mode == "discounted":
                # 2 % of the total, half up, as "2/10 net 30" would give.
                discount = min((inv.total * 2 + 50) // 100, avail)
                cash = avail - discount
            elif mode == "over":
                cash = avail + data.draw(st.integers(1, 50), label="over")
            else:
                cash, discount = 0, data.draw(st.integers(1, 3), label="discount")
            allocations.append(ledger.AllocationInput(invoice_id, cash, discount))
            cash_total += cash
            refused |= cash + discount == 0 or cash + discount > avail
        amount = cash_total + extra
        if short == 0 and cash_total > 0:
            amount = cash_total - 1  # less than the invoices take
            refused = True
        refused |= (amount <= 0 or len(set(chosen)) != len(chosen)
                    or self.payable_mismatch(chosen, customer, currency))
        method = data.draw(st.sampled_from(["card", "ach"]), label="method")
        self.start(customer, currency, method, amount, allocations, refused=refused)

    def start(self, customer: int, currency: str, method: str, amount: int,
              allocations: list[ledger.AllocationInput], *, refused: bool) -> None:
        payment = self.run(lambda s: ledger.start_payment(
            s, customer_id=customer, currency=currency, method=method, amount_minor=amount,
            allocations=allocations), refused=refused)
        if payment is REFUSED:
            return
        self.payments[payment.id] = ModelPayment(
            payment.id, customer, currency, amount,
            [(a.invoice_id, a.amount_minor, a.discount_minor) for a in allocations])
        for a in allocations:
            self.invoices[a.invoice_id].reserved += a.amount_minor + a.discount_minor

    @operation(lambda self: self.payments,
               status=st.sampled_from(["processing", "requires_action"]))
    def mark_payment(self, data, status):
        p = self.pick_payment(data, UNSETTLED)
        self.run(lambda s: ledger.mark_payment(s, p.id, status), refused=False)
        if p.status in UNSETTLED:
            p.status = status

    def _release(self, p: ModelPayment) -> None:
        if not p.released:
            for invoice_id, cash, discount in p.reservations:
                self.invoices[invoice_id].reserved -= cash + discount
            p.released = True

    @operation(lambda self: self.payments)
    def settle_payment(self, data):
        p = self.pick_payment(data, (*UNSETTLED, "failed", "canceled"))
        result = self.run(lambda s: ledger.settle_payment(s, p.id), refused=False)
        if p.settlement_entry is not None:  # a replay
            assert not result.created and result.entry.id == p.settlement_entry
            return
        p.settlement_entry = self.posted(result, "payment_settled", f"payment:{p.id}:settled",
                                         lambda s: ledger.settle_payment(s, p.id))
        self._release(p)
        applied_cash = 0
        for invoice_id, cash, discount in p.reservations:
            inv = self.invoices[invoice_id]
            open_now = inv.available
            take_cash = min(cash, open_now)
            take_discount = min(discount, open_now - take_cash)
            if take_cash + take_discount == 0:
                continue
            inv.balance -= take_cash + take_discount
            self.touched(invoice_id)
            applied_cash += take_cash
            p.applied.append((invoice_id, take_cash, take_discount))
        self.add_credit(p.customer, p.currency, p.amount - applied_cash)
        p.status = "succeeded"

    @operation(lambda self: self.payments, status=st.sampled_from(["failed", "canceled"]))
    def fail_payment(self, data, status):
        p = self.pick_payment(data, UNSETTLED)
        settled = p.status in ("succeeded", "reversed")
        self.run(lambda s: ledger.fail_payment(s, p.id, status=status), refused=settled)
        if p.status in UNSETTLED:
            self._release(p)
            p.status = status

    @operation(lambda self: self.payments)
    def reverse_payment(self, data):
        p = self.pick_payment(data, ("succeeded",))
        result = self.run(lambda s: ledger.reverse_payment(s, p.id, reason="R01"),
                          refused=p.status not in ("succeeded", "reversed"))
        if result is REFUSED:
            return
        if p.reversal_entry is not None:
            assert not result.created and result.entry.id == p.reversal_entry
            return
        p.reversal_entry = self.posted(result, "payment_reversed", f"payment:{p.id}:reversed",
                                       lambda s: ledger.reverse_payment(s, p.id, reason="R01"))
        for invoice_id, cash, discount in p.applied:
            self.invoices[invoice_id].balance += cash + discount
            self.touched(invoice_id)
        self.add_credit(p.customer, p.currency,
                        -(p.amount - sum(cash for _, cash, _ in p.applied)))
        p.status = "reversed"

    # --- credit -----------------------------------------------------------------------

    @operation(None, amount=st.integers(-1, 200), on_invoice=st.booleans())
    def issue_credit_memo(self, data, amount, on_invoice):
        customer, currency = self.pick_party(data)
        chosen = self.pick_invoices(data, customer, currency, 1) if on_invoice else []
        refused = amount <= 0 or self.payable_mismatch(chosen, customer, currency)
        self.credit_memo(customer, currency, amount, chosen[0] if chosen else None,
                         refused=refused)

    def credit_memo(self, customer: int, currency: str, amount: int, invoice_id: int | None,
                    *, refused: bool) -> None:
        number = f"CM-{next(self.numbers)}"

        def call(s):
            return ledger.issue_credit_memo(s, number=number, customer_id=customer,
                                            amount_minor=amount, currency=currency,
                                            reason="Damaged", invoice_id=invoice_id)

        result = self.run(call, refused=refused)
        if result is REFUSED:
            return
        self.posted(result, "credit_memo_issued", f"credit_memo:{number}", call)
        to_invoice = 0
        if invoice_id is not None:
            inv = self.invoices[invoice_id]
            to_invoice = min(amount, inv.available)
            inv.balance -= to_invoice
            if to_invoice:
                self.touched(invoice_id)
        self.add_credit(customer, currency, amount - to_invoice)

    @operation(lambda self: self.invoices and any(v > 0 for v in self.credit.values()),
               amount=st.integers(0, 100))
    def apply_credit(self, data, amount):
        usable = {(i.customer, i.currency) for i in self.invoices.values() if i.available}
        customer, currency = self.pick(
            data, sorted(k for k, v in self.credit.items() if v > 0 and k in usable),
            list(itertools.product(self.customers, CURRENCIES)), "credit")
        inv = self.invoices[self.pick_invoices(data, customer, currency, 1)[0]]
        have = self.credit.get((customer, inv.currency), 0)
        if data.draw(st.booleans(), label="as much as fits"):
            amount = min(have, inv.available) or amount
        refused = (amount <= 0 or inv.customer != customer or amount > have
                   or amount > inv.available)
        key = f"apply-{next(self.numbers)}"

        def call(s):
            return ledger.apply_credit(s, customer_id=customer, invoice_id=inv.id,
                                       amount_minor=amount, idempotency_key=key)

        result = self.run(call, refused=refused)
        if result is REFUSED:
            return
        self.posted(result, "credit_applied", key, call)
        inv.balance -= amount
        self.touched(inv.id)
        self.add_credit(customer, inv.currency, -amount)

    @operation(lambda self: self.invoices, partial=st.booleans())
    def write_off(self, data, partial):
        inv = self.invoices[self.pick(
            data, [i for i, v in self.invoices.items() if v.available or v.reserved],
            sorted(self.invoices), "invoice")]
        if partial:
            amount = data.draw(st.integers(0, inv.available + 1), label="amount")
            key = f"wo-{next(self.numbers)}"

            def call(s):
                return ledger.write_off(s, invoice_id=inv.id, reason="Uncollectable",
                                        amount_minor=amount, idempotency_key=key)

            result = self.run(call, refused=not 0 < amount <= inv.available)
            if result is REFUSED:
                return
            self.posted(result, "write_off", key, call)
            inv.balance -= amount
            self.touched(inv.id)
            return
        replay = inv.available == 0 and inv.last_move_default_write_off
        result = self.run(lambda s: ledger.write_off(s, invoice_id=inv.id, reason="Bad debt"),
                          refused=inv.available == 0 and not replay)
        if result is REFUSED:
            return
        assert result.entry.kind == "write_off"
        if replay:
            assert not result.created
            return
        assert result.created
        self.entries += 1
        inv.balance -= inv.available
        inv.last_move_default_write_off = True

    # --- replays ----------------------------------------------------------------------

    @operation(lambda self: self.replays)
    def replay_a_posting(self, data):
        replay = data.draw(st.sampled_from(self.replays), label="replay")
        result = self.run(replay.call, refused=False)
        assert not result.created
        assert (result.entry.id, result.entry.kind) == (replay.entry_id, replay.kind)

    @operation(lambda self: any(r.kind == "credit_applied" for r in self.replays),
               amount=st.integers(1, 50))
    def apply_credit_with_a_used_key(self, data, amount):
        replay = data.draw(st.sampled_from([r for r in self.replays
                                            if r.kind == "credit_applied"]), label="replay")
        inv = self.invoices[data.draw(st.sampled_from(sorted(self.invoices)), label="invoice")]
        result = self.run(lambda s: ledger.apply_credit(
            s, customer_id=inv.customer, invoice_id=inv.id, amount_minor=amount,
            idempotency_key=replay.key), refused=False)
        assert not result.created and result.entry.id == replay.entry_id

    @operation(lambda self: self.replays, amount=st.integers(1, 50))
    def reuse_a_key_for_another_kind(self, data, amount):
        replay = data.draw(st.sampled_from(self.replays), label="replay")
        customer = self.customers[0]
        unsettled = [p for p in self.payments.values() if p.status in UNSETTLED]
        if replay.kind != "credit_applied":
            if not self.invoices:
                return
            inv = self.invoices[data.draw(st.sampled_from(sorted(self.invoices)),
                                          label="invoice")]

            def call(s):
                return ledger.apply_credit(s, customer_id=inv.customer, invoice_id=inv.id,
                                           amount_minor=amount, idempotency_key=replay.key)
        elif unsettled and data.draw(st.booleans(), label="settle?"):
            payment = data.draw(st.sampled_from(unsettled), label="payment")

            def call(s):
                return ledger.settle_payment(s, payment.id, idempotency_key=replay.key)
        else:
            number = f"CM-{next(self.numbers)}"

            def call(s):
                return ledger.issue_credit_memo(
                    s, number=number, customer_id=customer, amount_minor=amount,
                    currency="USD", reason="r", idempotency_key=replay.key)

        self.run(call, refused=True, error=ledger.IdempotencyConflict)

    # --- what must hold after every step ------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self):
        with self.db.session() as s:
            result = run_checks(s)
            assert result.ok, result.violation
            invoices = {row.id: row for row in s.execute(text(
                "SELECT id, balance_minor, reserved_minor, status FROM ar_invoices"))}
            payments = dict(s.execute(text("SELECT id, status FROM ar_payments")).all())
            credit = {(c, cur): int(v) for c, cur, v in s.execute(text(
                "SELECT customer_id, currency, -sum(amount_minor) FROM ar_journal_lines "
                "WHERE account = 'customer_credit' GROUP BY customer_id, currency"))}
            sums = s.execute(text("SELECT currency, sum(amount_minor) FROM ar_journal_lines "
                                  "GROUP BY currency")).all()
            entries = s.execute(text("SELECT count(*) FROM ar_journal_entries")).scalar_one()
        assert {i: (r.balance_minor, r.reserved_minor) for i, r in invoices.items()} == {
            i: (m.balance, m.reserved) for i, m in self.invoices.items()}
        for invoice_id, row in invoices.items():
            assert (row.status == "open") == (row.balance_minor > 0), (invoice_id, row.status)
        assert payments == {i: p.status for i, p in self.payments.items()}
        assert {k: v for k, v in credit.items() if v} == {
            k: v for k, v in self.credit.items() if v}
        assert all(total == 0 for _, total in sums), sums
        assert entries == self.entries


SQLITE_SETTINGS = settings(max_examples=60, stateful_step_count=30, deadline=None,
                           suppress_health_check=[HealthCheck.too_slow])
POSTGRES_SETTINGS = settings(max_examples=20, stateful_step_count=25, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def test_ledger_state_machine_sqlite(new_sqlite_url):
    class Machine(LedgerMachine):
        make_database = staticmethod(new_sqlite_url)

    run_state_machine_as_test(Machine, settings=SQLITE_SETTINGS)


@pytest.mark.postgres
def test_ledger_state_machine_postgres(postgres_server):
    names = itertools.count()

    def make() -> str:
        return postgres_server.create(f"{postgres_server.prefix}_sm_{next(names)}",
                                      template=postgres_server.template)

    def drop(url: str) -> None:
        postgres_server.drop(url.rsplit("/", 1)[1])

    class Machine(LedgerMachine):
        make_database = staticmethod(make)
        drop_database = staticmethod(drop)

    run_state_machine_as_test(Machine, settings=POSTGRES_SETTINGS)
