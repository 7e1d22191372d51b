"""Protections every page gets: CSRF, security headers, rate limiting.

Content-Security-Policy allows only this site; a view that embeds Stripe.js
or Plaid Link adds their origins with :func:`allow_payment_origins`.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[],
                  headers_enabled=True)

# Stripe.js and Plaid Link, as their docs list them:
# https://docs.stripe.com/security/guide#content-security-policy
# https://plaid.com/docs/link/web/#content-security-policy
PAYMENT_ORIGINS = {
    "script-src": ["https://js.stripe.com", "https://cdn.plaid.com"],
    "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com", "https://cdn.plaid.com"],
    "connect-src": ["https://api.stripe.com", "https://production.plaid.com",
                    "https://sandbox.plaid.com"],
}


def allow_payment_origins(*extra_origins: str) -> None:
    """Let this response load Stripe's and Plaid's scripts and frames (payment pages);
    ``extra_origins`` (the local stand-ins') add to those of earlier calls."""
    g.csp_payment = True
    g.csp_extra_origins = [*g.get("csp_extra_origins", []), *extra_origins]


def _csp() -> str:
    policy = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    if g.get("csp_payment"):
        policy["frame-src"] = []
        for directive, origins in PAYMENT_ORIGINS.items():
            policy[directive] = [*policy[directive], *origins, *g.get("csp_extra_origins", [])]
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _csp())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["PORTAL"].https or request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.endpoint and not request.endpoint.startswith("static"):
        # Pages show people's money: never keep them in shared caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Install CSRF protection, security headers and the rate limiter."""
    config = app.config["PORTAL"]
    app.config.update(
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.https,
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_url,
        RATELIMIT_ENABLED=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(_headers)
