"""Secrets kept at rest, encrypted: Plaid access tokens (and whatever else must be).

Fernet (the ``cryptography`` package: AES-128-CBC with HMAC-SHA256, authenticated,
with a timestamp) with the key from configuration, ``PORTAL_BANK_TOKEN_KEY``: one
or more Fernet keys separated by commas, the first used to encrypt and all tried
to decrypt (MultiFernet), so a key is rotated by putting the new one first and
re-encrypting (``rotate``). Make one with ``python -c "from cryptography.fernet
import Fernet; print(Fernet.generate_key().decode())"``.

Without it the key is derived from ``PORTAL_SECRET_KEY`` (HKDF-SHA256, its own
label), so a development set-up encrypts too; production should set its own, so
that the session-signing key and the token key can be changed apart.

A value that cannot be decrypted (another key, altered bytes) raises
:class:`SecretError`, never returns garbage.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal.config import Config

_DERIVED_LABEL = b"portal bank token key v1"


class SecretError(ValueError):
    """A secret could not be decrypted (wrong key, or the stored bytes were changed)."""


def _derived_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=_DERIVED_LABEL).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def box(config: Config) -> MultiFernet:
    """The Fernet keys of ``config``: ``bank_token_key`` (comma-separated), else derived."""
    keys = [k.strip() for k in config.bank_token_key.split(",") if k.strip()]
    if not keys:
        if not config.secret_key:
            raise SecretError("no PORTAL_BANK_TOKEN_KEY or PORTAL_SECRET_KEY to encrypt with")
        keys = [_derived_key(config.secret_key).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as error:
        raise SecretError("PORTAL_BANK_TOKEN_KEY must be Fernet keys (32 url-safe base64 "
                          "bytes), separated by commas") from error


def encrypt(config: Config, plaintext: str) -> bytes:
    """Encrypt ``plaintext`` with the current key."""
    return box(config).encrypt(plaintext.encode())


def decrypt(config: Config, ciphertext: bytes) -> str:
    """Decrypt what :func:`encrypt` made, with any configured key."""
    try:
        return box(config).decrypt(bytes(ciphertext)).decode()
    except InvalidToken:
        raise SecretError("the stored secret cannot be decrypted with the configured keys") \
            from None


def rotate(config: Config, ciphertext: bytes) -> bytes:
    """Re-encrypt with the first (current) key."""
    try:
        return box(config).rotate(bytes(ciphertext))
    except InvalidToken:
        raise SecretError("the stored secret cannot be decrypted with the configured keys") \
            from None
