"""The vendor profile the demo sets up: defaults when absent, one row, values checked.

(It lives with the demo's tests for now; its home is tests/integration/vendor/.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.vendor.models import Vendor
from portal.vendor.services import (
    DEFAULT_SHORT_PAY_REASONS,
    VendorError,
    get_vendor,
    local_today,
    update_vendor,
)


def test_defaults_when_absent_are_not_stored(db):
    with db.session() as s:
        vendor = get_vendor(s)
        assert vendor.timezone == "America/New_York" and vendor.discount_base == "total"
        assert vendor.prorate_partial_discounts is False
        assert [r["code"] for r in vendor.short_pay_reasons] == [
            r["code"] for r in DEFAULT_SHORT_PAY_REASONS]
        assert vendor not in s
        assert s.scalar(select(func.count()).select_from(Vendor)) == 0


def test_update_creates_one_row_and_checks_values(db):
    with db.unit_of_work() as uow:
        update_vendor(uow.session, name="Northwind", timezone="America/Chicago",
                      short_pay_reasons=[{"code": "damaged", "label": "Damaged"}])
        update_vendor(uow.session, website="https://northwind.example")
        for bad in ({"timezone": "Mars/Olympus"}, {"discount_base": "net"},
                    {"logo_path": "/etc/passwd"}, {"logo_path": "../secret.svg"},
                    {"short_pay_reasons": [{"code": "x"}]}, {"name": ""}, {"colour": "red"},
                    {"prorate_partial_discounts": "yes"}):
            with pytest.raises(VendorError):
                update_vendor(uow.session, **bad)
        uow.commit()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Vendor)) == 1
        vendor = get_vendor(s)
        assert (vendor.name, vendor.website) == ("Northwind", "https://northwind.example")
        assert vendor.short_pay_label("damaged") == "Damaged"
        assert vendor.short_pay_label("unknown") == "unknown"
        # 03:30 UTC on 2 March is still 1 March in Chicago.
        assert local_today(vendor, dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)) == \
            dt.date(2026, 3, 1)
