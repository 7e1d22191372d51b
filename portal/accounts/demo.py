"""Demo users: customer users of every role, a shared-services clerk, and vendor staff."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import services
from portal.accounts.models import User
from portal.demo.hooks import DemoContext
from portal.ledger.models import Customer

DEMO_PASSWORD = "northwind-demo-2026"

# (e-mail, name, staff role or None, [(customer number, role), ...])
DEMO_USERS: tuple[tuple[str, str, str | None, tuple[tuple[str, str], ...]], ...] = (
    ("ap.admin@greatlakes-fab.example", "Dana Whitfield", None, (("C-10042", "admin"),)),
    ("ap.clerk@greatlakes-fab.example", "Luis Ortega", None, (("C-10042", "payer"),)),
    ("controller@greatlakes-fab.example", "Priya Raman", None, (("C-10042", "viewer"),)),
    ("payables@ridgeline-shared.example", "Morgan Lee", None,
     (("C-10117", "payer"), ("C-10388", "admin"))),
    ("ap@redwoodfoods.example", "Sam Okafor", None, (("C-10231", "admin"),)),
    ("comptes@mapleleafmining.example", "Élise Tremblay", None, (("C-20008", "admin"),)),
    ("ar.admin@northwind.example", "Rita Alvarez", "ar_admin", ()),
    ("collections@northwind.example", "Tom Becker", "collector", ()),
    ("finance.viewer@northwind.example", "Ivy Chen", "viewer", ()),
)


def demo_users(session: Session, context: DemoContext) -> Iterable[str]:
    """Create the demo users once; return one ``sign in:`` line per user."""
    customers = {c.number: c for c in session.scalars(
        select(Customer).where(Customer.number.in_(context.customer_numbers)))}
    lines = []
    for email, name, staff_role, memberships in DEMO_USERS:
        wanted = [(customers[n], role) for n, role in memberships if n in customers]
        if memberships and not wanted:
            continue
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = services.create_user(session, email=email, name=name,
                                        password=DEMO_PASSWORD, staff_role=staff_role)
            for customer, role in wanted:
                services.add_membership(session, user, customer.id, role)
        lines.append(f"sign in: {email} {DEMO_PASSWORD}")
    return lines
