"""An aiohttp application served on 127.0.0.1 in a daemon thread: how the local stand-ins run.

The local Stripe (:mod:`portal.gateways.localstripe`) and the local Plaid
(:mod:`portal.gateways.localplaid`) are started by tests and ``portal demo``
inside the current process, each on its own event loop in a daemon thread,
bound to a free port (or the one given) before the thread starts, so the
caller knows the port at once. :func:`serve` returns when the server answers,
or raises with what stopped it; :meth:`Served.stop` stops the loop, cancels
what is still pending (webhook deliveries) and ends the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

START_TIMEOUT_SECONDS = 10


@dataclass
class Served:
    """A running server: where it listens, and how to stop it."""

    host: str
    port: int
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT_SECONDS)


def serve(application: Callable[[], web.Application], *, host: str, port: int,
          name: str) -> Served:
    """Serve ``application()`` (built in the server's thread) on ``host``:``port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failures: list[BaseException] = []
    thread = threading.Thread(target=_run, args=(application, loop, sock, ready, failures),
                              name=name, daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT_SECONDS) or failures:
        raise RuntimeError(f"{name} did not start: {failures or 'timeout'}")
    return Served(host, sock.getsockname()[1], loop, thread)


def _run(application: Callable[[], web.Application], loop: asyncio.AbstractEventLoop,
         sock: socket.socket, ready: threading.Event, failures: list[BaseException]) -> None:
    asyncio.set_event_loop(loop)
    runner = web.AppRunner(application(), access_log=None)
    try:
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
    except BaseException as error:  # reported to serve(), which raises
        failures.append(error)
        ready.set()
        return
    ready.set()
    try:
        loop.run_forever()
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()  # pending webhook deliveries
        loop.run_until_complete(runner.cleanup())
        loop.close()
