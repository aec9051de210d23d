"""The benchmark code cannot rot: the generator, the local server and one scenario, tiny.

Three feeds and a handful of pages are generated and served on 127.0.0.1; a real
``bench.ourcycle`` child runs news-monitor's first, steady and new-items cycles against
them and the report renders. Nothing here times anything against a goal.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import feedparser

from bench import summary
from bench.generate import generate, with_new_items
from bench.report import render_rows, render_targets
from bench.scenarios import Settings, run_cycles
from bench.server import Site, serve


def test_same_seed_same_bytes_and_pages_in_size() -> None:
    one = generate("http://127.0.0.1:1", feeds=3, items=10, pages=13)
    two = generate("http://127.0.0.1:1", feeds=3, items=10, pages=13)
    assert one.corpus.feeds == two.corpus.feeds and one.corpus.pages == two.corpus.pages
    sizes = [len(page) for page in one.corpus.pages.values()]
    assert min(sizes) >= 40_000 and max(sizes) <= 130_000
    assert b"AliExpress Russland" in one.corpus.pages["/artikel/0.html"]
    parsed = feedparser.parse(one.corpus.feeds["/feeds/0.xml"])
    assert len(parsed.entries) == 10
    assert parsed.entries[0].link.startswith("http://127.0.0.1:1/artikel/")


def test_new_version_has_a_tenth_new_items_on_new_pages() -> None:
    gen = generate("http://127.0.0.1:1", feeds=2, items=20, pages=10)
    nxt = with_new_items(gen, 0.1)
    old = {e.id for e in feedparser.parse(gen.corpus.feeds["/feeds/0.xml"]).entries}
    new = feedparser.parse(nxt.feeds["/feeds/0.xml"]).entries
    fresh = [e for e in new if e.id not in old]
    assert len(new) == 20 and len(fresh) == 2
    assert all(e.link.endswith(("/artikel/10.html",)) for e in fresh)


def test_server_answers_304_to_its_etag() -> None:
    site = Site()
    site.publish({"/feed.xml": (b"<rss/>", "application/rss+xml")})
    with serve(site) as server:
        with urllib.request.urlopen(server.base_url + "/feed.xml") as reply:
            etag = reply.headers["ETag"]
            assert reply.read() == b"<rss/>"
        request = urllib.request.Request(server.base_url + "/feed.xml",
                                         headers={"If-None-Match": etag})
        try:
            urllib.request.urlopen(request)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
    assert status == 304 and site.counts == {200: 1, 304: 1}


def test_one_scenario_with_three_feeds(tmp_path: Path) -> None:
    site = Site()
    with serve(site) as server:
        gen = generate(server.base_url, feeds=3, items=4, pages=3)
        results = run_cycles(site, gen.corpus, with_new_items(gen, 0.25), 1, tmp_path,
                             Settings(workers=1, concurrency=4))
    phases = results[0]["phases"]
    assert phases["first"]["outcomes"]["ok"] == 3
    assert 0 < phases["first"]["outcomes"]["new_entries"] <= 12
    assert results[0]["requests"]["first+steady"][304] == 3
    assert phases["steady"]["outcomes"] == {"not_modified": 3, "new_entries": 0, "matches": 0,
                                            "deltas": 0, "articles": 0}
    assert 0 < phases["new"]["outcomes"]["new_entries"] <= 3
    assert phases["first"]["stages"]["calls"]["match"] > 0
    assert phases["first"]["cpu_children_s"] >= 0 and results[0]["idle"]["memory"]["rss"] > 20
    assert results[0]["pool_start_cpu_s"] > 0     # the forkserver's imports, before the cycle
    bare = {lib: [{"cpu_s": cpu, "wall_s": cpu, "documents": 3, "when": when}
                  for cpu, when in ((1.0, "before"), (1.5, "after"))]
            for lib in ("feedparser", "trafilatura")}
    raw = {"feeds": 3, "bare": bare, "ours": results,
           "rss2email": [], "rss2email_error": "skipped"}
    table = "\n".join(render_rows(summary.rows(raw)) + render_targets(summary.targets(raw)))
    assert "first cycle (all new)" in table and "NOT MEASURED" in table
    assert "worker pool start before it, CPU (s; not counted)" in table
    drift = [line for line in table.splitlines() if "floor before / after" in line]
    assert drift and drift[0].endswith(" 2.00 / 3.00 s")   # both libraries: 1+1, 1.5+1.5


def test_the_installed_service_is_measured_from_outside(tmp_path: Path) -> None:
    """``bench.service`` starts the real ``news-monitor run`` on a tiny corpus and reads its
    tree's memory once the worker pool stopped; the report shows it."""
    from bench import service

    site = Site()
    with serve(site) as server:
        gen = generate(server.base_url, feeds=3, items=5, pages=4)
        found = service.run(site, gen.corpus, tmp_path / "service", Settings(workers=1))
    assert "error" not in found, found.get("error")
    assert found["peak_rss_mb"] >= found["idle_rss_mb"] > 30
    names = [p["name"] for p in found["idle_processes"]]
    assert "forkserver" in names and len(names) >= 2      # the service, its forkserver, ...
    assert site.counts[200] >= 3 + 4                  # every feed and every page was fetched
    rows = "\n".join(render_rows(summary.service_rows({"service": found})))
    assert "the service as installed" in rows and "peak RSS" in rows and "forkserver" in rows
