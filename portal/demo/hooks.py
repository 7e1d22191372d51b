"""Other features' demo loaders: what ``portal demo`` adds after the ledger data.

The ledger data (:func:`portal.demo.data.load`) comes first. Then each hook
listed by :func:`registered_hooks` runs, in order, and returns the lines the
command prints: the contract in DESIGN.md asks for one ``sign in: EMAIL
PASSWORD`` line per demo user and one ``invoice link: URL`` line.

A hook:

- takes the demo's session and a :class:`DemoContext`, and adds its rows in
  that session (the demo's unit of work commits once, after every hook);
- runs on every ``portal demo``, also when the data was loaded by an earlier
  run, so it finds what it made before instead of adding it twice (a user
  that exists keeps its demo password; a link token, stored only as a hash,
  may be issued anew);
- returns its lines (no trailing newline), or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class DemoContext:
    """What a hook may build on: the demo's day, the address it serves on, its data."""

    today: dt.date
    base_url: str  # e.g. http://127.0.0.1:5000, for links
    customer_numbers: tuple[str, ...]
    # An open invoice inside its discount window, good for the invoice link.
    showcase_invoice: str | None


DemoHook = Callable[[Session, DemoContext], Iterable[str]]


def registered_hooks() -> list[DemoHook]:
    """Return the demo loaders of other features, in the order they run.

    A feature adds its own with one import and one line here, e.g.
    ``from portal.links.demo import demo_link`` (prints ``invoice link:``).
    """
    from portal.accounts.demo import demo_users
    from portal.disputes.demo import demo_disputes
    from portal.links.demo import demo_link
    from portal.plans.demo import demo_plans

    return [demo_users, demo_link, demo_disputes, demo_plans]
