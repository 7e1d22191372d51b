"""Passwords (argon2id) and random tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

# Argon2id parameter sets, chosen by PORTAL_PASSWORD_HASH:
# "rfc9106" is RFC 9106's second recommended option (64 MiB, t=3, p=4);
# "owasp" is OWASP's minimum for argon2id (19 MiB, t=2, p=1): still a secure
# choice, and several times faster, so the test suite uses it. Hashes made
# with other parameters are upgraded at the next sign-in (needs_rehash).
PROFILES = {
    "rfc9106": {"time_cost": 3, "memory_cost": 65536, "parallelism": 4},
    "owasp": {"time_cost": 2, "memory_cost": 19456, "parallelism": 1},
}


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher(type=Type.ID, **PROFILES[profile])


@cache
def _dummy_hash(profile: str) -> str:
    # Verified against when the e-mail is unknown, so that both cases cost the same.
    return _hasher_for(profile).hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    profile = current_app.config["PORTAL"].password_hash if has_app_context() else "rfc9106"
    return _hasher_for(profile), profile

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher()[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether ``password`` matches; costs the same when there is no hash."""
    hasher, profile = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(profile), password) \
            and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than today's."""
    return _hasher()[0].check_needs_rehash(password_hash)


def password_problem(password: str, email: str = "") -> str | None:
    """Return why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if email and password.lower() == email.lower():
        return "Do not use your e-mail address as your password."
    if len(set(password)) < 5:
        return "Use a less repetitive password."
    return None


def new_token() -> str:
    """Return a new random token with 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
