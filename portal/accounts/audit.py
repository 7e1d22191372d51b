"""The audit log: security-relevant events with who, when, IP and user agent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import AuditEvent, User


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from."""

    ip: str | None = None
    user_agent: str | None = None


def record(session: Session, action: str, *, origin: Origin, user: User | None = None,
           customer_id: int | None = None, subject: str | None = None,
           detail: str | None = None, actor_email: str | None = None) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's unit of work)."""
    event = AuditEvent(action=action, user_id=user.id if user else None,
                       actor_email=actor_email or (user.email if user else None),
                       customer_id=customer_id, subject=subject, detail=detail,
                       ip=origin.ip, user_agent=(origin.user_agent or "")[:300] or None)
    session.add(event)
    return event


def for_customer(session: Session, customer_id: int, limit: int = 200) -> list[AuditEvent]:
    """Return the newest events of one customer account."""
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.customer_id == customer_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


def recent(session: Session, limit: int = 200) -> list[AuditEvent]:
    """Return the newest events of every account (for vendor staff)."""
    return list(session.scalars(
        select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
