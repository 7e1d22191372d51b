"""``portal bench ledger``: one JSON object, a sound ledger, and no trace left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.bench import pgbench
from portal.bench.ledger import percentile
from portal.ledger.checks import run_checks
from tests import builders


def scratch_leftovers(database_url: str) -> set[str]:
    """Names of benchmark scratch databases (or files) beside ``database_url``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {p.name for p in Path(url.database).parent.glob("portal_bench_*")}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'portal\\_bench\\_%'"))
                .scalars())
    finally:
        engine.dispose()


def journal_size(app) -> int:
    with app.extensions["portal.db"].session() as session:
        return session.execute(text("SELECT count(*) FROM ar_journal_entries")).scalar_one()


def test_bench_ledger_prints_its_figures_as_json_and_the_check_passes(app, runner,
                                                                      database_url):
    before = scratch_leftovers(database_url)
    result = runner.invoke(args=["bench", "ledger", "--postings", "50", "--workers", "2"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)  # the whole of stdout is one object

    assert figures["check"] == "ok"
    assert (figures["postings"], figures["workers"]) == (50, 2)
    assert figures["postings_per_s"] > 0
    latency = figures["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    dialect = make_url(database_url).get_backend_name()
    assert figures["database"]["dialect"] == dialect
    assert figures["database"]["server_version"]
    assert figures["database"]["scratch"] is True
    if dialect == "postgresql" and pgbench.pgbench_path():
        assert figures["pgbench_tps"] > 0
        assert figures["ratio"] == pytest.approx(
            figures["postings_per_s"] / figures["pgbench_tps"], abs=0.002)
        assert figures["pgbench"]["clients"] == 2
    else:
        assert "pgbench_tps" not in figures
    # It ran in a scratch database, dropped afterwards: the configured one is untouched.
    assert journal_size(app) == 0
    assert scratch_leftovers(database_url) == before


def test_bench_ledger_without_scratch_posts_into_the_configured_database(app, runner):
    result = runner.invoke(args=["bench", "ledger", "--postings", "20", "--workers", "2",
                                 "--no-scratch", "--no-pgbench"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["check"] == "ok" and figures["database"]["scratch"] is False
    assert journal_size(app) > 20  # the seeded invoices and the settlements
    with app.extensions["portal.db"].session() as session:
        assert run_checks(session).ok


def test_bench_ledger_without_scratch_refuses_a_real_ledger(app, runner):
    database = app.extensions["portal.db"]
    with database.unit_of_work() as uow:
        builders.invoice(uow.session, builders.customer(uow.session), 100_00)
        uow.commit()
    result = runner.invoke(args=["bench", "ledger", "--postings", "5", "--no-scratch"])
    assert result.exit_code != 0
    assert "holds real ledger entries" in result.output
    assert journal_size(app) == 1


def test_pgbench_tps_is_read_from_its_report():
    report = ("transaction type: <builtin: TPC-B (sort of)>\nscaling factor: 8\n"
              "number of clients: 8\nlatency average = 4.108 ms\n"
              "initial connection time = 12.410 ms\n"
              "tps = 1947.453291 (without initial connection time)\n")
    assert pgbench.parse_tps(report) == pytest.approx(1947.453291)
    with pytest.raises(pgbench.PgbenchError):
        pgbench.parse_tps("pgbench: error: connection refused")


def test_percentiles_are_nearest_rank():
    ordered = [float(n) for n in range(1, 101)]
    assert [percentile(ordered, q) for q in (50, 95, 99)] == [50.0, 95.0, 99.0]
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0
