"""Deltas end to end: "what is new, what changed, and nothing twice", against a local news
site and a real SQLite file, driven through the real pipeline in-process.

One outlet (Wirtschaftskurier, served as ``localhost``) carries the story in its headline
feed and in its company feed (links with utm_ parameters); a second outlet (Ostmarkt, served
as ``127.0.0.1``) runs the wire copy under its own headline.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from monitor.app.wiring import App, open_app
from monitor.config.model import load_config
from monitor.deltas.diff import short_diff
from monitor.models import Delta
from monitor.pipeline.articles import EntryResult
from monitor.pipeline.feed import FeedOutcome
from tests.conftest import NewsSite, write_config
from tests.newsroom import (
    LAYOFFS,
    LAYOFFS_RESTAMPED,
    LAYOFFS_WITH_JV,
    OTHER,
    WIRE_LAYOFFS,
    Item,
    Story,
    page,
    rss,
)

T = TypeVar("T")
TOPIC = "alibaba-russland"
STORY_PATH = "/artikel/aliexpress-russland-stellenabbau"
WIRE_PATH = "/wirtschaft/aliexpress-ableger-personalabbau"
HTML = "text/html; charset=utf-8"


class Clock:
    """Real time plus an offset the test moves forward (re-checks are due hours later)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@dataclass
class World:
    """The two outlets on the local server, the config and the state file of one test."""

    site: NewsSite
    tmp_path: Path
    clock: Clock = field(default_factory=Clock)
    extra: str = ""
    feeds: list[dict[str, str]] = field(default_factory=list)

    @property
    def wk(self) -> str:           # Wirtschaftskurier, the first outlet
        return self.site.url("").rstrip("/")

    @property
    def om(self) -> str:           # Ostmarkt, the second outlet: another host name
        return self.wk.replace("localhost", "127.0.0.1")

    @property
    def db(self) -> Path:
        return self.tmp_path / "state" / "monitor.db"

    def feed(self, name: str, path: str) -> None:
        self.feeds.append({"name": name, "url": self.site.url(path)})

    def config(self) -> Path:
        return write_config(self.tmp_path, self.feeds, extra=self.extra)

    def run(self, job: Callable[[App], Awaitable[T]]) -> T:
        async def main() -> T:
            async with open_app(load_config(self.config(), env={}), clock=self.clock) as app:
                return await job(app)
        return asyncio.run(main())

    def cycle(self) -> list[FeedOutcome]:
        return self.run(lambda app: app.pipeline.run_cycle(due_only=False))

    def recheck(self) -> list[EntryResult]:
        async def job(app: App) -> list[EntryResult]:
            items = app.store.due_rechecks(app.clock())
            return [await app.pipeline.articles.recheck(item) for item in items]
        return self.run(job)

    def events(self) -> list[Delta]:
        async def job(app: App) -> list[Delta]:
            return app.store.events()
        return self.run(job)

    def rows(self) -> dict[str, int]:
        with sqlite3.connect(self.db) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql))


def story_page(world: World, story: Story, *, canonical: bool = True) -> str:
    if canonical:
        story = Story(story.headline, story.paragraphs, story.sidebar, story.comments,
                      canonical=world.wk + STORY_PATH, stamp=story.stamp)
    return page(story)


def publish_outlet(world: World, story: Story = LAYOFFS, *, guid: str = "wk-1") -> None:
    """Wirtschaftskurier: the story page, its headline feed and its company feed (utm links)."""
    world.site.put(STORY_PATH, story_page(world, story), HTML)
    world.site.put("/artikel/dax", page(OTHER), HTML)
    world.site.put("/feed.xml", rss(world.wk, "Wirtschaftskurier", [
        Item(story.headline, STORY_PATH, "Das Gemeinschaftsunternehmen baut Personal ab.",
             guid=guid),
        Item(OTHER.headline, "/artikel/dax", "Anleger erleichtert.", guid="wk-2"),
    ]))
    world.site.put("/unternehmen/alibaba.xml", rss(world.wk, "Wirtschaftskurier: Alibaba", [
        Item(story.headline, STORY_PATH + "?utm_source=rss&utm_medium=unternehmen"
             "&utm_campaign=alibaba", "Stellenabbau bei AliExpress Russland.", guid="wk-a-77"),
    ]))


def publish_wire(world: World, *, now: datetime | None = None) -> None:
    """Ostmarkt: the wire copy under its own headline, on another host."""
    world.site.put(WIRE_PATH, page(WIRE_LAYOFFS, site="Ostmarkt"), HTML)
    world.site.put("/ostmarkt/rss", rss(world.om, "Ostmarkt", [
        Item(WIRE_LAYOFFS.headline, WIRE_PATH, "Personalabbau beim russischen AliExpress.",
             guid="om-4711")], now=now))


def three_ways(world: World) -> None:
    world.feed("Wirtschaftskurier", "/feed.xml")
    world.feed("Wirtschaftskurier Alibaba", "/unternehmen/alibaba.xml")
    world.feed("Ostmarkt", "/ostmarkt/rss")
    publish_outlet(world)
    publish_wire(world)


def test_one_story_three_ways_is_one_article_one_new_event_one_cluster(
        site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    three_ways(world)
    outcomes = world.cycle()            # all three feeds in one cycle, concurrently
    assert sorted(o.status for o in outcomes) == ["ok", "ok", "ok"], outcomes
    articles = world.query("SELECT url, cluster_id FROM articles ORDER BY id")
    urls = [a[0] for a in articles]
    assert sorted(urls) == sorted([world.wk + STORY_PATH, world.wk + "/artikel/dax",
                                   world.om + WIRE_PATH])
    story_id = world.query(f"SELECT id FROM articles WHERE url = '{world.wk + STORY_PATH}'")
    linked = world.query(f"SELECT count(*) FROM entries WHERE article_id = {story_id[0][0]}")
    assert linked == [(2,)]             # headline feed and company feed: one article
    clusters = {c for u, c in articles if u != world.wk + "/artikel/dax"}
    assert len(clusters) == 1           # the wire copy joined the outlet's story
    [event] = world.events()
    assert (event.kind, event.topic, event.cluster_size) == ("new", TOPIC, 2)
    others = {"Wirtschaftskurier", "Wirtschaftskurier Alibaba", "Ostmarkt"} - {event.source}
    assert set(event.also_reported_by) <= others and event.also_reported_by


def test_same_inputs_processed_twice_add_no_rows(site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    three_ways(world)
    world.cycle()
    before = world.rows()
    assert before["events"] == 1 and before["articles"] == 3
    publish_outlet(world)               # the same bytes again, under new ETags: no 304
    publish_wire(world)
    outcomes = world.cycle()
    assert [o.new_entries for o in outcomes] == [0, 0, 0]
    world.clock.advance(timedelta(hours=1, minutes=1))
    assert world.recheck()              # the same page again: nothing to keep
    after = world.rows()
    assert after == before


def test_material_edit_is_one_updated_event_with_its_diff(site: NewsSite,
                                                          tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world)
    world.cycle()
    site.put(STORY_PATH, story_page(world, LAYOFFS_WITH_JV), HTML)
    world.clock.advance(timedelta(minutes=50))
    assert world.recheck() == []                   # not due before the first hour
    world.clock.advance(timedelta(minutes=11))
    [result] = world.recheck()
    assert result.deltas == 1
    updated = [e for e in world.events() if e.kind == "updated"]
    [event] = updated
    assert event.diff is not None and event.topic == TOPIC
    added = " ".join(text for op, text in event.diff.segments if op == "+")
    assert "MegaFon" in added and "Russische Direktinvestitionsfonds RDIF" in added
    assert world.rows()["revisions"] == 3          # story v1, story v2, the Dax report
    assert "[+Zum Gemeinschaftsunternehmen gehören" in short_diff(event.diff)
    world.clock.advance(timedelta(hours=5))        # the next re-check: no change, no event
    [again] = world.recheck()
    assert again.status == "not_modified"
    assert site.hits(STORY_PATH)[-1].get("If-None-Match")
    assert len(world.events()) == 2


SMALL_EDIT = Story(LAYOFFS.headline, [LAYOFFS.paragraphs[0], LAYOFFS.paragraphs[1].replace(
    "deutlich gesunken", "stark gesunken"), *LAYOFFS.paragraphs[2:]])


@pytest.mark.parametrize("edited", [LAYOFFS_RESTAMPED, SMALL_EDIT], ids=["restamped", "small"])
def test_cosmetic_or_small_edit_keeps_a_revision_and_raises_no_event(
        site: NewsSite, tmp_path: Path, edited: Story) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world)
    world.cycle()
    site.put(STORY_PATH, story_page(world, edited), HTML)
    world.clock.advance(timedelta(hours=1, minutes=1))
    [result] = world.recheck()
    assert result.deltas == 0
    assert world.rows()["revisions"] == 3          # the changed text is kept ...
    assert [e.kind for e in world.events()] == ["new"]   # ... but nobody hears of it


def test_edit_of_a_copy_that_attached_to_an_alerted_story_is_an_update(
        site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Ostmarkt", "/ostmarkt/rss")
    publish_wire(world)
    world.cycle()                                   # the wire copy comes first: "new"
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world)
    world.cycle()                                   # the outlet's story attaches: nothing
    assert [(e.kind, e.source, e.cluster_size) for e in world.events()] == [
        ("new", "Ostmarkt", 2)]
    site.put(STORY_PATH, story_page(world, LAYOFFS_WITH_JV), HTML)
    world.clock.advance(timedelta(hours=1, minutes=1))
    world.recheck()
    [updated, new] = world.events()
    assert (updated.kind, updated.source, updated.url) == (
        "updated", "Wirtschaftskurier", world.wk + STORY_PATH)
    assert (new.kind, new.source) == ("new", "Ostmarkt")
    assert updated.diff is not None and "MegaFon" in short_diff(updated.diff)


def test_wire_copy_after_the_cluster_window_is_news_again(site: NewsSite,
                                                          tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    world.feed("Ostmarkt", "/ostmarkt/rss")
    publish_outlet(world)
    world.cycle()
    world.clock.advance(timedelta(hours=73))
    publish_wire(world, now=world.clock())
    world.cycle()
    events = world.events()
    assert [(e.kind, e.source, e.cluster_size) for e in events] == [
        ("new", "Ostmarkt", 1), ("new", "Wirtschaftskurier", 1)]


def test_feed_entry_change_rechecks_the_article(site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world)
    world.cycle()
    schedule = world.query("SELECT next_check_at, check_stage FROM articles")
    publish_outlet(world, LAYOFFS_WITH_JV)
    site.put("/feed.xml", site.resources["/feed.xml"].body.decode().replace(
        "Das Gemeinschaftsunternehmen baut Personal ab.",
        "Das Gemeinschaftsunternehmen baut Personal ab; Partner sortieren sich neu."))
    world.clock.advance(timedelta(minutes=20))
    world.cycle()
    assert sorted(e.kind for e in world.events()) == ["new", "updated"]
    # an unscheduled look keeps the re-check schedule counted from first seen
    assert world.query("SELECT next_check_at, check_stage FROM articles") == schedule


def test_link_that_differs_from_the_page_canonical_is_the_same_article(
        site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    world.feed("Wirtschaftskurier mobil", "/mobil/feed.xml")
    publish_outlet(world)
    site.put("/mobil" + STORY_PATH, story_page(world, LAYOFFS), HTML)   # canonical: the story
    site.put("/mobil/feed.xml", rss(world.wk, "Wirtschaftskurier mobil", [
        Item(LAYOFFS.headline, "/mobil" + STORY_PATH, "Personalabbau.", guid="m-1")]))
    world.cycle()
    assert world.query("SELECT count(*) FROM articles") == [(2,)]
    assert world.query("SELECT count(DISTINCT article_id) FROM entries "
                       "WHERE link LIKE '%stellenabbau%'") == [(1,)]
    assert [e.kind for e in world.events()] == ["new"]


def test_feed_whose_guids_change_on_every_poll_raises_nothing_new(site: NewsSite,
                                                                  tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world, guid="wk-1-poll-1")
    world.cycle()
    before = world.rows()
    for poll in (2, 3, 4):
        publish_outlet(world, guid=f"wk-1-poll-{poll}")
        [outcome] = world.cycle()
        assert outcome.new_entries == 0
    assert world.query("SELECT guid_unstable FROM feeds") == [(1,)]
    assert world.rows() == before
    assert len(world.events()) == 1


def test_pruned_article_reappearing_never_alerts_again(site: NewsSite, tmp_path: Path) -> None:
    world = World(site, tmp_path)
    world.feed("Wirtschaftskurier", "/feed.xml")
    publish_outlet(world)
    world.cycle()

    async def prune(app: App) -> dict[str, int]:
        return app.store.prune(app.clock() + timedelta(minutes=1))
    counts = world.run(prune)
    assert counts["articles"] == 2 and world.rows()["articles"] == 0
    assert world.rows()["events"] == 1             # not in a sent digest: kept
    publish_outlet(world)
    [outcome] = world.cycle()
    assert outcome.new_entries == 0
    assert world.rows()["articles"] == 0 and len(world.events()) == 1
