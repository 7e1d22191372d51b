"""The checks on what a payer types about a bank account (pure: no app, no database)."""

from __future__ import annotations

import pytest

from portal.payments import bank_entry
from portal.payments.bank_entry import InvalidEntry

GOOD = {"holder_name": " Acme   Corp ", "account_type": "checking",
        "routing_number": "110000000", "account_number": "000123456789",
        "account_number_again": "000123456789"}


@pytest.mark.parametrize("routing", ["110000000", "021000021", "011000015", "121000358"])
def test_real_routing_numbers_pass_the_aba_check(routing):
    assert bank_entry.aba_checksum_ok(routing)


@pytest.mark.parametrize("routing", ["110000001", "021000022", "000000000", "12345678",
                                     "1234567890", "11000000a", ""])
def test_wrong_routing_numbers_fail_it(routing):
    assert not bank_entry.aba_checksum_ok(routing)


def test_a_good_entry_is_cleaned_and_hides_its_numbers():
    entry = bank_entry.manual_entry(**{**GOOD, "routing_number": "1100-0000 0"})

    assert (entry.holder_name, entry.routing_number, entry.last4) == (
        "Acme Corp", "110000000", "6789")
    assert "000123456789" not in repr(entry) and "110000000" not in repr(entry)


def test_every_bad_field_is_named_at_once():
    with pytest.raises(InvalidEntry) as refused:
        bank_entry.manual_entry(holder_name="", account_type="cd", routing_number="110000001",
                                account_number="12", account_number_again="12")

    assert set(refused.value.errors) == {"holder_name", "account_type", "routing_number",
                                         "account_number"}
    assert "12" not in str(refused.value), "no number in the message"


@pytest.mark.parametrize(("typed", "cents"), [("32", 32), ("0.32", 32), (".32", 32),
                                              ("$0.32", 32), ("0,32", 32), ("0.3", 30),
                                              ("7", 7), ("07", 7), ("0.07", 7), (" 45 ", 45),
                                              ("99", 99), ("1", 1)])
def test_microdeposits_are_read_as_cents(typed, cents):
    assert bank_entry.microdeposit_cents(typed) == cents


@pytest.mark.parametrize("typed", ["0", "100", "1.00", "0.321", "abc", "", None, "-5",
                                   "32 cents", "0.00"])
def test_anything_else_is_not_a_microdeposit(typed):
    assert bank_entry.microdeposit_cents(typed) is None


def test_both_amounts_are_checked():
    assert bank_entry.microdeposit_amounts("0.32", "45") == (32, 45)
    with pytest.raises(InvalidEntry) as refused:
        bank_entry.microdeposit_amounts("x", "")
    assert set(refused.value.errors) == {"amount_1", "amount_2"}


@pytest.mark.parametrize(("typed", "code"), [("SM11AA", "SM11AA"), (" sm11aa ", "SM11AA"),
                                             ("SM-11AA", "SM11AA")])
def test_descriptor_codes(typed, code):
    assert bank_entry.descriptor_code(typed) == code


@pytest.mark.parametrize("typed", ["SM11A", "SM11AAA", "XX11AA", "", None, "SM11A!"])
def test_bad_descriptor_codes(typed):
    with pytest.raises(InvalidEntry):
        bank_entry.descriptor_code(typed)
