"""The vendor sets its own dispute reasons with ``portal vendor set``; customers choose
from them, and a bad list is refused without changing anything."""

from __future__ import annotations

import json

from tests.integration.disputes.conftest import open_dispute, text


def test_the_vendor_sets_its_dispute_reasons_and_customers_choose_from_them(
        app, book, signed_in, runner):
    reasons = [{"code": "late", "label": "Delivered late"},
               {"code": "pricing", "label": "Pricing"}]
    result = runner.invoke(args=["vendor", "set", "dispute_reasons", json.dumps(reasons)])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["vendor", "show"]).stdout
    assert f"dispute_reasons: {json.dumps(reasons)}" in shown
    payer = signed_in()
    form = text(payer.client.get("/invoices/R-1/dispute").get_data(as_text=True))
    assert "Delivered late" in form and "Damaged goods" not in form
    assert open_dispute(payer, reason="damaged", amount="10").status_code == 422
    assert open_dispute(payer, reason="late", amount="10").status_code == 303


def test_a_bad_list_is_refused_and_changes_nothing(app, book, runner):
    for value in ('[{"code": "x"}]', "not json", '[{"code": "a", "label": "A"}, '
                                                  '{"code": "a", "label": "B"}]'):
        result = runner.invoke(args=["vendor", "set", "dispute_reasons", value])
        assert result.exit_code != 0 and "Error" in result.output, value
    shown = runner.invoke(args=["vendor", "show"]).stdout
    assert '"code": "damaged"' in shown  # still the defaults
    result = runner.invoke(args=["vendor", "set", "payers_manage_bank_accounts", "maybe"])
    assert result.exit_code != 0 and "true or false" in result.output
