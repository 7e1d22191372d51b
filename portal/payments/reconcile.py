"""The reconciliation sweep: ask Stripe about every card payment still unsettled after a while.

Webhooks get lost (an outage, a wrong signing secret, a deploy at the wrong
second) and payers close the tab before the return page. The sweep makes that
harmless: every card payment that is still ``pending``, ``requires_action`` or
``processing`` with a PaymentIntent, and older than ``PORTAL_RECONCILE_AFTER_MINUTES``
(younger ones are still in the payer's hands), goes through the same
:func:`portal.payments.settlement.sync_payment_outcome` as the return page, each
in its own unit of work so one failure does not undo the others. Running it
again changes nothing that is already in line.

A checkout payment whose PaymentIntent the portal never learnt of (Stripe did not
answer the creation) is *stranded*: the sweep repeats the creation with the same
idempotency key (:func:`portal.payments.card_checkout.resume`), so Stripe returns
what it did the first time, and records it; past Stripe's idempotency window the
payment is failed (``abandoned``) and its amounts released.

A payment still waiting for the payer's 3-D Secure step longer than
``PORTAL_CARD_ACTION_TIMEOUT_MINUTES`` (the payer closed the page) is canceled at
Stripe, which releases its amounts as any cancellation does: Stripe itself never
cancels it, and the invoices would otherwise stay held.

Run by ``portal payments reconcile`` and by the task ``payments.reconcile``
(Celery beat in production). Ages are measured in real time, like
``ar_payments.created_at``, not on the demo clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import Database
from portal.gateways.stripe import StripeGateway
from portal.ledger.models import UNSETTLED_STATUSES, Payment, utcnow
from portal.payments import card_checkout, settlement
from portal.tasks import task

log = logging.getLogger("portal.payments.reconcile")

# What one payment's sweep comes to (besides settlement.PROBLEMS, counted as errors).
SETTLED, FAILED, UNCHANGED = "settled", "failed", "unchanged"


@dataclass(slots=True)
class Summary:
    """What one sweep found; ``problems`` names each payment counted in ``errors``."""

    checked: int = 0
    settled: int = 0
    failed: int = 0
    unchanged: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for people and logs."""
        return (f"checked {self.checked}, settled {self.settled}, failed {self.failed}, "
                f"unchanged {self.unchanged}, errors {self.errors}")


def due_payment_ids(database: Database, older_than: dt.timedelta,
                    now: dt.datetime | None = None) -> list[int]:
    """Return the ids of unsettled card payments with a PaymentIntent older than ``older_than``."""
    cutoff = (now or utcnow()) - older_than
    query = (select(Payment.id)
             .where(Payment.method == "card", Payment.status.in_(UNSETTLED_STATUSES),
                    Payment.gateway_ref.is_not(None), Payment.created_at <= cutoff)
             .order_by(Payment.id))
    with database.session() as session:
        return list(session.scalars(query))


def reconcile(database: Database, gateway: StripeGateway, older_than_minutes: int,
              action_timeout_minutes: int = 60) -> Summary:
    """Sync every due payment with Stripe, one unit of work each; return the summary."""
    summary = Summary()
    older_than = dt.timedelta(minutes=older_than_minutes)
    action_timeout = dt.timedelta(minutes=action_timeout_minutes)
    with database.session() as session:
        stranded = card_checkout.stranded_payment_ids(session, older_than)
    for payment_id in stranded:
        _sweep(database, summary, payment_id,
               lambda session, pid=payment_id: _resumed(session, gateway, pid))
    for payment_id in due_payment_ids(database, older_than):
        _sweep(database, summary, payment_id,
               lambda session, pid=payment_id: _synced(session, gateway, pid, action_timeout))
    return summary


def _sweep(database: Database, summary: Summary, payment_id: int,
           step: Callable[[Session], str]) -> None:
    """Run ``step`` for one payment in its own unit of work and count what it says."""
    summary.checked += 1
    try:
        with database.unit_of_work() as unit:
            tally = step(unit.session)
            unit.commit()
    except Exception as error:  # one payment's failure must not stop the sweep
        log.exception("reconcile: payment %s failed", payment_id)
        summary.errors += 1
        summary.problems.append(f"payment {payment_id}: {type(error).__name__}: {error}")
        return
    if tally in settlement.PROBLEMS:
        summary.errors += 1
        summary.problems.append(f"payment {payment_id}: {tally}")
    elif tally == SETTLED:
        summary.settled += 1
    elif tally == FAILED:
        summary.failed += 1
    else:
        summary.unchanged += 1


def _resumed(session: Session, gateway: StripeGateway, payment_id: int) -> str:
    """A stranded checkout payment: repeat its PaymentIntent's creation (card_checkout)."""
    kind = card_checkout.resume(session, gateway, payment_id)
    return kind if kind in (SETTLED, FAILED) else UNCHANGED


def _synced(session: Session, gateway: StripeGateway, payment_id: int,
            action_timeout: dt.timedelta) -> str:
    """A payment with a PaymentIntent: apply Stripe's view, cancel it if left at 3-D Secure."""
    result = settlement.sync_payment_outcome(session, payment_id, gateway)
    if _waited_too_long(result.payment, action_timeout):
        intent = gateway.cancel_payment_intent(result.payment.gateway_ref)
        result = settlement.apply_payment_intent(session, result.payment, intent)
    if result.needs_staff:
        return result.outcome
    if result.outcome == settlement.SETTLED and result.newly_settled:
        return SETTLED
    if result.outcome in (settlement.FAILED, settlement.CANCELED):
        return FAILED
    return UNCHANGED


def _waited_too_long(payment: Payment, timeout: dt.timedelta) -> bool:
    """True for a payment still waiting for the payer's 3-D Secure step after ``timeout``."""
    return (payment.status == "requires_action"
            and utcnow() - payment.created_at > timeout)


@task("payments.reconcile")
def reconcile_task(older_than_minutes: int | None = None) -> None:
    """The sweep as a task (Celery beat): settings from the app, the summary to the log."""
    config = current_app.config["PORTAL"]
    minutes = config.reconcile_after_minutes if older_than_minutes is None \
        else older_than_minutes
    summary = reconcile(current_app.extensions["portal.db"], StripeGateway.from_config(config),
                        minutes, config.card_action_timeout_minutes)
    if summary.errors:
        log.error("payments reconcile: %s; %s", summary.line(), "; ".join(summary.problems))
    else:
        log.info("payments reconcile: %s", summary.line())
