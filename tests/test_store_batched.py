"""The store's batched writes: a feed's entries, links and polls in a few statements."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import create_engine, delete, insert, select

from monitor.models import FeedEntry
from monitor.store import Store
from monitor.store.feeds import PollSuccess
from monitor.store.schema import entries, feeds, jobs, revisions
from tests.test_store_support import T0, entry, feed_state, outcome, rows

HOUR = timedelta(hours=1)


def _feeds(store: Store, *names: str) -> list[int]:
    store.sync_feeds([(n, f"https://{n}.example/rss") for n in names])
    return [feed_state(store, n).id for n in names]


def test_record_polls_writes_every_feed_and_finishes_their_entries(
        store: Store, store_url: str) -> None:
    hb, faz = _feeds(store, "handelsblatt", "faz")
    store.record_entries(hb, [entry(1), entry(2)], at=T0)
    store.record_entries(faz, [entry(1), entry(2)], at=T0)      # the same keys, another feed
    store.record_poll_success(faz, at=T0, status="ok", etag='"alt"', last_modified="Mon",
                              next_poll_at=T0 + HOUR, new_entries=0)
    store.record_polls([
        PollSuccess(hb, T0 + HOUR, "ok", '"v2"', None, T0 + 2 * HOUR, 2, (entry(1).key,)),
        PollSuccess(faz, T0 + HOUR, "not_modified", None, None, T0 + 3 * HOUR, 0,
                    (entry(2).key,))])
    got = {s.name: s for s in store.feed_states()}
    assert (got["handelsblatt"].etag, got["handelsblatt"].last_new_at) == ('"v2"', T0 + HOUR)
    assert (got["faz"].etag, got["faz"].last_modified) == ('"alt"', "Mon")   # a 304 keeps them
    assert got["faz"].last_status == "not_modified" and got["faz"].last_new_at is None
    assert got["faz"].next_poll_at == T0 + 3 * HOUR and got["handelsblatt"].baseline_done
    assert [e.key for e in store.pending_entries(hb)] == [entry(2).key]
    assert [e.key for e in store.pending_entries(faz)] == [entry(1).key]   # each its own
    assert rows(store_url, select(feeds.c.lease_owner).where(feeds.c.id == hb)) == [(None,)]


def test_take_pending_marks_the_baseline_of_a_first_poll(store: Store) -> None:
    [hb] = _feeds(store, "handelsblatt")
    recent, older = entry(1), entry(2)                     # published an hour apart
    store.record_entries(hb, [recent, older], at=T0)
    since = recent.published - timedelta(minutes=1)
    assert [e.key for e in store.take_pending(hb, baseline_before=since)] == [recent.key]
    assert [e.key for e in store.pending_entries(hb)] == [recent.key]   # older: baseline, done
    assert [e.key for e in store.take_pending(hb, baseline_before=None)] == [recent.key]


def test_take_pending_hands_back_this_polls_entries_and_reads_older_ones(
        store: Store) -> None:
    """A poll's own new entries come back as it gave them; an entry left pending by an
    earlier poll comes from its row, as stored (a later poll that changed only its date did
    not change the row), in the order the entries were first stored."""
    [hb] = _feeds(store, "handelsblatt")
    store.record_entries(hb, [entry(1), entry(2)], at=T0)     # a poll that died before taking
    redated = dataclasses.replace(entry(1), published=entry(1).published - HOUR)
    third = dataclasses.replace(entry(3), raw_link="https://t.example/umleitung?ziel=3")
    poll = store.record_entries(hb, [redated, third], at=T0 + HOUR)
    assert poll.new == (third,)
    taken = store.take_pending(hb, baseline_before=None, inserted=poll.new)
    assert [e.key for e in taken] == [entry(1).key, entry(2).key, entry(3).key]
    assert taken[2] is third                                 # handed back, not read again
    assert taken[0] == entry(1) and taken[0].published == entry(1).published
    read = store.pending_entries(hb)
    assert taken[:2] == read[:2] and dataclasses.replace(third, raw_link=third.link) == read[2]


def test_entries_of_a_feed_are_linked_to_stored_articles_at_once(
        store: Store, store_url: str) -> None:
    hb, gn = _feeds(store, "handelsblatt", "google-news")
    one, two = entry(1), entry(2)
    for feed_id in (hb, gn):
        store.record_entries(feed_id, [one, two], at=T0)
    ref = store.upsert_article(one.link, at=T0, title="AliExpress", source="Handelsblatt",
                               entry=(hb, one.key))
    assert store.link_known_many(gn, [(one.key, one.link), (two.key, two.link)]) == {}
    store.save_outcome(outcome(ref.id, url=one.link))          # evaluated now
    linked = store.link_known_many(gn, [(one.key, one.link), (two.key, two.link), ("x", "")])
    assert linked == {one.key: ref.id}
    assert rows(store_url, select(entries.c.key, entries.c.article_id)
                .where(entries.c.feed_id == gn).order_by(entries.c.key)) == \
        [(one.key, ref.id), (two.key, None)]


def _claimed_page(store: Store) -> tuple[int, FeedEntry, int, int]:
    """One entry carried by two feeds, its page claimed for the first and its article
    created: (the second feed's id, the entry, the claim, the article id)."""
    hb, gn = _feeds(store, "handelsblatt", "google-news")
    one = entry(1)
    store.record_entries(hb, [one], at=T0)
    store.record_entries(gn, [one], at=T0)
    claim = store.claim_page_for(hb, one.key, one.link, T0)
    assert isinstance(claim, int)
    ref = store.upsert_article(one.link, at=T0, title="AliExpress", source="Handelsblatt",
                               entry=(hb, one.key))
    return gn, one, claim, ref.id


def test_a_page_claim_links_a_stored_article_and_goes_with_its_outcome(
        store: Store, store_url: str) -> None:
    gn, one, claim, article_id = _claimed_page(store)
    store.save_outcome(outcome(article_id, url=one.link), release_job=claim)
    assert rows(store_url, select(jobs.c.id)) == []             # released with the outcome
    assert store.claim_page_for(gn, one.key, one.link, T0) == "known"
    assert store.entry_article(gn, one.key) == article_id


def test_a_page_whose_outcome_commits_while_it_is_claimed_is_known_not_claimed_again(
        opener: Callable[..., Store], store_url: str) -> None:
    """Another process's outcome releases the page claim and stores the article in one
    transaction. A claim made while it commits must find the article, not a free claim: on
    PostgreSQL, looking for the article before taking the claim saw neither the article
    (not committed yet) nor the claim (released once it was), and the page was fetched twice."""
    here, there = opener(owner="here:1"), opener(owner="there:1")
    gn, one, claim, article_id = _claimed_page(here)
    engine = create_engine(store_url)
    try:
        with ThreadPoolExecutor(1) as pool, engine.connect() as conn:
            outcome_tx = conn.begin()          # what save_outcome does, held open
            conn.execute(delete(jobs).where(jobs.c.id == claim))
            conn.execute(insert(revisions).values(
                article_id=article_id, title="AliExpress", text="Text", text_hash="h",
                fetched_at=T0, extract_status="ok"))
            pending = pool.submit(there.claim_page_for, gn, one.key, one.link,
                                  T0 + timedelta(seconds=1))
            time.sleep(0.5)                    # it looks and waits meanwhile
            outcome_tx.commit()
            assert pending.result(timeout=30) == "known"
    finally:
        engine.dispose()
    assert there.entry_article(gn, one.key) == article_id
    assert rows(store_url, select(jobs.c.id)) == []             # no claim left behind


def test_the_store_thread_keeps_one_sqlite_connection(
        opener: Callable[..., Store], store_url: str) -> None:
    """The pipeline's store thread pins one SQLite connection for all its transactions
    (reads and writes), so none is taken from the pool and handed back per call; on
    PostgreSQL it uses the pool, whose check-out pings the connection. Closing the store
    closes the pinned connection."""
    import asyncio

    from monitor.pipeline.offthread import StoreThread

    s = opener()
    [gn] = _feeds(s, "gn")
    thread = StoreThread(s.pin_thread)

    async def calls() -> None:
        for n in range(3):
            await thread.run(s.record_entries, gn, [entry(n)], at=T0)
            await thread.run(s.feed_states)

    asyncio.run(calls())
    thread.close()
    pool = s._db.engine.pool
    assert pool.checkedout() == (1 if store_url.startswith("sqlite") else 0)
    assert len(s.pending_entries(gn)) == 3          # every write was committed
    s.close()
    assert pool.checkedout() == 0


def test_a_store_call_inside_another_on_the_pinned_thread_gets_its_own_transaction(
        opener: Callable[..., Store], store_url: str) -> None:
    """A store call made while the thread's pinned connection is in a transaction (one
    store call inside another) takes a pooled connection, as it did before pinning."""
    s = opener()
    s.pin_thread()
    [gn] = _feeds(s, "gn")
    with s._db.write() as outer:
        assert s.feed_states()[0].id == gn          # inside: a second transaction
        assert outer.in_transaction()
    assert s.pending_entries(gn) == []


def test_the_baseline_of_a_first_poll_is_undated_or_older_than_its_window(
        store: Store) -> None:
    """As the pipeline reads entries: undated ones are baseline whatever their date, a
    dated one counts from its publication; the window's edge itself is new."""
    [hb] = _feeds(store, "handelsblatt")
    edge, older = entry(1), entry(2)
    undated = dataclasses.replace(entry(3), published=edge.published + HOUR, has_date=False)
    store.record_entries(hb, [edge, older, undated], at=T0)
    fresh = store.take_pending(hb, baseline_before=edge.published)
    assert [e.key for e in fresh] == [edge.key]
    assert [e.key for e in store.pending_entries(hb)] == [edge.key]
