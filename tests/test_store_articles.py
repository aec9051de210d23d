"""Articles, outcomes, events, clusters, re-checks and retention in the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

import monitor.store.outcome
from monitor.models import alert_thread_id
from monitor.store import RoutePolicy, Store
from monitor.store.schema import articles, entries, events, feeds, revisions
from tests.test_store_support import (
    HB,
    IMMEDIATE,
    T0,
    TEXT_V1,
    TEXT_V2,
    TOPIC,
    entry,
    feed_state,
    hits,
    outcome,
    row_counts,
    rows,
    word_diff,
)

URL = f"{HB}/aliexpress-russland-stellenabbau/100001.html"
FAZ_URL = "https://www.faz.net/aktuell/wirtschaft/aliexpress-russland-umbau-100002.html"


def _article(store: Store, url: str = URL, source: str = "Handelsblatt") -> int:
    ref = store.upsert_article(url, at=T0, title="AliExpress Russland", source=source)
    assert ref.created and not ref.tombstoned
    return ref.id


def test_upsert_article_is_keyed_by_url(store: Store, store_url: str) -> None:
    aid = _article(store)
    again = store.upsert_article(URL, at=T0 + timedelta(hours=1), title="x", source="FAZ")
    assert (again.id, again.created, again.tombstoned) == (aid, False, False)
    assert rows(store_url, select(articles.c.id, articles.c.url)) == [(aid, URL)]


def test_entries_of_several_feeds_link_to_one_article(store: Store, store_url: str) -> None:
    store.sync_feeds([("handelsblatt", "https://hb/rss"), ("google-news", "https://gn/rss")])
    hb, gn = (feed_state(store, name).id for name in ("handelsblatt", "google-news"))
    for feed_id in (hb, gn):
        store.record_entries(feed_id, [entry(1, link=URL)], at=T0)
    ref = store.upsert_article(URL, at=T0, title="AliExpress Russland", source="Handelsblatt",
                               entry=(hb, "urn:hb:1"))
    assert store.entry_article(hb, "urn:hb:1") == ref.id
    assert store.link_known(gn, "urn:hb:1", URL) is None        # not evaluated yet
    assert store.entry_article(gn, "urn:hb:1") is None
    store.save_outcome(outcome(ref.id, url=URL))
    assert store.link_known(gn, "urn:hb:1", URL) == ref.id
    assert store.entry_article(gn, "urn:hb:1") == ref.id
    sources = (select(feeds.c.name).distinct().join(entries, entries.c.feed_id == feeds.c.id)
               .where(entries.c.article_id == ref.id).order_by(feeds.c.name))
    assert [r.name for r in rows(store_url, sources)] == ["google-news", "handelsblatt"]


def test_save_outcome_twice_writes_once(store: Store, store_url: str) -> None:
    aid = _article(store)
    first = store.save_outcome(outcome(aid, url=URL, routes=(IMMEDIATE,)))
    assert first.revision_created and len(first.deltas) == 1 and first.mails_queued == 1
    counts = row_counts(store_url)
    again = store.save_outcome(outcome(aid, url=URL, routes=(IMMEDIATE,)))
    assert (again.revision_id, again.revision_created, again.deltas, again.mails_queued) == \
        (first.revision_id, False, (), 0)
    assert row_counts(store_url) == counts
    assert (counts["revisions"], counts["events"], counts["outbox"], counts["matches"]) == \
        (1, 1, 1, 2)


def test_alert_is_queued_with_its_event_and_final_message_id_unrendered(store: Store) -> None:
    aid = _article(store)
    saved = store.save_outcome(outcome(aid, url=URL, routes=(IMMEDIATE,)))
    [delta] = saved.deltas
    assert delta.id == store.events()[0].id > 0
    assert delta.thread_id == alert_thread_id(aid, TOPIC, "new", saved.revision_id)
    [item] = store.outbox()
    assert (item.message_id, item.event_id, item.kind, item.status) == \
        (delta.thread_id, delta.id, "alert", "pending")
    assert (item.raw, item.subject, item.recipients, item.attempts) == (b"", "", (), 0)
    assert item.created_at == item.next_attempt_at == T0


def test_without_an_alert_policy_or_with_mode_off_nothing_is_queued(store: Store,
                                                                    store_url: str) -> None:
    first, second = _article(store), _article(store, FAZ_URL, source="FAZ")
    assert store.save_outcome(outcome(first, url=URL)).mails_queued == 0
    off = store.save_outcome(outcome(second, url=FAZ_URL, routes=(RoutePolicy(mode="off"),)))
    assert off.mails_queued == 0 and len(off.deltas) == 1
    counts = row_counts(store_url)
    assert (counts["events"], counts["outbox"], counts["folds"]) == (2, 0, 0)


def test_a_failure_inside_the_transaction_writes_nothing(store: Store, store_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    aid = _article(store)
    before = row_counts(store_url)

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("Warteschlange kaputt")

    monkeypatch.setattr(monitor.store.outcome, "queue_alerts", broken)
    with pytest.raises(RuntimeError, match="Warteschlange kaputt"):
        store.save_outcome(outcome(aid, url=URL, routes=(IMMEDIATE,)))
    assert row_counts(store_url) == before
    assert rows(store_url, select(revisions.c.id).where(revisions.c.article_id == aid)) == []


def test_update_makes_a_new_revision_and_threads_to_the_first_alert(store: Store,
                                                                     store_url: str) -> None:
    aid = _article(store)
    first = store.save_outcome(outcome(aid, url=URL))
    second = store.save_outcome(outcome(aid, url=URL, text=TEXT_V2, kind="updated",
                                        at=T0 + timedelta(hours=2)))
    assert second.revision_created and second.revision_id != first.revision_id
    stored = rows(store_url, select(revisions.c.id, revisions.c.text, revisions.c.fetched_at)
                  .where(revisions.c.article_id == aid).order_by(revisions.c.id))
    assert [(r.id, r.text) for r in stored] == \
        [(first.revision_id, TEXT_V1), (second.revision_id, TEXT_V2)]
    assert all(r.fetched_at.tzinfo is not None for r in stored)
    assert store.baseline_revision(aid, TOPIC).id == second.revision_id  # type: ignore[union-attr]
    assert store.baseline_revision(aid, "sanktionen") is None
    [update] = second.deltas
    assert update.kind == "updated" and update.thread_id == first.deltas[0].thread_id
    alerted = rows(store_url, select(events.c.revision_id).where(events.c.article_id == aid)
                   .order_by(events.c.id))
    assert [r.revision_id for r in alerted] == [first.revision_id, second.revision_id]


def test_events_round_trip_hits_and_diff_newest_first(store: Store) -> None:
    aid = _article(store)
    store.save_outcome(outcome(aid, url=URL))
    store.save_outcome(outcome(aid, url=URL, text=TEXT_V2, kind="updated",
                               at=T0 + timedelta(hours=2)))
    updated, new = store.events()
    assert (updated.kind, new.kind) == ("updated", "new")
    assert updated.hits == hits() and updated.diff == word_diff() and new.diff is None
    assert updated.detected_at == T0 + timedelta(hours=2)
    assert updated.published == T0 + timedelta(hours=1)
    assert store.events(since=T0 + timedelta(hours=1)) == [updated]
    assert store.events(topic="sanktionen") == []


def test_cluster_fills_size_and_other_sources(store: Store, store_url: str) -> None:
    hb = _article(store)
    faz = _article(store, FAZ_URL, source="FAZ")
    store.save_outcome(outcome(hb, url=URL, signature=b"\x01" * 16))
    store.save_outcome(outcome(faz, url=FAZ_URL, source="FAZ", cluster_id=hb,
                               signature=b"\x02" * 16))
    faz_delta, hb_delta = store.events()
    assert (faz_delta.cluster_size, faz_delta.also_reported_by) == (2, ("Handelsblatt",))
    assert (hb_delta.cluster_size, hb_delta.also_reported_by) == (2, ("FAZ",))
    members = (select(articles.c.source, articles.c.url).where(articles.c.cluster_id == hb)
               .order_by(articles.c.first_seen, articles.c.id))
    assert [tuple(r) for r in rows(store_url, members)] == [("Handelsblatt", URL), ("FAZ", FAZ_URL)]
    stored = select(articles.c.id, articles.c.cluster_id, articles.c.signature).order_by(
        articles.c.id)
    assert [tuple(r) for r in rows(store_url, stored)] == \
        [(hb, hb, b"\x01" * 16), (faz, hb, b"\x02" * 16)]


def test_rechecks_are_leased_and_rescheduled(opener: Callable[..., Store]) -> None:
    store, other = opener(owner="a:1"), opener(owner="b:2")
    aid = _article(store)
    store.save_outcome(outcome(aid, url=URL, next_check_at=T0 + timedelta(hours=1),
                               check_stage=1, etag='"r1"'))
    assert store.due_rechecks(T0) == []
    [item] = store.due_rechecks(T0 + timedelta(hours=1))
    assert (item.article_id, item.url, item.etag, item.stage) == (aid, URL, '"r1"', 1)
    assert other.due_rechecks(T0 + timedelta(hours=1)) == []           # leased
    store.set_recheck(aid, next_check_at=T0 + timedelta(hours=6), stage=2, etag='"r2"')
    assert other.due_rechecks(T0 + timedelta(hours=5)) == []
    [later] = other.due_rechecks(T0 + timedelta(hours=6))
    assert (later.stage, later.etag) == (2, '"r2"')


def test_stored_texts_gives_latest_revision(store: Store) -> None:
    aid = _article(store)
    store.save_outcome(outcome(aid, url=URL))
    store.save_outcome(outcome(aid, url=URL, text=TEXT_V2, kind="updated"))
    [text] = store.stored_texts(T0 - timedelta(days=1))
    assert (text.article_id, text.text, text.first_seen) == (aid, TEXT_V2, T0)
    assert store.stored_texts(T0 + timedelta(seconds=1)) == []


def test_prune_leaves_tombstones_that_block_realerting(store: Store, store_url: str) -> None:
    store.sync_feeds([("handelsblatt", "https://hb/rss")])
    feed = feed_state(store, "handelsblatt")
    store.record_entries(feed.id, [entry(1, link=URL), entry(2)], at=T0)
    aid = store.upsert_article(URL, at=T0, title="AliExpress Russland", source="Handelsblatt",
                               entry=(feed.id, "urn:hb:1")).id
    store.save_outcome(outcome(aid, url=URL))
    counts = store.prune(T0 + timedelta(days=30))
    assert {k: counts[k] for k in ("articles", "revisions", "matches", "entries")} == \
        {"articles": 1, "revisions": 1, "matches": 2, "entries": 2}
    assert counts["events"] == 0                       # not in a sent digest: kept
    left = row_counts(store_url)
    assert (left["articles"], left["entries"], left["events"]) == (0, 0, 1)
    back = store.record_entries(feed.id, [entry(1, link=URL), entry(2)], at=T0 + timedelta(days=31))
    assert back.new == ()
    moved = store.record_entries(feed.id, [entry(3, link=URL)], at=T0 + timedelta(days=31))
    assert moved.new == ()                             # new key, pruned link
    assert store.upsert_article(URL, at=T0, title="x", source="y").tombstoned
    assert store.events()[0].url == URL                # the event itself survives
