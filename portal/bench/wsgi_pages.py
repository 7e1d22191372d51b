"""The WSGI app ``portal bench pages`` serves: the portal, plus one bare route.

The benchmark compares each page's throughput with that of a route that does
nothing (``/_bench/bare``: no database, no session, no template), served by the
same gunicorn, the same workers and the same app, so ``after_request`` hooks
(security headers), the rate limiter's and CSRF's ``before_request`` checks and
the WSGI stack all still run. The ratio then says how much of a page's cost is
the page's own work rather than HTTP, gunicorn and Flask.

The route lives here, not in the product, so no deployment ever serves it:
gunicorn calls ``portal.bench.wsgi_pages:create_bench_app()`` (an app factory,
so importing this module builds nothing) only when the benchmark starts it.
The app reads its settings from the ``PORTAL_*`` environment, like ``wsgi.py``.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from portal.app import create_app

BARE_PATH = "/_bench/bare"
# Names the gunicorn worker that answered, so the benchmark can wait until all have booted.
WORKER_HEADER = "X-Bench-Worker"


def bare() -> Response:
    """Answer with two bytes of plain text and nothing else."""
    return Response("ok", mimetype="text/plain", headers={WORKER_HEADER: str(os.getpid())})


def create_bench_app() -> Flask:
    """Build the portal app for the environment's settings, with the bare route added."""
    application = create_app()
    application.add_url_rule(BARE_PATH, "bench_bare", bare)
    return application

