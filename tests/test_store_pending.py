"""Entries stay pending until their article is processed, so a crash never loses a story."""

from __future__ import annotations

from collections.abc import Callable

from monitor.store import Store
from tests.test_store_support import T0, entry, feed_state


def test_new_entries_are_pending_until_finished(store: Store) -> None:
    store.sync_feeds([("Handelsblatt", "https://www.handelsblatt.com/feed")])
    feed = feed_state(store, "Handelsblatt")
    store.record_entries(feed.id, [entry(1), entry(2)], at=T0)
    pending = store.pending_entries(feed.id)
    assert [e.key for e in pending] == [entry(1).key, entry(2).key]
    assert pending[0].title == entry(1).title and pending[0].has_date
    store.finish_entries(feed.id, [entry(1).key])
    assert [e.key for e in store.pending_entries(feed.id)] == [entry(2).key]
    store.record_entries(feed.id, [entry(1), entry(2)], at=T0)   # seen again: still one left
    assert [e.key for e in store.pending_entries(feed.id)] == [entry(2).key]


def test_leases_of_dead_processes_are_released(opener: Callable[..., Store]) -> None:
    dead = opener(owner="news-host:999999999")       # no such pid: a killed daemon
    dead.sync_feeds([("Handelsblatt", "https://www.handelsblatt.com/feed")])
    assert len(dead.claim_due_feeds(T0)) == 1
    alive = opener(owner="news-host:1")               # pid 1 exists
    assert alive.claim_due_feeds(T0) == []            # leased by the dead one
    assert alive.release_stale_leases() == 1
    assert [f.name for f in alive.claim_due_feeds(T0)] == ["Handelsblatt"]
    assert alive.release_stale_leases() == 0          # a live owner's lease stays


def test_counts_for_the_status_line(store: Store) -> None:
    store.sync_feeds([("A", "https://a.example/feed"), ("B", "https://b.example/feed")])
    feed = feed_state(store, "B")
    store.record_poll_failure(feed.id, at=T0, status="transport", error="DNS",
                              next_poll_at=T0)
    assert store.feed_counts() == (2, 1)
    assert store.outbox_counts() == {"pending": 0, "sent": 0, "dead": 0}
