"""Articles, outcomes, events, clusters, re-checks and retention in the store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.models import Delta, OutgoingMail
from monitor.store import Store, message_id_for
from tests.test_store_support import (  # noqa: F401
    HB,
    T0,
    TEXT_V1,
    TEXT_V2,
    TOPIC,
    alert_mail,
    entry,
    hits,
    opener,
    outcome,
    row_counts,
    store,
    store_url,
    word_diff,
)

URL = f"{HB}/aliexpress-russland-stellenabbau/100001.html"
FAZ_URL = "https://www.faz.net/aktuell/wirtschaft/aliexpress-russland-umbau-100002.html"


def _article(store: Store, url: str = URL, source: str = "Handelsblatt") -> int:
    ref = store.upsert_article(url, at=T0, title="AliExpress Russland", source=source)
    assert ref.created and not ref.tombstoned
    return ref.id


def test_upsert_article_is_keyed_by_url(store: Store) -> None:
    aid = _article(store)
    again = store.upsert_article(URL, at=T0 + timedelta(hours=1), title="x", source="FAZ")
    assert (again.id, again.created, again.tombstoned) == (aid, False, False)
    assert store.find_article(URL) == aid
    assert store.find_article(FAZ_URL) is None


def test_link_entry_and_article_sources(store: Store) -> None:
    store.sync_feeds([("handelsblatt", "https://hb/rss"), ("google-news", "https://gn/rss")])
    aid = _article(store)
    for name in ("handelsblatt", "google-news"):
        feed = store.get_feed(name)
        assert feed is not None
        store.record_entries(feed.id, [entry(1, link=URL)], at=T0)
        store.link_entry(feed.id, "urn:hb:1", aid)
        assert store.entry_article(feed.id, "urn:hb:1") == aid
    assert store.article_sources(aid) == ["google-news", "handelsblatt"]


def test_save_outcome_twice_writes_once(store: Store, store_url: str) -> None:
    aid = _article(store)
    first = store.save_outcome(outcome(aid, url=URL), alert_mail_render)
    assert first.revision_created and len(first.deltas) == 1 and first.mails_queued == 1
    counts = row_counts(store_url)
    again = store.save_outcome(outcome(aid, url=URL), alert_mail_render)
    assert (again.revision_id, again.revision_created, again.deltas, again.mails_queued) == \
        (first.revision_id, False, (), 0)
    assert row_counts(store_url) == counts
    assert (counts["revisions"], counts["events"], counts["outbox"], counts["matches"]) == \
        (1, 1, 1, 2)


def alert_mail_render(deltas: list[Delta]) -> list[OutgoingMail]:
    return [alert_mail(d) for d in deltas]


def test_render_sees_real_ids_and_its_mails_are_queued(store: Store) -> None:
    aid = _article(store)
    seen: list[Delta] = []

    def render(deltas: list[Delta]) -> list[OutgoingMail]:
        seen.extend(deltas)
        assert store.outbox() == []          # not yet committed: other readers see nothing
        return alert_mail_render(deltas)

    saved = store.save_outcome(outcome(aid, url=URL), render)
    [delta] = seen
    assert delta.id == saved.deltas[0].id == store.events()[0].id > 0
    assert delta.thread_id == message_id_for(aid, TOPIC, "new", saved.revision_id)
    assert [m.message_id for m in store.outbox()] == [f"<alert.{delta.id}.0@news-monitor>"]


def test_render_failure_writes_nothing(store: Store, store_url: str) -> None:
    aid = _article(store)
    before = row_counts(store_url)

    def render(deltas: list[Delta]) -> list[OutgoingMail]:
        raise RuntimeError("Vorlage kaputt")

    with pytest.raises(RuntimeError, match="Vorlage kaputt"):
        store.save_outcome(outcome(aid, url=URL), render)
    assert row_counts(store_url) == before
    assert store.latest_revision(aid) is None


def test_update_makes_a_new_revision_and_threads_to_the_first_alert(store: Store) -> None:
    aid = _article(store)
    first = store.save_outcome(outcome(aid, url=URL))
    second = store.save_outcome(outcome(aid, url=URL, text=TEXT_V2, kind="updated",
                                        at=T0 + timedelta(hours=2)))
    assert second.revision_created and second.revision_id != first.revision_id
    latest = store.latest_revision(aid)
    assert latest is not None and latest.text == TEXT_V2 and latest.fetched_at.tzinfo is not None
    assert store.revision(first.revision_id).text == TEXT_V1  # type: ignore[union-attr]
    assert store.last_alerted_revision(aid, TOPIC).id == second.revision_id  # type: ignore[union-attr]
    assert store.last_alerted_revision(aid, "sanktionen") is None
    [update] = second.deltas
    assert update.kind == "updated" and update.thread_id == first.deltas[0].thread_id


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


def test_cluster_fills_size_and_other_sources(store: Store) -> None:
    hb = _article(store)
    faz = _article(store, FAZ_URL, source="FAZ")
    store.save_outcome(outcome(hb, url=URL, signature=b"\x01" * 16))
    store.save_outcome(outcome(faz, url=FAZ_URL, source="FAZ", cluster_id=hb,
                               signature=b"\x02" * 16))
    faz_delta, hb_delta = store.events()
    assert (faz_delta.cluster_size, faz_delta.also_reported_by) == (2, ("Handelsblatt",))
    assert (hb_delta.cluster_size, hb_delta.also_reported_by) == (2, ("FAZ",))
    assert store.cluster_sources(hb) == [("Handelsblatt", URL), ("FAZ", FAZ_URL)]
    assert store.recent_signatures(T0 - timedelta(days=1)) == \
        [(hb, hb, b"\x01" * 16), (faz, hb, b"\x02" * 16)]


def test_rechecks_are_leased_and_rescheduled(opener) -> None:  # type: ignore[no-untyped-def]
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
    feed = store.get_feed("handelsblatt")
    assert feed is not None
    store.record_entries(feed.id, [entry(1, link=URL), entry(2)], at=T0)
    aid = _article(store)
    store.link_entry(feed.id, "urn:hb:1", aid)
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
