"""Reading and changing the vendor profile.

:func:`get_vendor` never fails: a portal whose profile has not been set up yet
gets a profile of defaults (not stored), so pages and documents can always
render. :func:`update_vendor` is the only writer and checks every value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from portal import clock
from portal.i18n import N_
from portal.vendor.models import DEFAULT_TIMEZONE, DISCOUNT_BASES, VENDOR_ID, Vendor

DEFAULT_NAME = "Payment portal"

# Why a customer pays less than the invoice asks; vendors may edit the list. The
# default labels are stored in English and shown translated (marked with N_ for
# extraction; a vendor's own labels are shown as written).
DEFAULT_SHORT_PAY_REASONS: tuple[dict[str, str], ...] = (
    {"code": "damaged", "label": N_("Goods damaged or defective")},
    {"code": "short_shipped", "label": N_("Quantity short or not received")},
    {"code": "pricing", "label": N_("Price differs from the purchase order")},
    {"code": "returned", "label": N_("Goods returned")},
    {"code": "tax_exempt", "label": N_("Tax charged in error (exempt)")},
    {"code": "freight", "label": N_("Freight not agreed")},
    {"code": "other", "label": N_("Other (explain in the note)")},
)

# Why a customer disputes an invoice (issue: pricing, quantity, damaged goods, not received,
# duplicate billing, tax, other); vendors may set their own list (``dispute_reasons``).
DEFAULT_DISPUTE_REASONS: tuple[dict[str, str], ...] = (
    {"code": "pricing", "label": N_("Pricing")},
    {"code": "quantity", "label": N_("Quantity")},
    {"code": "damaged", "label": N_("Damaged goods")},
    {"code": "not_received", "label": N_("Not received")},
    {"code": "duplicate", "label": N_("Duplicate billing")},
    {"code": "tax", "label": N_("Tax")},
    {"code": "other", "label": N_("Other")},
)

EDITABLE_FIELDS = frozenset({
    "name", "legal_name", "logo_path", "remit_to", "support_email", "support_phone",
    "website", "timezone", "discount_base", "prorate_partial_discounts", "short_pay_reasons",
    "payers_manage_bank_accounts", "dispute_reasons", "plan_policy",
})


class VendorError(ValueError):
    """A vendor profile value that cannot be stored; the message says why."""


def default_vendor() -> Vendor:
    """Return an unsaved profile of defaults."""
    return Vendor(id=VENDOR_ID, name=DEFAULT_NAME, timezone=DEFAULT_TIMEZONE,
                  discount_base="total", prorate_partial_discounts=False,
                  short_pay_reasons=[dict(r) for r in DEFAULT_SHORT_PAY_REASONS])


def get_vendor(session: Session) -> Vendor:
    """Return the vendor profile, or an unsaved profile of defaults when there is none.

    The defaults are not added to the session: change the profile with
    :func:`update_vendor`, never by setting attributes on what this returns.
    """
    return session.get(Vendor, VENDOR_ID) or default_vendor()


def update_vendor(session: Session, **changes: object) -> Vendor:
    """Set the given profile fields (creating the profile if needed) and return it."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise VendorError(f"unknown vendor profile field(s): {', '.join(unknown)}")
    values = {name: _checked(name, value) for name, value in changes.items()}
    vendor = session.get(Vendor, VENDOR_ID)
    if vendor is None:
        vendor = default_vendor()
        session.add(vendor)
    for name, value in values.items():
        setattr(vendor, name, value)
    session.flush()
    return vendor


def local_today(vendor: Vendor, now: dt.datetime | None = None) -> dt.date:
    """Return today's date in the vendor's time zone (the day deadlines are counted in)."""
    return (now or clock.now()).astimezone(vendor.zone).date()


def _checked(name: str, value: object) -> object:
    if name == "timezone":
        return _timezone(value)
    if name == "discount_base":
        if value not in DISCOUNT_BASES:
            raise VendorError(f"discount base must be one of {', '.join(DISCOUNT_BASES)}")
        return value
    if name in ("prorate_partial_discounts", "payers_manage_bank_accounts"):
        if not isinstance(value, bool):
            raise VendorError(f"{name} must be true or false")
        return value
    if name == "short_pay_reasons":
        return _reasons(value, "short-pay")
    if name == "dispute_reasons":
        return _reasons(value, "dispute") if value else None
    if name == "plan_policy":
        return _plan_policy(value)
    if value is not None and not isinstance(value, str):
        raise VendorError(f"{name} must be text")
    text = value.strip() if isinstance(value, str) else None
    if name == "logo_path" and text:
        path = PurePosixPath(text)
        if path.is_absolute() or ".." in path.parts:
            raise VendorError("the logo path must be relative to static/, e.g. "
                              "img/vendor-logo.svg")
    if name == "support_email" and text and "@" not in text:
        raise VendorError(f"{text!r} is not an e-mail address")
    if name == "name" and not text:
        raise VendorError("the vendor needs a name")
    return text or None


def _timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise VendorError("the time zone must be an IANA name such as America/New_York")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise VendorError(f"unknown time zone {value!r}") from None
    return value


def _reasons(value: object, what: str) -> list[dict[str, str]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise VendorError(f"{what} reasons must be a list of {{code, label}}")
    reasons: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in value:
        code = item.get("code") if isinstance(item, dict) else None
        label = item.get("label") if isinstance(item, dict) else None
        if not isinstance(code, str) or not isinstance(label, str) or not code or not label:
            raise VendorError(f"each {what} reason needs a code and a label")
        # The code is stored on reservations, allocations and disputes (64 characters there).
        if len(code) > 64 or code in seen:
            raise VendorError(f"{what} reason code {code!r} is too long or repeated")
        seen.add(code)
        reasons.append({"code": code, "label": label})
    return reasons


def _plan_policy(value: object) -> dict | None:
    """The plan policy setting, checked by reading it as a Policy (None: the defaults)."""
    from portal.plans.schedule import Policy

    if value in (None, {}):
        return None
    try:
        Policy.from_settings(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise VendorError(str(exc)) from None
    return dict(value)  # type: ignore[call-overload]
