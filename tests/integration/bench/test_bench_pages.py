"""``portal bench pages``: every page measured without errors, one JSON object, no trace left.

A small run (a few hundred invoices, one second per page, two workers) through
the CLI: the real gunicorn, the real sign-in, the real pages. No assertion is
about speed: only that the figures exist, are consistent, and are computed.
"""

from __future__ import annotations

import json

import pytest

from portal.bench.pages import TARGET_P95_MS, TARGET_PAGES, TARGET_RATIO
from tests.integration.bench.test_bench_ledger import journal_size, scratch_leftovers

PAGES = ("list_first", "list_deep", "list_search", "list_filter", "detail",
         "small_list_first", "small_detail", "bare")


def test_bench_pages_loads_every_page_and_prints_its_figures(app, runner, database_url):
    before = scratch_leftovers(database_url)
    result = runner.invoke(args=["bench", "pages", "--invoices", "300", "--small-invoices",
                                 "40", "--workers", "2", "--threads", "2", "--concurrency",
                                 "4", "--duration", "1", "--warmup", "0.2"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)  # the whole of stdout is one object

    assert figures["benchmark"] == "pages" and figures["check"] == "ok"
    assert figures["errors"] == 0
    settings = figures["settings"]
    assert (settings["workers"], settings["threads"], settings["concurrency"]) == (2, 2, 4)
    assert settings["invoices"]["big"] == 300 and settings["invoices"]["small"] == 40
    assert settings["database"]["dialect"] == app.extensions["portal.db"].engine.dialect.name

    pages = figures["pages"]
    assert set(pages) == set(PAGES)
    bare = pages["bare"]["req_per_s"]
    for name, page in pages.items():
        assert page["requests"] > 0 and page["errors"] == 0, name
        assert 0 < page["p50_ms"] <= page["p95_ms"] <= page["p99_ms"], name
        assert page["req_per_s"] == pytest.approx(page["requests"] / 1.0, abs=0.1)
        assert page["ratio_to_bare"] == pytest.approx(page["req_per_s"] / bare, abs=0.002)

    targets = {(t["page"], t["metric"]): t for t in figures["targets"]}
    assert set(targets) == {(p, m) for p in TARGET_PAGES for m in ("p95_ms", "ratio_to_bare")}
    for (page, metric), target in targets.items():
        value = pages[page][metric]
        assert target["value"] == value
        assert target["met"] is (value <= TARGET_P95_MS if metric == "p95_ms"
                                 else value >= TARGET_RATIO)
    assert figures["targets_met"] is all(t["met"] for t in figures["targets"])

    growth = figures["growth"]
    assert growth["list_first"]["big"]["p95_ms"] == pages["list_first"]["p95_ms"]
    assert growth["detail"]["small"]["p50_ms"] == pages["small_detail"]["p50_ms"]
    assert growth["list_first"]["small"]["invoices"] == 40

    # It ran in a scratch database, dropped afterwards: the configured one is untouched.
    assert journal_size(app) == 0
    assert scratch_leftovers(database_url) == before
