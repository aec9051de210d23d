"""Many processes on one store: concurrent start-up syncs, singleton jobs, digest identity and
its lease, page claims, renewed leases and fair claiming. Each store object stands for one
process (its own engine and owner); ``test_store_pg.py`` runs these against PostgreSQL,
where threads really write at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from monitor.models import OutgoingMail
from monitor.store import Store
from monitor.store.digests import digest_job, digest_lease
from monitor.store.schema import digest_items, digests, entries, feeds, jobs, outbox
from tests.test_store_support import HB, T0, entry, feed_state, outcome, rows

Opener = Callable[..., Store]
SECOND = timedelta(seconds=1)


def _configured(n: int) -> list[tuple[str, str]]:
    return [(f"feed-{i:02d}", f"https://example.org/{i}/rss") for i in range(n)]


def _digest_mail(period: str) -> OutgoingMail:
    return OutgoingMail(message_id=f"<digest.default.{period}@news-monitor>", kind="digest",
                        recipients=("analyse@example.org",), subject="Tagesübersicht",
                        raw=b"Subject: Tagesuebersicht\r\n\r\nText\r\n")


def test_processes_syncing_one_config_at_once_store_each_feed_once(
        opener: Opener, store_url: str) -> None:
    stores = [opener(owner=f"host-{i}:{i}") for i in range(6)]
    wanted = _configured(25)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda s: [s.sync_feeds(wanted) for _ in range(3)], stores))
    stored = rows(store_url, select(feeds.c.name, feeds.c.url, feeds.c.active)
                  .order_by(feeds.c.name))
    assert [tuple(r) for r in stored] == [(n, u, True) for n, u in wanted]
    # A reload everywhere at once: two feeds added, one URL changed, one removed.
    changed = [*wanted[1:], ("feed-03", "https://example.org/neu/rss"),
               ("feed-90", "https://example.org/90/rss"), ("feed-91", "https://example.org/91")]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda s: s.sync_feeds(changed), stores))
    stored = rows(store_url, select(feeds.c.name, feeds.c.url, feeds.c.active))
    assert {r.name: r.url for r in stored if r.active} == dict(changed)
    assert [r.name for r in stored if not r.active] == ["feed-00"]
    assert len(stored) == 27


def test_a_changed_url_resets_the_poll_state_once(store: Store) -> None:
    store.sync_feeds([("hb", HB)])
    state = feed_state(store, "hb")
    store.record_poll_success(state.id, at=T0, status="ok", etag='"v1"', last_modified=None,
                              next_poll_at=T0 + timedelta(minutes=15), new_entries=0)
    store.sync_feeds([("hb", HB)])                       # unchanged: nothing reset
    assert feed_state(store, "hb").etag == '"v1"'
    store.sync_feeds([("hb", HB + "/neu")])
    moved = feed_state(store, "hb")
    assert (moved.url, moved.etag, moved.next_poll_at) == (HB + "/neu", None, None)


def test_a_job_is_held_by_one_process_until_done_or_its_lease_ends(opener: Opener) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    first = a.claim_job("summary 2024-03-04T07", T0)
    assert first.status == "claimed"
    held = b.claim_job("summary 2024-03-04T07", T0 + 10 * SECOND)
    assert (held.status, held.owner) == ("held", "host-a:1")
    assert b.claim_job("summary 2024-03-04T07", T0 + 31 * SECOND).status == "claimed"
    assert not a.finish_job(first.id, T0 + 32 * SECOND)          # a lost it: nothing done
    assert b.finish_job(first.id, T0 + 33 * SECOND)
    done = a.claim_job("summary 2024-03-04T07", T0 + timedelta(hours=2))
    assert (done.status, done.done_at) == ("done", T0 + 33 * SECOND)
    released = a.claim_job("housekeeping 2024-03-04T06", T0)
    a.release_job(released.id)                                   # failed: free, not done
    assert b.claim_job("housekeeping 2024-03-04T06", T0 + SECOND).status == "claimed"


def test_processes_claiming_one_job_at_once_give_it_to_one(opener: Opener) -> None:
    stores = [opener(owner=f"host-{i}:{i}") for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda s: s.claim_job("digest default", T0).status, stores))
    assert sorted(answers) == ["claimed"] + ["held"] * 5


def test_a_digest_is_made_once_per_route_and_period_under_its_lease(
        opener: Opener, store_url: str) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    ref = a.upsert_article(HB, at=T0, title="AliExpress", source="Handelsblatt")
    [event] = a.save_outcome(outcome(ref.id, url=HB)).deltas
    lease_a = a.claim_job(digest_lease("default"), T0)
    assert b.claim_job(digest_lease("default"), T0 + SECOND).status == "held"
    # a stalls past its lease; b takes the lease over and makes the day's digest
    lease_b = b.claim_job(digest_lease("default"), T0 + 31 * SECOND)
    assert lease_b.status == "claimed"
    made = b.create_digest(period_start=None, period_end=T0 + 32 * SECOND,
                           event_ids=[event.id], html_path="", mail=_digest_mail("2024-03-04"),
                           period="2024-03-04", lease=lease_b.id)
    assert made is not None
    late = a.create_digest(period_start=None, period_end=T0 + 33 * SECOND,
                           event_ids=[event.id], html_path="", mail=_digest_mail("late"),
                           period="2024-03-04", lease=lease_a.id)
    assert late is None                                          # fenced off: nothing written
    assert a.job_done_at(digest_job("default", "2024-03-04")) == T0 + 32 * SECOND
    assert a.job_done_at(digest_job("default", "2024-03-05")) is None
    stored = rows(store_url, select(digests.c.id, digests.c.route, digests.c.period))
    assert [tuple(r) for r in stored] == [(made, "default", "2024-03-04")]
    assert [tuple(r) for r in rows(store_url, select(digest_items.c.digest_id))] == [(made,)]
    assert [r.message_id for r in rows(store_url, select(outbox.c.message_id))] == \
        ["<digest.default.2024-03-04@news-monitor>"]


def test_a_page_is_claimed_by_one_process_and_taken_over_when_its_claim_ends(
        opener: Opener, store_url: str) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    claim = a.claim_page(HB, T0)
    assert claim is not None and b.claim_page(HB, T0 + SECOND) is None
    a.drop_job(claim)                                            # done: the row goes
    assert rows(store_url, select(jobs.c.name)) == []
    again = b.claim_page(HB, T0 + 2 * SECOND)
    assert again is not None and a.claim_page(HB, T0 + 3 * SECOND) is None
    assert a.claim_page(HB, T0 + 40 * SECOND) is not None        # b died: its claim ended


def test_renewing_keeps_leases_and_reports_those_taken_over(opener: Opener) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    a.sync_feeds(_configured(3))
    claimed = [f.id for f in a.claim_due_feeds(T0)]
    assert a.renew_leases({"feeds": claimed}, T0 + 25 * SECOND) == {"feeds": claimed}
    assert b.claim_due_feeds(T0 + 40 * SECOND) == []             # renewed until 55 s
    taken = b.claim_due_feeds(T0 + 56 * SECOND, limit=1)
    kept = a.renew_leases({"feeds": claimed}, T0 + 57 * SECOND)
    assert sorted(kept["feeds"]) == sorted(set(claimed) - {taken[0].id})


def test_claims_are_bounded_and_live_daemons_share_the_feeds(opener: Opener) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    a.sync_feeds(_configured(30))
    early = a.claim_due_feeds(T0, limit=4)                       # a bounded batch
    assert len(early) == 4
    presence = [a.join(T0), b.join(T0)]
    first, second = a.claim_due_feeds(T0), b.claim_due_feeds(T0)
    assert {f.id % 2 for f in first} == {0} and {f.id % 2 for f in second} == {1}
    assert len(early) + len(first) + len(second) == 30
    b.drop_job(presence[1])                                      # b stopped: a takes all
    for state in early + first + second:
        a.record_poll_success(state.id, at=T0, status="ok", etag=None, last_modified=None,
                              next_poll_at=T0 + timedelta(minutes=1), new_entries=0)
    assert len(a.claim_due_feeds(T0 + timedelta(minutes=1))) == 30


def test_a_stalled_daemons_share_is_taken_once_overdue_by_a_lease(opener: Opener) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    a.sync_feeds(_configured(10))
    for state in a.claim_due_feeds(T0 - timedelta(minutes=1)):
        a.record_poll_success(state.id, at=T0, status="ok", etag=None, last_modified=None,
                              next_poll_at=T0, new_entries=0)
    a_here, b_here = a.join(T0), b.join(T0)
    assert len(a.claim_due_feeds(T0 + 5 * SECOND)) == 5           # a's share
    assert a.claim_due_feeds(T0 + 5 * SECOND) == []               # the others are b's
    a.renew_leases({"jobs": [a_here]}, T0 + 25 * SECOND)
    b.renew_leases({"jobs": [b_here]}, T0 + 25 * SECOND)          # b lives but polls nothing
    assert a.claim_due_feeds(T0 + 29 * SECOND) == []
    taken = a.claim_due_feeds(T0 + 31 * SECOND)                   # overdue by 30 s
    assert len(taken) == 5 and {f.id % 2 for f in taken} == {1}


def test_entries_recorded_by_two_processes_at_once_are_new_once(opener: Opener) -> None:
    a, b = opener(owner="host-a:1"), opener(owner="host-b:2")
    a.sync_feeds([("hb", HB)])
    feed_id = feed_state(a, "hb").id
    batch = [entry(n) for n in range(40)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(lambda s: s.record_entries(feed_id, batch, at=T0), (a, b)))
    assert sorted(e.key for f in found for e in f.new) == sorted(e.key for e in batch)
    assert len(rows(a.url, select(entries.c.id))) == 40
