"""Plaid access tokens at rest: encrypted with the configured key, unreadable with another."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from portal.config import Config
from portal.core import secrets

TOKEN = "access-sandbox-7c2f0e3a-5b61-4a1e-9f0a-2f1e8c9d0b11"


def test_a_token_is_encrypted_and_comes_back():
    config = Config(bank_token_key=Fernet.generate_key().decode())
    stored = secrets.encrypt(config, TOKEN)
    assert TOKEN.encode() not in stored and b"access-sandbox" not in stored
    assert secrets.decrypt(config, stored) == TOKEN


def test_another_key_cannot_read_it():
    stored = secrets.encrypt(Config(bank_token_key=Fernet.generate_key().decode()), TOKEN)
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(Config(bank_token_key=Fernet.generate_key().decode()), stored)


def test_altered_bytes_are_refused():
    config = Config(bank_token_key=Fernet.generate_key().decode())
    stored = bytearray(secrets.encrypt(config, TOKEN))
    stored[-5] ^= 1
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(config, bytes(stored))


def test_keys_rotate_new_first():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = secrets.encrypt(Config(bank_token_key=old), TOKEN)
    both = Config(bank_token_key=f"{new}, {old}")
    rotated = secrets.rotate(both, stored)
    assert secrets.decrypt(Config(bank_token_key=new), rotated) == TOKEN


def test_without_a_key_it_is_derived_from_the_secret_key_not_equal_to_it():
    one = Config(secret_key="s" * 64)
    stored = secrets.encrypt(one, TOKEN)
    assert secrets.decrypt(Config(secret_key="s" * 64), stored) == TOKEN
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(Config(secret_key="t" * 64), stored)


def test_a_malformed_key_is_a_clear_error():
    with pytest.raises(secrets.SecretError, match="Fernet keys"):
        secrets.encrypt(Config(bank_token_key="not-a-key"), TOKEN)
