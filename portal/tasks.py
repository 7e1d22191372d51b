"""Background work: run in-process by default, by Celery workers when configured.

Tasks are plain functions registered by name; :func:`enqueue` runs them at
once in this process (the embedded set-up), or sends them to Celery when
``PORTAL_CELERY_BROKER_URL`` is set. Both paths call the same function with
the same arguments, inside an app context, so tests of the in-process path
test the code Celery runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

log = logging.getLogger("portal.tasks")

_REGISTRY: dict[str, Callable[..., None]] = {}


def task(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a function as the task ``name``."""
    def decorator(fn: Callable[..., None]) -> Callable[..., None]:
        _REGISTRY[name] = fn
        return fn
    return decorator


def run(name: str, **kwargs) -> None:
    """Run the task ``name`` now, in this process."""
    _REGISTRY[name](**kwargs)


def enqueue(name: str, **kwargs) -> None:
    """Run task ``name`` in-process, or hand it to Celery when a broker is configured."""
    if name not in _REGISTRY:
        raise KeyError(f"no task named {name!r}")
    celery = current_app.extensions.get("portal.celery")
    if celery is None:
        run(name, **kwargs)
    else:
        celery.send_task(f"portal.{name}", kwargs=kwargs)


def make_celery(app: Flask):
    """Return a Celery app whose tasks run the registered functions in ``app``'s context."""
    from celery import Celery

    celery = Celery("portal", broker=app.config["PORTAL"].celery_broker_url)
    celery.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                       broker_connection_retry_on_startup=True)
    for name, fn in _REGISTRY.items():
        def runner(_fn=fn, **kwargs) -> None:
            with app.app_context():
                _fn(**kwargs)
        celery.task(name=f"portal.{name}", bind=False)(runner)
    return celery


@task("send_email")
def _send_email(to: str, subject: str, text: str, html: str) -> None:
    from portal.notifications.mail import Email, deliver

    deliver(Email(to=to, subject=subject, text=text, html=html))
