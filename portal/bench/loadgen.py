"""A small HTTP/1.1 load generator for ``portal bench pages``, on asyncio streams.

Why not a library: the machine the benchmark is meant for has two cores, shared
by gunicorn, the database and this client, so the client must cost little per
request. Writing a prepared ``GET`` on a kept-alive connection and reading the
response by its ``Content-Length`` is a few dozen microseconds of Python, far
below what a page costs the server, and needs no dependency. (``requests`` or a
thread per connection would cost more than the bare endpoint does.)

How a phase runs: ``concurrency`` connections are opened first; each then sends
one request, waits for the whole response, and sends the next, for ``warmup``
seconds (not recorded) and then ``duration`` seconds (recorded): a closed loop,
like ``wrk``. A request counts when it is sent inside the recorded window,
and is waited for even if it ends after it (counting only those that *end*
inside would leave out the slowest requests of a slow page); its latency runs
from the write to the last byte of the body. In a closed loop as many
requests start per second as end, so throughput is the requests counted over
the window's length. Any
status but 200 is an error, and so is a connection that fails (then reopened).

The module also holds the set-up side: signing in through the real form
(:func:`sign_in`, once per customer, as the sign-in form is rate-limited) and
fetching a page once (:func:`fetch`), with :mod:`http.client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CONNECT_TIMEOUT = 10.0
# No response for this long means the server is stuck: fail, do not hang.
RESPONSE_TIMEOUT = 60.0
SESSION_COOKIE = "portal_session"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class LoadError(RuntimeError):
    """The server could not be signed in to or did not serve a page during set-up."""


@dataclass(slots=True)
class PhaseResult:
    """What one phase measured."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    client_cpu_seconds: float = 0.0

    @property
    def requests(self) -> int:
        """Requests (answered with any status, or failed) sent inside the recorded window."""
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        """Responses other than 200, and failed connections."""
        return self.requests - self.statuses.get("200", 0)


@dataclass(frozen=True, slots=True)
class Phase:
    """One page to load: the paths to rotate through and the cookie to send."""

    paths: tuple[str, ...]
    cookie: str = ""
    concurrency: int = 16
    warmup: float = 2.0
    duration: float = 10.0


def request_bytes(host: str, port: int, path: str, cookie: str) -> bytes:
    """Return a complete ``GET`` request for ``path`` on a kept-alive connection."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: portal-bench",
             "Accept: text/html", "Accept-Language: en"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[str, bool]:
    """Read one response; return its status code and whether the server closes after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)[1]
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            close = value.strip().lower() == "close"
    if chunked:
        await _read_chunked(reader)
    elif length:
        await reader.readexactly(length)
    return status, close


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)  # the chunk and its CRLF
        if size == 0:
            return


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(OSError):  # already reset by the server
        await writer.wait_closed()


async def _client(host: str, port: int, requests: list[bytes], offset: int,
                  stream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                  window: tuple[float, float], result: PhaseResult) -> None:
    """Send requests back to back until the window ends; record those sent inside it."""
    record_from, stop_at = window
    reader, writer = stream
    n = offset
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        try:
            if writer is None:
                reader, writer = await _connect(host, port)
            writer.write(requests[n % len(requests)])
            n += 1
            status, close = await asyncio.wait_for(_read_response(reader), RESPONSE_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, IndexError):
            status, close = "connection_error", True
            await asyncio.sleep(0.01)  # a server that is gone: do not spin
        if started >= record_from:
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
        if close:
            await _close(writer)
            writer = None
    await _close(writer)


async def _run_phase(host: str, port: int, phase: Phase) -> PhaseResult:
    requests = [request_bytes(host, port, path, phase.cookie) for path in phase.paths]
    streams = await asyncio.gather(*(_connect(host, port) for _ in range(phase.concurrency)))
    result = PhaseResult(seconds=phase.duration)
    started = time.perf_counter()
    window = (started + phase.warmup, started + phase.warmup + phase.duration)
    cpu_started = time.process_time()
    await asyncio.gather(*(_client(host, port, requests, i * 7, stream, window, result)
                           for i, stream in enumerate(streams)))
    result.client_cpu_seconds = time.process_time() - cpu_started
    return result


def run_phase(host: str, port: int, phase: Phase) -> PhaseResult:
    """Load ``phase.paths`` with ``phase.concurrency`` connections; return what was measured.

    The event loop runs in a thread of its own: the caller's thread may already run
    one (Playwright's sync API does, in a test process), and ``asyncio.run`` refuses
    to start a second loop in a thread that has one.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="loadgen") as pool:
        return pool.submit(asyncio.run, _run_phase(host, port, phase)).result()


# --- set-up: sign in, fetch one page ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """One response read during set-up."""

    status: int
    body: str
    location: str
    headers: dict[str, str] = field(default_factory=dict)


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.msg.get_all("Set-Cookie") or []:
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            jar[name] = morsel.value


def cookie_header(jar: dict[str, str]) -> str:
    """Return a ``Cookie`` header value for the cookies in ``jar``."""
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def fetch(host: str, port: int, path: str, jar: dict[str, str], *, method: str = "GET",
          form: dict[str, str] | None = None) -> Fetched:
    """Send one request with the jar's cookies, keep the cookies it sets, return it."""
    connection = http.client.HTTPConnection(host, port, timeout=RESPONSE_TIMEOUT)
    headers = {"Accept-Language": "en", "User-Agent": "portal-bench"}
    if jar:
        headers["Cookie"] = cookie_header(jar)
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        _cookies(response, jar)
        return Fetched(response.status, text, response.getheader("Location") or "",
                       {name.lower(): value for name, value in response.getheaders()})
    finally:
        connection.close()


def sign_in(host: str, port: int, email: str, password: str) -> str:
    """Sign in through the login form; return the ``Cookie`` header of the session."""
    jar: dict[str, str] = {}
    page = fetch(host, port, "/login", jar)
    token = _CSRF.search(page.body)
    if page.status != 200 or token is None:
        raise LoadError(f"GET /login answered {page.status} without a CSRF token")
    answer = fetch(host, port, "/login", jar, method="POST",
                   form={"csrf_token": token.group(1), "email": email, "password": password,
                         "next": ""})
    if answer.status != 302 or "/login" in answer.location or SESSION_COOKIE not in jar:
        raise LoadError(f"signing in as {email} failed: {answer.status} {answer.location}")
    return cookie_header(jar)


__all__ = ["LoadError", "Phase", "PhaseResult", "fetch", "run_phase", "sign_in"]
