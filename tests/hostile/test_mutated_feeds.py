"""Mutated feeds: our fixture feeds, damaged thousands of ways, through fetch, parse and a poll.

Each fixture feed is served by the local news site and fetched once through the real
``Fetcher``; then seeded mutations of those bytes (and of their Content-Type) go through
``parse_feed``: every one must give a feed or a ``ParseError``, nothing else. A smaller
number is served mutated and polled through the real pipeline next to a healthy feed: no
exception escapes the poll, every failure is on the feed's store row, and the healthy feed
is untouched. ``NEWS_MONITOR_FULL=1`` raises the counts to 10,000 and 500.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.app.wiring import open_app
from monitor.config.model import load_config
from monitor.errors import ParseError
from monitor.fetch.client import Fetcher, FetchOptions, default_user_agent
from monitor.models import FetchResult
from monitor.parse.feed import parse_feed
from tests.conftest import ROOT, NewsSite
from tests.hostile.helpers import Figures, assert_recorded, full_run, hostile_config, poll_cycle
from tests.hostile.mutator import content_type, mutate
from tests.newsroom import LAYOFFS, OTHER, TRAP, Item, rss

SEED = 20261121
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
TYPES = {".xml": "application/rss+xml; charset=utf-8", ".rdf": "application/rdf+xml"}
SPECIAL_TYPES = {"latin1_header.xml": "application/rss+xml; charset=ISO-8859-1",
                 "atom_handel.xml": "application/atom+xml"}
# Exceptions the mutator found and that are still open (each pinned by a strict xfail test);
# the mutation runs count them apart so that they keep looking for new ones. None are open.
KNOWN_BUGS: dict[str, str] = {}


def newsroom_feed(base: str, age: timedelta = timedelta(hours=1)) -> str:
    return rss(base, "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/aliexpress", "Das Gemeinschaftsunternehmen baut "
             "Personal ab; Alibaba hält die größte Beteiligung.", guid="wk-1", age=age),
        Item(TRAP.headline, "/artikel/wasserstoff", "Industrie stellt Öfen um.", guid="wk-2",
             age=age),
        Item(OTHER.headline, "/artikel/dax", "Anleger erleichtert.", guid="wk-3", age=age)])


def publish_fixtures(site: NewsSite) -> list[str]:
    urls = []
    for path in sorted(FEEDS.glob("*.xml")) + sorted(FEEDS.glob("*.rdf")):
        kind = SPECIAL_TYPES.get(path.name, TYPES[path.suffix])
        urls.append(site.put(f"/fixtures/{path.name}", path.read_bytes(), kind))
    urls.append(site.put("/newsroom.xml", newsroom_feed(site.url("").rstrip("/"))))
    return urls


def fetch_all(urls: list[str]) -> list[FetchResult]:
    options = FetchOptions(user_agent=default_user_agent(), per_host_delay=0,
                           allow_private_hosts=frozenset({"127.0.0.1", "localhost"}))

    async def go() -> list[FetchResult]:
        async with Fetcher(options) as fetcher:
            return [await fetcher.fetch(url) for url in urls]
    return asyncio.run(go())


@dataclass
class Tally:
    """What the mutations did: parsed, refused as ParseError, escaped (with seeds)."""

    parsed: int = 0
    refused: int = 0
    escaped: list[str] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)
    slowest: tuple[float, int] = (0.0, 0)

    def escape(self, seed: int, ops: list[str], exc: Exception) -> None:
        signature = f"{type(exc).__name__}: {exc}"
        if signature in KNOWN_BUGS:
            self.known[signature] = self.known.get(signature, 0) + 1
            return
        last = traceback.extract_tb(exc.__traceback__)[-1]
        self.escaped.append(f"seed={seed} ops={ops} {signature[:200]} at "
                            f"{last.filename}:{last.lineno}")


def parse_one(result: FetchResult, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    body, ops = mutate(result.body, rng)
    headers = dict(result.headers)
    headers["content-type"] = content_type(rng, headers.get("content-type", ""))
    started = time.perf_counter()
    try:
        feed = parse_feed(body, url=result.final_url, headers=headers,
                          fetched_at=result.fetched_at)
    except ParseError as exc:
        assert str(exc), f"seed={seed}: a ParseError without a message"
        tally.refused += 1
    except Exception as exc:  # the property under test: nothing but ParseError escapes
        tally.escape(seed, ops, exc)
    else:
        tally.parsed += 1
        assert all(e.published <= result.fetched_at for e in feed.entries), seed
        assert all(e.key.split(":", 1)[0] in {"guid", "link", "hash"} for e in feed.entries)
    took = time.perf_counter() - started
    tally.slowest = max(tally.slowest, (took, seed))


def test_mutations_through_fetch_and_parse(site: NewsSite, figures: Figures) -> None:
    results = fetch_all(publish_fixtures(site))
    assert all(r.status == 200 and r.body for r in results)
    count = 10_000 if full_run() else 500
    tally = Tally()
    started = time.monotonic()
    for n in range(count):
        seed = SEED + n
        parse_one(results[seed % len(results)], seed, tally)
    figures.record("mutations-parse", inputs=count, parsed=tally.parsed, refused=tally.refused,
                   escaped=len(tally.escaped), known_bug_hits=sum(tally.known.values()),
                   slowest_s=round(tally.slowest[0], 2), slowest_seed=tally.slowest[1],
                   seconds=round(time.monotonic() - started, 1))
    assert tally.parsed + tally.refused + len(tally.escaped) + sum(tally.known.values()) == count
    assert tally.parsed > count // 10 and tally.refused > count // 10  # the mutations bite
    assert not tally.escaped, "\n".join(tally.escaped[:20])
    assert tally.slowest[0] < 10, f"seed {tally.slowest[1]} took {tally.slowest[0]:.1f} s"


def test_channel_guid_without_link_gives_a_feed_or_parse_error() -> None:
    """Found by the mutator, reduced by delta debugging to the bytes below."""
    body = b'<rss version="2.0"><channel><guid<g</guid<item><title>AliExpress</title></item>'
    try:
        feed = parse_feed(body, url="http://127.0.0.1/feed.xml", headers={},
                          fetched_at=datetime.now(UTC))
    except ParseError:
        return
    assert feed.link == ""


async def poll_mutations(config: Path, site: NewsSite, count: int) -> dict[str, int]:
    """Serve ``count`` mutations at /mutiert.xml and poll it next to a healthy feed."""
    seeds = [path.read_bytes() for path in sorted(FEEDS.glob("*.xml"))]
    seeds.append(newsroom_feed(site.url("").rstrip("/")).encode())
    tally = {"ok": 0, "not_modified": 0, "error": 0}
    async with open_app(load_config(config)) as app:
        for n in range(count):
            rng = random.Random(SEED + n)
            body, _ = mutate(rng.choice(seeds), rng)
            site.put("/mutiert.xml", body, content_type(rng, "application/rss+xml"))
            outcomes = {o.feed: o for o in await app.pipeline.run_cycle(due_only=False)}
            states = {s.name: s for s in app.store.feed_states()}
            mutated = outcomes["Mutiert"]
            tally[mutated.status] += 1
            if mutated.status == "error":
                assert_recorded(mutated, states["Mutiert"])
            else:
                assert states["Mutiert"].last_status == mutated.status
            assert outcomes["Stabil"].status in ("ok", "not_modified"), outcomes["Stabil"]
    return tally


def test_mutations_through_the_pipeline(site: NewsSite, tmp_path: Path,
                                        figures: Figures) -> None:
    site.put("/stabil.xml", newsroom_feed(site.url("").rstrip("/"), age=timedelta(days=3)))
    config = hostile_config(tmp_path, [
        {"name": "Mutiert", "url": site.url("/mutiert.xml"), "full_text": False},
        {"name": "Stabil", "url": site.url("/stabil.xml"), "full_text": False}])
    count = 500 if full_run() else 40
    tally = asyncio.run(poll_mutations(config, site, count))
    figures.record("mutations-pipeline", inputs=count, escaped=0, **tally)
    assert sum(tally.values()) == count
    assert tally["error"] and tally["ok"]


def test_entry_flood_is_refused_or_cut_quickly(site: NewsSite, tmp_path: Path) -> None:
    flood = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Flut</title>' \
        + b"<item>" * 30_000 + b"</channel></rss>"
    site.put("/flut.xml", flood)
    cycle = poll_cycle(hostile_config(tmp_path, [
        {"name": "Flut", "url": site.url("/flut.xml"), "full_text": False}]))
    assert cycle.outcomes["Flut"].error_kind != "internal"
    assert cycle.seconds < 1.0, f"one poll took {cycle.seconds:.1f} s"
    assert cycle.peak_growth_mib < 16, f"peak RSS grew by {cycle.peak_growth_mib:.0f} MiB"
