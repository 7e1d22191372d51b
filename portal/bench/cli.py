"""``portal bench ...``: benchmarks that print one JSON object each."""

from __future__ import annotations

import json
from contextlib import nullcontext

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, text

from portal.bench import ledger as ledger_bench
from portal.bench import pages as pages_bench
from portal.bench import pgbench
from portal.bench.loadgen import LoadError
from portal.bench.scratch import ScratchError, scratch_database


@click.group("bench")
def bench_group() -> None:
    """Measure the portal on the configured database server."""


@bench_group.command("ledger")
@click.option("--postings", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Payments to start and settle, one unit of work each.")
@click.option("--workers", type=click.IntRange(min=1), default=8, show_default=True,
              help="Concurrent workers, each on its own thread and connection.")
@click.option("--invoices-per-customer", type=click.IntRange(min=1), default=20,
              show_default=True, help="Invoices seeded per customer.")
@click.option("--scratch/--no-scratch", default=True, show_default=True,
              help="Run in a scratch database made beside the configured one and dropped "
                   "afterwards (--no-scratch: in the configured database itself, which must "
                   "be migrated and hold no ledger entries but the benchmark's).")
@click.option("--pgbench/--no-pgbench", "with_pgbench", default=True, show_default=True,
              help="On PostgreSQL, also run pgbench TPC-B with as many clients, if on PATH.")
@click.option("--pgbench-scale", type=click.IntRange(min=1), default=None,
              help="pgbench scale factor [default: the number of workers].")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the random payment mix.")
@with_appcontext
def bench_ledger(postings: int, workers: int, invoices_per_customer: int, scratch: bool,
                 with_pgbench: bool, pgbench_scale: int | None, seed: int) -> None:
    """Post payment settlements concurrently, check the ledger, print the figures as JSON."""
    url = current_app.config["PORTAL"].database_url
    options = ledger_bench.LedgerBenchOptions(postings=postings, workers=workers,
                                              invoices_per_customer=invoices_per_customer,
                                              seed=seed)
    try:
        place = scratch_database(url) if scratch else nullcontext(url)
        with place as bench_url:
            if not scratch:
                _refuse_real_ledger(bench_url)
            result = ledger_bench.run(bench_url, options)
    except ScratchError as exc:
        raise click.ClickException(str(exc)) from exc
    figures = ledger_bench.as_json(result)
    figures["database"]["scratch"] = scratch
    if with_pgbench and result.dialect == "postgresql" and pgbench.pgbench_path():
        try:
            reference = pgbench.run_tpcb(
                url, clients=workers, scale=pgbench_scale or workers,
                transactions_per_client=max(1, -(-postings // workers)))
        except (pgbench.PgbenchError, ScratchError) as exc:
            raise click.ClickException(str(exc)) from exc
        figures["pgbench_tps"] = round(reference.tps, 1)
        figures["ratio"] = round(result.postings_per_s / reference.tps, 3)
        figures["pgbench"] = {"scale": reference.scale, "clients": reference.clients,
                              "threads": reference.threads,
                              "transactions": reference.transactions}
    click.echo(json.dumps(figures))
    if result.check != "ok":
        raise SystemExit(1)


@bench_group.command("pages")
@click.option("--invoices", type=click.IntRange(min=10), default=100_000, show_default=True,
              help="Invoices of the big customer.")
@click.option("--small-invoices", type=click.IntRange(min=10), default=1_000,
              show_default=True, help="Invoices of the small customer (the growth baseline).")
@click.option("--workers", type=click.IntRange(min=1), default=pages_bench.default_workers,
              show_default="2 per CPU core", help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads per gunicorn worker (gthread: kept-alive connections).")
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True,
              help="Concurrent kept-alive connections of the load generator.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds measured per page.")
@click.option("--warmup", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds of load before each page's measurement starts.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the generated invoices.")
@with_appcontext
def bench_pages(invoices: int, small_invoices: int, workers: int, threads: int,
                concurrency: int, duration: float, warmup: float, seed: int) -> None:
    """Serve the invoice pages with gunicorn on a seeded scratch database, load them, print JSON."""
    url = current_app.config["PORTAL"].database_url
    options = pages_bench.PagesBenchOptions(
        invoices=invoices, small_invoices=small_invoices, workers=workers, threads=threads,
        concurrency=concurrency, duration=duration, warmup=warmup, seed=seed)
    try:
        with scratch_database(url) as bench_url:
            result = pages_bench.run(bench_url, options)
    except (ScratchError, pages_bench.BenchError, LoadError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(pages_bench.as_json(result)))
    if result.errors or result.check != "ok":
        raise SystemExit(1)


def _refuse_real_ledger(url: str) -> None:
    """Refuse to write bench data into a ledger that holds real entries (it is append-only)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            real = conn.execute(text(
                "SELECT id FROM ar_journal_entries WHERE source <> :bench LIMIT 1"),
                {"bench": ledger_bench.SOURCE}).first()
    finally:
        engine.dispose()
    if real is not None:
        raise click.ClickException(
            "the configured database holds real ledger entries; the journal is append-only, "
            "so --no-scratch runs only on a database made for benchmarking")
