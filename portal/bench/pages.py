"""The page benchmark: the invoice pages served by gunicorn, under concurrent load.

What it answers: how fast the customer's invoice pages are when served the way
production serves them (gunicorn, several workers, a real database), for a
customer with 100,000 invoices and for one with 1,000 — the list is keyset-
paginated, so a page should cost the same for both — and how that compares
with a route that does nothing, served by the same server.

How (see docs/bench.md, "portal bench pages"):

1. seed the database (:mod:`portal.bench.seed`, through the ledger) and pin the
   server's clock to the day the data was seeded around;
2. start ``gunicorn 'portal.bench.wsgi_pages:create_bench_app()'`` on a free local port
   (``gthread`` workers, so connections are kept alive as behind a proxy),
   configured by ``PORTAL_*`` variables, and wait until every worker answers;
3. sign in once per customer through the real form; fetch every page once and
   check that it is the page asked for;
4. load each page in turn with :mod:`portal.bench.loadgen` (a warm-up, then the
   measured window), the bare route last;
5. stop gunicorn, run the ledger check, and report.

The result carries every figure the JSON shows; targets are computed from the
figures, never assumed.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from portal.bench import loadgen
from portal.bench.ledger import percentile, server_version
from portal.bench.seed import PASSWORD, Seeded, SeedOptions, seed
from portal.bench.wsgi_pages import BARE_PATH, WORKER_HEADER
from portal.config import PROJECT_ROOT
from portal.db import Database
from portal.ledger.checks import run_checks

HOST = "127.0.0.1"
WSGI_APP = "portal.bench.wsgi_pages:create_bench_app()"
# The vendor's zone (seeded) decides "today"; the server's clock is pinned to it.
VENDOR_ZONE = "America/New_York"
BOOT_SECONDS = 60.0
STOP_SECONDS = 15.0
# Targets of the invoice list: p95 latency, and throughput relative to the bare route.
TARGET_P95_MS = 25.0
TARGET_RATIO = 0.4
TARGET_PAGES = ("list_first", "list_deep", "list_search", "list_filter")
# The filtered list: a PO-number prefix search, and overdue invoices over an amount.
SEARCH_QUERY = {"q": "PO-12"}
FILTER_QUERY = {"status": "overdue", "amount_min": "10000"}


class BenchError(RuntimeError):
    """The benchmark could not run (the server did not start, a page was not served)."""


def default_workers() -> int:
    """Two gunicorn workers per core: one computes while the other waits on the database.

    Processes rather than threads, because a page is mostly Python (SQLAlchemy,
    Jinja) and threads of one process share one interpreter lock; ``gthread``
    with one thread still keeps connections alive, as they are behind a proxy.
    """
    return 2 * (os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class PagesBenchOptions:
    """How to run the benchmark."""

    invoices: int = 100_000
    small_invoices: int = 1_000
    workers: int = field(default_factory=default_workers)
    threads: int = 1
    concurrency: int = 16
    duration: float = 10.0
    warmup: float = 2.0
    seed: int = 1


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page to load: its name, whose session, and the paths it rotates through."""

    name: str
    customer: str | None
    paths: tuple[str, ...]
    expect: tuple[str, ...]  # per path: text the page must show when fetched at set-up


@dataclass(frozen=True, slots=True)
class PageResult:
    """One page's figures."""

    spec: PageSpec
    measured: loadgen.PhaseResult

    @property
    def req_per_s(self) -> float:
        """Successful and failed responses per second of the measured window."""
        return self.measured.requests / self.measured.seconds

    def latency_ms(self) -> dict[str, float]:
        """The 50th, 95th and 99th percentile latency, in milliseconds (nearest rank)."""
        ordered = sorted(self.measured.latencies)
        return {f"p{q}_ms": round(percentile(ordered, q) * 1000, 2) for q in (50, 95, 99)}


@dataclass(frozen=True, slots=True)
class PagesBenchResult:
    """The benchmark's figures."""

    options: PagesBenchOptions
    seeded: Seeded
    pages: list[PageResult]
    dialect: str
    server_version: str
    seed_seconds: float
    check: str
    load_average: tuple[float, float]

    @property
    def errors(self) -> int:
        """Errors over every page."""
        return sum(page.measured.errors for page in self.pages)


# --- the pages ---------------------------------------------------------------------------


def _detail(name: str, customer: str, numbers: tuple[str, ...]) -> PageSpec:
    return PageSpec(name, customer, tuple(f"/invoices/{quote(n, safe='')}" for n in numbers),
                    numbers)


def page_specs(seeded: Seeded) -> list[PageSpec]:
    """Return the pages to load, in order; the bare route last."""
    deep = "/invoices?" + urlencode({"after": seeded.deep.cursor})
    return [
        PageSpec("list_first", "big", ("/invoices",), ("INV-B-",)),
        PageSpec("list_deep", "big", (deep,), (seeded.deep.first_number,)),
        PageSpec("list_search", "big", ("/invoices?" + urlencode(SEARCH_QUERY),), ("PO-12",)),
        PageSpec("list_filter", "big", ("/invoices?" + urlencode(FILTER_QUERY),), ("INV-B-",)),
        _detail("detail", "big", seeded.big.detail_numbers),
        PageSpec("small_list_first", "small", ("/invoices",), ("INV-S-",)),
        _detail("small_detail", "small", seeded.small.detail_numbers),
        PageSpec("bare", None, (BARE_PATH,), ("ok",)),  # no session: see docs/bench.md
    ]


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    """Return a local TCP port that is free now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(url: str, instance: Path, today: dt.date) -> dict[str, str]:
    """Return the environment of the gunicorn process: ours, with the bench's settings."""
    return {**os.environ,
            "PORTAL_DATABASE_URL": url,
            "PORTAL_SECRET_KEY": secrets.token_hex(32),
            "PORTAL_INSTANCE_PATH": str(instance),
            "PORTAL_CLOCK": today.isoformat(),
            # Sign-in happens twice; the lighter argon2id set-up keeps it quick.
            "PORTAL_PASSWORD_HASH": "owasp"}


def gunicorn_command(port: int, options: PagesBenchOptions) -> list[str]:
    """Return the command line that serves the bench app."""
    return [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}",
            "--workers", str(options.workers), "--worker-class", "gthread",
            "--threads", str(options.threads), "--keep-alive", "30",
            "--log-level", "warning", "--error-logfile", "-", WSGI_APP]


def _log_tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return "\n".join(lines[-15:])


def _wait_until_served(process: subprocess.Popen, port: int, workers: int,
                       log: Path) -> None:
    """Wait until every worker has answered the bare route (each boots the app itself)."""
    deadline = time.monotonic() + BOOT_SECONDS
    seen: set[str] = set()
    while len(seen) < workers:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"gunicorn: {len(seen)} of {workers} workers answered within "
                             f"{BOOT_SECONDS:.0f} s:\n{_log_tail(log)}")
        try:
            answer = loadgen.fetch(HOST, port, BARE_PATH, {})
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
            continue
        if answer.status == 200:
            seen.add(answer.headers.get(WORKER_HEADER.lower(), ""))
        time.sleep(0.02)


def _stop(process: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (SIGTERM), or kill its process group if it will not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn_server(url: str, options: PagesBenchOptions, today: dt.date) -> Iterator[int]:
    """Serve the bench app on the database at ``url``; yield its port; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="portal-bench-pages-") as folder:
        log = Path(folder) / "gunicorn.log"
        port = free_port()
        with log.open("wb") as output:
            # A session of its own: Ctrl-C reaches only this process, which stops
            # gunicorn in order (before the scratch database is dropped).
            process = subprocess.Popen(
                gunicorn_command(port, options), cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                env=server_environment(url, Path(folder) / "instance", today))
        try:
            _wait_until_served(process, port, options.workers, log)
            yield port
        finally:
            _stop(process)


# --- the run ------------------------------------------------------------------------------


def _probe(port: int, spec: PageSpec, cookie: str) -> None:
    """Fetch the page once; refuse to measure a page that is not the one asked for."""
    jar = dict(part.split("=", 1) for part in cookie.split("; ")) if cookie else {}
    for path, expect in list(zip(spec.paths, spec.expect, strict=True))[:3]:
        answer = loadgen.fetch(HOST, port, path, jar)
        if answer.status != 200:
            raise BenchError(f"{spec.name}: GET {path} answered {answer.status} "
                             f"{answer.location}".rstrip())
        if expect not in answer.body:
            raise BenchError(f"{spec.name}: GET {path} does not show {expect!r}")


def measure(port: int, seeded: Seeded, options: PagesBenchOptions) -> list[PageResult]:
    """Sign in, check every page once, then load each in turn; return their figures."""
    cookies = {name: loadgen.sign_in(HOST, port, customer.email, PASSWORD)
               for name, customer in (("big", seeded.big), ("small", seeded.small))}
    specs = page_specs(seeded)
    for spec in specs:
        _probe(port, spec, cookies[spec.customer] if spec.customer else "")
    results = []
    for spec in specs:
        phase = loadgen.Phase(paths=spec.paths,
                              cookie=cookies[spec.customer] if spec.customer else "",
                              concurrency=options.concurrency, warmup=options.warmup,
                              duration=options.duration)
        results.append(PageResult(spec, loadgen.run_phase(HOST, port, phase)))
    return results


def vendor_today() -> dt.date:
    """Return today's date where the seeded vendor is (the day the clock is pinned to)."""
    return dt.datetime.now(ZoneInfo(VENDOR_ZONE)).date()


def _seed(url: str, options: PagesBenchOptions, today: dt.date) -> tuple[Seeded, str, str, float]:
    database = Database(url)
    try:
        dialect, version = server_version(database)
        started = time.perf_counter()
        seeded = seed(database, SeedOptions(big_invoices=options.invoices,
                                            small_invoices=options.small_invoices,
                                            seed=options.seed), today)
        return seeded, dialect, version, time.perf_counter() - started
    finally:
        database.dispose()


def _check(url: str) -> str:
    database = Database(url)
    try:
        with database.session() as session:
            result = run_checks(session)
    finally:
        database.dispose()
    return "ok" if result.ok else str(result.violation)


def run(url: str, options: PagesBenchOptions) -> PagesBenchResult:
    """Seed the database at ``url``, serve it, load the pages, check the ledger."""
    if min(options.invoices, options.small_invoices, options.workers, options.threads,
           options.concurrency) < 1 or options.duration <= 0 or options.warmup < 0:
        raise ValueError("counts must be at least 1 and the duration positive")
    today = vendor_today()
    seeded, dialect, version, seed_seconds = _seed(url, options, today)
    load_before = os.getloadavg()[0]
    with gunicorn_server(url, options, today) as port:
        pages = measure(port, seeded, options)
    return PagesBenchResult(options=options, seeded=seeded, pages=pages, dialect=dialect,
                            server_version=version, seed_seconds=seed_seconds,
                            check=_check(url), load_average=(load_before, os.getloadavg()[0]))


# --- the report ---------------------------------------------------------------------------


def _page_json(page: PageResult, bare_per_s: float) -> dict:
    measured = page.measured
    figures: dict = {
        "path": page.spec.paths[0] if len(page.spec.paths) == 1
        else f"{page.spec.paths[0]} (and {len(page.spec.paths) - 1} more)",
        "customer": page.spec.customer,
        "requests": measured.requests,
        "errors": measured.errors,
        "req_per_s": round(page.req_per_s, 1),
        **page.latency_ms(),
        "ratio_to_bare": round(page.req_per_s / bare_per_s, 3) if bare_per_s else None,
        "client_cpu_ms_per_request": round(
            measured.client_cpu_seconds * 1000 / max(measured.requests, 1), 3),
    }
    if measured.errors:
        figures["statuses"] = dict(sorted(measured.statuses.items()))
    return figures


def _targets(pages: dict[str, dict]) -> list[dict]:
    targets = []
    for name in TARGET_PAGES:
        p95, ratio = pages[name]["p95_ms"], pages[name]["ratio_to_bare"]
        targets.append({"page": name, "metric": "p95_ms", "target": f"<= {TARGET_P95_MS:g}",
                        "value": p95, "met": p95 <= TARGET_P95_MS})
        targets.append({"page": name, "metric": "ratio_to_bare",
                        "target": f">= {TARGET_RATIO:g}", "value": ratio,
                        "met": ratio is not None and ratio >= TARGET_RATIO})
    return targets


def _growth(pages: dict[str, dict], seeded: Seeded) -> dict:
    growth = {}
    for page, small_page in (("list_first", "small_list_first"), ("detail", "small_detail")):
        big, small = pages[page], pages[small_page]
        growth[page] = {
            "small": {"invoices": seeded.small.invoices, "p50_ms": small["p50_ms"],
                      "p95_ms": small["p95_ms"]},
            "big": {"invoices": seeded.big.invoices, "p50_ms": big["p50_ms"],
                    "p95_ms": big["p95_ms"]},
            "p50_big_over_small": round(big["p50_ms"] / small["p50_ms"], 2)
            if small["p50_ms"] else None,
        }
    return growth


def as_json(result: PagesBenchResult) -> dict:
    """Return the figures as the JSON object ``portal bench pages`` prints."""
    options, seeded = result.options, result.seeded
    bare = next(page for page in result.pages if page.spec.name == "bare")
    pages = {page.spec.name: _page_json(page, bare.req_per_s) for page in result.pages}
    targets = _targets(pages)
    return {
        "benchmark": "pages",
        "settings": {
            "server": "gunicorn", "worker_class": "gthread", "workers": options.workers,
            "threads": options.threads, "cpu_cores": os.cpu_count(),
            "concurrency": options.concurrency, "duration_s": options.duration,
            "warmup_s": options.warmup,
            "database": {"dialect": result.dialect, "server_version": result.server_version},
            "today": seeded.today.isoformat(),
            # The machine's 1-minute load average before and after: a busy machine
            # (other work on the same cores) explains figures that vary between runs.
            "load_average": [round(x, 2) for x in result.load_average],
            "invoices": {"big": seeded.big.invoices, "small": seeded.small.invoices,
                         "other_customers": seeded.other_customers,
                         "per_other_customer": seeded.other_invoices,
                         "big_paid": seeded.big.paid, "big_processing": seeded.big.processing,
                         "deep_page_after": seeded.deep.position,
                         "big_open": seeded.deep.open_invoices},
        },
        "seed_seconds": round(result.seed_seconds, 1),
        "pages": pages,
        "targets": targets,
        "targets_met": all(t["met"] for t in targets),
        "growth": _growth(pages, seeded),
        "errors": result.errors,
        "check": result.check,
    }


__all__ = ["BenchError", "PagesBenchOptions", "PagesBenchResult", "as_json",
           "default_workers", "run"]
