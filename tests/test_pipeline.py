"""One feed through the pipeline against a local server: schedule state, backoff,
Retry-After, baseline on first poll, and failures recorded as data."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.app.wiring import open_app
from monitor.config.model import load_config
from tests.conftest import NewsSite, write_config
from tests.newsroom import LAYOFFS, OTHER, Item, page, rss


def config_for(site: NewsSite, tmp_path: Path, *feeds: str):  # type: ignore[no-untyped-def]
    return load_config(write_config(tmp_path, [
        {"name": name, "url": site.url(f"/{name}.xml"), "interval": "10m"} for name in feeds]),
        env={})


def cycle(config, *, now: datetime | None = None):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        clock = (lambda: now) if now else None
        async with open_app(config, **({"clock": clock} if clock else {})) as app:
            outcomes = await app.pipeline.run_cycle(due_only=False)
            return outcomes, {s.name: s for s in app.store.feed_states()}
    return asyncio.run(run())


def test_retry_after_sets_next_poll_and_backoff_grows_then_resets(site: NewsSite,
                                                                   tmp_path: Path) -> None:
    site.put("/busy.xml", "Wartung", "text/plain", status=503, headers={"Retry-After": "3600"})
    site.put("/broken.xml", "kaputt", "text/plain", status=500)
    config = config_for(site, tmp_path, "busy", "broken")
    before = datetime.now(UTC)
    outcomes, states = cycle(config)
    assert {o.feed: o.status for o in outcomes} == {"busy": "error", "broken": "error"}
    assert states["busy"].next_poll_at >= before + timedelta(seconds=3600)
    assert "503" in (states["busy"].last_error or "")
    waits = []
    for _ in range(3):
        _, states = cycle(config)
        waits.append(states["broken"].next_poll_at - states["broken"].last_polled_at)
    assert states["broken"].consecutive_errors == 4
    assert waits[-1] > waits[0]           # 2, 4, 8 intervals (jittered into the upper half)
    assert waits[-1] >= timedelta(minutes=40)
    site.put("/broken.xml", rss(site.url("").rstrip("/"), "wieder da", []))
    _, states = cycle(config)
    assert states["broken"].consecutive_errors == 0 and states["broken"].last_status == "ok"
    assert states["broken"].next_poll_at - states["broken"].last_polled_at <= timedelta(minutes=11)


def test_first_poll_is_a_baseline_of_old_entries(site: NewsSite, tmp_path: Path) -> None:
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/a2", page(OTHER), "text/html; charset=utf-8")
    site.put("/feed.xml", rss(base, "Kurier", [
        Item(LAYOFFS.headline, "/a1", "Stellenabbau.", guid="1", age=timedelta(days=3)),
        Item(OTHER.headline, "/a2", "Dax fester.", guid="2", age=timedelta(hours=2)),
    ]))
    config = config_for(site, tmp_path, "feed")
    outcomes, states = cycle(config)
    assert outcomes[0].new_entries == 1          # the three-day-old story is baseline
    assert outcomes[0].matches == 0
    assert states["feed"].entries_count == 2 and states["feed"].baseline_done
    assert site.hits("/a1") == []                # baseline articles are not even fetched


def test_one_broken_feed_never_stops_the_others(site: NewsSite, tmp_path: Path) -> None:
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/good.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    site.put("/html.xml", "<html><body>Fehlerseite</body></html>", "text/html")
    config = config_for(site, tmp_path, "good", "html")
    outcomes, states = cycle(config)
    by_name = {o.feed: o for o in outcomes}
    assert by_name["good"].status == "ok" and by_name["good"].matches == 1
    assert by_name["html"].status == "error"
    assert states["html"].last_error == "not a feed: HTML page"


def test_closing_the_app_ends_its_store_thread(site: NewsSite, tmp_path: Path) -> None:
    """A daemon makes a new app on every reload: the old one's store thread must end."""
    site.put("/kurier.xml", rss(site.url("").rstrip("/"), "Kurier", []))
    config = config_for(site, tmp_path, "kurier")

    def store_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("store")]

    async def run() -> tuple[list[str], list[str]]:
        async with open_app(config) as app:
            await app.pipeline.articles.db.run(app.store.feed_states)
            running = store_threads()
        return running, store_threads()

    running, after = asyncio.run(run())
    assert running and not after


def test_an_open_app_exempts_its_start_up_objects_from_collection(site: NewsSite,
                                                                  tmp_path: Path) -> None:
    """While an app is open what start-up built is frozen (full collections skip it); a
    closed app's objects are given back to the collector, so a reload leaks nothing."""
    import gc

    site.put("/kurier.xml", rss(site.url("").rstrip("/"), "Kurier", []))
    config = config_for(site, tmp_path, "kurier")

    async def run() -> int:
        async with open_app(config):
            return gc.get_freeze_count()

    assert asyncio.run(run()) > 10_000
    assert gc.get_freeze_count() == 0


def test_a_cycle_leaves_the_store_and_the_verdict_judge_off_the_event_loop(
        site: NewsSite, tmp_path: Path) -> None:
    """A store call waits for SQLite's write lock (up to its busy timeout) and the judge may
    refit its model: neither may hold the event loop. Every store method a cycle calls (a
    feed that fails, one with a matching story) and the judge run in the store thread."""
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/good.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    site.put("/broken.xml", "kaputt", "text/plain", status=500)
    config = config_for(site, tmp_path, "good", "broken")
    calls: list[tuple[str, str]] = []

    async def run() -> list[str]:
        async with open_app(config) as app:
            trace_store(app.store, calls)
            judge = app.pipeline.articles.judge
            assert judge is not None
            judge.held_back = traced("held_back", judge.held_back, calls)  # type: ignore[method-assign]
            outcomes = await app.pipeline.run_cycle(due_only=False)
            cycle_calls.extend(calls)         # not the app's closing
            return sorted(o.status for o in outcomes)

    cycle_calls: list[tuple[str, str]] = []
    assert asyncio.run(run()) == ["error", "ok"]
    names = {name for name, _ in cycle_calls}
    assert {"claim_due_feeds", "record_poll_failure", "save_outcome", "held_back"} <= names
    on_loop = sorted({name for name, thread in cycle_calls if thread == "MainThread"})
    assert on_loop == []


def test_delivery_leaves_the_store_and_rendering_off_the_event_loop(
        site: NewsSite, tmp_path: Path) -> None:
    """The outbox flush and the hourly summary render mails and record them in a thread:
    the loop never waits for a template or for SQLite's write lock."""
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/good.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    config = config_for(site, tmp_path, "good")
    calls: list[tuple[str, str]] = []

    async def run() -> tuple[int, int]:
        async with open_app(config) as app:
            await app.pipeline.run_cycle(due_only=False)
            render = app.delivery.render_alert
            trace_store(app.store, calls)
            app.delivery.render_alert = traced(  # type: ignore[method-assign]
                "render_alert", render, calls)
            sent = (await app.delivery.flush()).sent
            await app.delivery.send_hourly_summary()
            during = len(calls)
        return sent, during

    sent, during = asyncio.run(run())
    assert sent == 1
    names = {name for name, _ in calls[:during]}
    assert {"claim_pending", "render_alert", "mark_rendered", "mark_sent",
            "claim_job", "finish_job"} <= names
    assert sorted({name for name, thread in calls[:during] if thread == "MainThread"}) == []


def traced(name: str, fn, calls: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """``fn``, noting its name and the calling thread's in ``calls`` on every call."""
    def call(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((name, threading.current_thread().name))
        return fn(*args, **kwargs)
    return call


def trace_store(store: object, calls: list[tuple[str, str]]) -> None:
    """Every public method of ``store`` traced (see ``traced``)."""
    for name in dir(store):
        method = getattr(store, name)
        if not name.startswith("_") and callable(method):
            setattr(store, name, traced(name, method, calls))


def _article_store(config):  # type: ignore[no-untyped-def]
    from monitor.app.wiring import open_store_for

    return open_store_for(config)


def test_a_page_whose_address_was_pruned_is_neither_stored_nor_alerted(
        site: NewsSite, tmp_path: Path) -> None:
    """Pruned articles leave a tombstone; a new link whose page names a pruned article as
    its canonical address is fetched and matched, but nothing is stored, no alert raised,
    and the page's claim is let go."""
    import dataclasses

    from sqlalchemy import create_engine, insert, select

    from monitor.store.schema import articles, jobs, tombstones
    from monitor.urls import canonical_url

    base = site.url("").rstrip("/")
    pruned = dataclasses.replace(LAYOFFS, canonical=f"{base}/archiv/stellenabbau")
    site.put("/a1", page(pruned), "text/html; charset=utf-8")
    site.put("/good.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    config = config_for(site, tmp_path, "good")
    _article_store(config).close()                        # the file and its tables
    engine = create_engine(config.storage.url)
    with engine.begin() as conn:
        conn.execute(insert(tombstones).values(kind="url", feed_id=0, created_at=datetime.now(UTC),
                                               value=canonical_url(pruned.canonical or "")))
    outcomes, _ = cycle(config)
    assert [(o.status, o.new_entries, o.matches) for o in outcomes] == [("ok", 1, 0)]
    assert [r.status for r in outcomes[0].articles] == ["tombstoned"]
    with engine.connect() as conn:
        assert conn.execute(select(articles.c.id)).all() == []
        assert conn.execute(select(jobs.c.name).where(jobs.c.name.like("page %"))).all() == []
    engine.dispose()


def test_an_article_cut_short_before_its_first_evaluation_is_evaluated_as_new(
        site: NewsSite, tmp_path: Path) -> None:
    """An article row without a revision (the process died between the two) counts as
    first seen when a feed brings its page again: matched, scheduled, alerted."""
    from monitor.urls import canonical_url

    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/good.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    config = config_for(site, tmp_path, "good")
    store = _article_store(config)
    cut = store.upsert_article(canonical_url(site.url("/a1")), at=datetime.now(UTC),
                               title=LAYOFFS.headline, source="good")
    store.close()
    outcomes, _ = cycle(config)
    assert [(o.status, o.matches) for o in outcomes] == [("ok", 1)]
    store = _article_store(config)
    try:
        [event] = store.events()
        assert (event.kind, event.article_id) == ("new", cut.id)
    finally:
        store.close()
