"""Opaque page cursors for keyset-paginated lists: JSON in URL-safe base64, no padding.

A list puts the sort key of a page's last (or first) row in its "next" ("previous")
link; :func:`encode` turns the key's JSON values into the token, :func:`decode`
back. A token that is not one of ours decodes to None; each list then checks the
values' types itself, so a tampered cursor is ignored, never trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def encode(value: Any) -> str:
    """Return the token of ``value`` (anything JSON can hold)."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None) -> Any:
    """Return the value a token holds, or None if there is none or it is not a token."""
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
