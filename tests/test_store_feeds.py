"""Feeds and entries in the store: config sync, poll leases, counters, "what is new?"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from monitor.store import Store
from monitor.store.tombstones import bury
from tests.test_store_support import HB, T0, entry, feed_state, row_counts

FEEDS = [("handelsblatt", "https://www.handelsblatt.com/contentexport/feed/unternehmen"),
         ("faz", "https://www.faz.net/rss/aktuell/wirtschaft/")]


def _feed_id(store: Store, name: str = "handelsblatt") -> int:
    store.sync_feeds(FEEDS)
    return feed_state(store, name).id


def test_sync_feeds_adds_deactivates_and_resets_on_url_change(store: Store) -> None:
    fid = _feed_id(store)
    store.record_poll_success(fid, at=T0, status="ok", etag='"v1"', last_modified="Mon",
                              next_poll_at=T0 + timedelta(minutes=15), new_entries=3)
    store.sync_feeds([("handelsblatt", "https://www.handelsblatt.com/rss/neu"), FEEDS[1]])
    moved = feed_state(store, "handelsblatt")
    assert moved.url.endswith("/rss/neu")
    assert (moved.etag, moved.last_modified, moved.baseline_done) == (None, None, False)
    store.sync_feeds([FEEDS[1]])
    assert [f.name for f in store.feed_states()] == ["faz"]
    kept = {f.name: f for f in store.feed_states(include_inactive=True)}
    assert set(kept) == {"faz", "handelsblatt"}
    assert kept["handelsblatt"].last_success_at == T0      # state kept while inactive


def test_claim_leases_feeds_across_two_store_objects(opener: Callable[..., Store]) -> None:
    first, second = opener(owner="host-a:1"), opener(owner="host-b:2")
    first.sync_feeds(FEEDS)
    claimed = first.claim_due_feeds(T0)
    assert [f.name for f in claimed] == ["faz", "handelsblatt"]
    assert second.claim_due_feeds(T0) == []                      # leased by the other process
    assert second.claim_due_feeds(T0 + timedelta(seconds=29)) == []
    assert [f.name for f in second.claim_due_feeds(T0 + timedelta(seconds=31))] == \
        ["faz", "handelsblatt"]                                  # the 30 s lease expired


def test_claim_respects_names_schedule_and_freed_leases(store: Store) -> None:
    fid = _feed_id(store)
    assert [f.name for f in store.claim_due_feeds(T0, names=["handelsblatt"])] == ["handelsblatt"]
    store.record_poll_success(fid, at=T0, status="ok", etag=None, last_modified=None,
                              next_poll_at=T0 + timedelta(minutes=10), new_entries=0)
    assert store.claim_due_feeds(T0 + timedelta(minutes=1), names=["handelsblatt"]) == []
    forced = store.claim_due_feeds(T0 + timedelta(minutes=1), names=["handelsblatt"],
                                   due_only=False)
    assert [f.name for f in forced] == ["handelsblatt"]


def test_poll_counters_and_validators_survive_reopen(opener: Callable[..., Store]) -> None:
    store = opener()
    fid = _feed_id(store)
    store.record_poll_success(fid, at=T0, status="ok", etag='W/"abc"',
                              last_modified="Mon, 04 Mar 2024 07:00:00 GMT",
                              next_poll_at=T0 + timedelta(minutes=15), new_entries=2)
    assert store.record_poll_failure(fid, at=T0 + timedelta(minutes=15), status="http_status",
                                     error="HTTP 503", next_poll_at=T0 + timedelta(hours=1)) == 1
    assert store.record_poll_failure(fid, at=T0 + timedelta(hours=1), status="timeout",
                                     error="read timeout",
                                     next_poll_at=T0 + timedelta(hours=2)) == 2
    store.mark_guid_unstable(fid)
    store.close()
    state = feed_state(opener(), "handelsblatt")
    assert (state.etag, state.last_modified) == ('W/"abc"', "Mon, 04 Mar 2024 07:00:00 GMT")
    assert (state.consecutive_errors, state.last_status, state.last_error) == \
        (2, "timeout", "read timeout")
    assert state.last_success_at == T0 and state.last_new_at == T0
    assert state.next_poll_at == T0 + timedelta(hours=2)
    assert state.next_poll_at.tzinfo is not None
    assert state.baseline_done and state.guid_unstable


def test_not_modified_keeps_validators_and_resets_errors(store: Store) -> None:
    fid = _feed_id(store)
    store.record_poll_success(fid, at=T0, status="ok", etag='"e1"', last_modified=None,
                              next_poll_at=T0, new_entries=0)
    store.record_poll_failure(fid, at=T0, status="transport", error="reset", next_poll_at=T0)
    store.record_poll_success(fid, at=T0 + timedelta(minutes=5), status="not_modified",
                              etag=None, last_modified=None, next_poll_at=T0, new_entries=0)
    state = feed_state(store, "handelsblatt")
    assert (state.etag, state.consecutive_errors, state.last_status) == ('"e1"', 0, "not_modified")
    assert state.last_new_at is None


def test_record_entries_twice_adds_nothing_the_second_time(store: Store, store_url: str) -> None:
    fid = _feed_id(store)
    batch = [entry(n) for n in range(1, 6)]
    first = store.record_entries(fid, batch, at=T0)
    assert [e.key for e in first.new] == [e.key for e in batch]
    before = row_counts(store_url)
    again = store.record_entries(fid, batch, at=T0 + timedelta(minutes=15))
    assert (again.new, again.changed, again.guid_changes) == ((), (), 0)
    assert row_counts(store_url) == before
    assert before["entries"] == 5
    assert feed_state(store, "handelsblatt").entries_count == 5


def test_same_key_in_another_feed_is_new_there(store: Store) -> None:
    hb, faz = _feed_id(store), _feed_id(store, "faz")
    store.record_entries(hb, [entry(1)], at=T0)
    assert len(store.record_entries(faz, [entry(1)], at=T0).new) == 1


def test_guid_change_with_same_link_is_not_new(store: Store) -> None:
    fid = _feed_id(store)
    store.record_entries(fid, [entry(1), entry(2)], at=T0)
    rekeyed = [entry(1, key="urn:hb:neu:1"), entry(2, key="urn:hb:neu:2")]
    changes = store.record_entries(fid, rekeyed, at=T0 + timedelta(minutes=15))
    assert (changes.new, changes.changed, changes.guid_changes) == ((), (), 2)
    again = store.record_entries(fid, rekeyed, at=T0 + timedelta(minutes=30))
    assert (again.new, again.guid_changes) == ((), 0)


def test_two_items_sharing_a_link_do_not_flap(store: Store) -> None:
    fid = _feed_id(store)
    link = f"{HB}/liveblog-aliexpress.html"
    pair = [entry(1, link=link), entry(2, link=link)]
    assert [e.key for e in store.record_entries(fid, pair, at=T0).new] == ["urn:hb:1"]
    for minute in (15, 30):
        changes = store.record_entries(fid, pair, at=T0 + timedelta(minutes=minute))
        assert (changes.new, changes.guid_changes) == ((), 0)


def test_changed_title_is_reported_and_stored(store: Store) -> None:
    fid = _feed_id(store)
    store.record_entries(fid, [entry(1), entry(2)], at=T0)
    retitled = entry(1, title="AliExpress Russland streicht 40 Prozent der Stellen")
    changes = store.record_entries(fid, [retitled, entry(2)], at=T0 + timedelta(minutes=15))
    assert changes.new == () and changes.changed == (retitled,)
    assert store.record_entries(fid, [retitled, entry(2)], at=T0).changed == ()


def test_entry_article_is_none_until_linked(store: Store) -> None:
    fid = _feed_id(store)
    store.record_entries(fid, [entry(1)], at=T0)
    assert store.entry_article(fid, "urn:hb:1") is None
    assert store.entry_article(fid, "urn:hb:unbekannt") is None


def test_concurrent_claims_never_hand_out_a_feed_twice(opener: Callable[..., Store]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    workers = [opener(owner=f"host-{i}:{i}") for i in range(4)]
    workers[0].sync_feeds([(f"feed-{n:02d}", f"https://example.org/{n}/rss") for n in range(40)])

    def grab(store: Store) -> list[str]:
        names: list[str] = []
        for _ in range(10):
            names += [f.name for f in store.claim_due_feeds(T0, lease_seconds=600)]
        return names

    with ThreadPoolExecutor(max_workers=4) as pool:
        claimed = [name for names in pool.map(grab, workers) for name in names]
    assert sorted(claimed) == [f"feed-{n:02d}" for n in range(40)]


def test_one_poll_with_kept_rekeyed_buried_and_new_entries(store: Store) -> None:
    """A poll mixing every case: links and tombstones are looked up only for the entries
    whose key is not stored, and each case still comes out as it does alone."""
    fid = _feed_id(store)
    store.record_entries(fid, [entry(1), entry(2), entry(3)], at=T0)
    with store._db.write() as conn:              # a pruned item of this feed, key and link
        bury(conn, at=T0, urls=[entry(4).link], keys=[(fid, entry(5).key)])
    later = T0 + timedelta(minutes=15)
    poll = [entry(1), entry(2, key="urn:hb:neu:2"),                  # kept; guid changed
            entry(3, title="AliExpress Russland: Stellenabbau bestätigt"),   # retitled
            entry(4), entry(5), entry(6),                            # buried link, key; new
            entry(7, link=entry(1).link)]                            # a second item, old link
    changes = store.record_entries(fid, poll, at=later)
    assert [e.key for e in changes.new] == [entry(6).key]
    assert [e.key for e in changes.changed] == [entry(3).key]
    assert changes.guid_changes == 1
    again = store.record_entries(fid, poll, at=later + timedelta(minutes=15))
    assert (again.new, again.changed, again.guid_changes) == ((), (), 0)
