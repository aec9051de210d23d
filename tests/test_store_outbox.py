"""Outbox and digests in the store: leases, rendering, delivery outcomes, the hourly cap,
digest bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from monitor.models import OutgoingMail
from monitor.store import RoutePolicy, Store
from monitor.store.schema import digest_items, digests
from tests.test_store_support import HB, IMMEDIATE, T0, outcome, queue_mails, row_counts, rows


def _mail(n: int, kind: str = "alert") -> OutgoingMail:
    return OutgoingMail(message_id=f"<test.{n}@news-monitor>", kind=kind,  # type: ignore[arg-type]
                        recipients=("analyse@example.org", "desk@example.org"),
                        subject=f"[Alibaba-Russland] Meldung {n}",
                        raw=f"Subject: Meldung {n}\r\n\r\nText ä ö ü\r\n".encode())


def test_queueing_ignores_duplicate_message_ids(store: Store) -> None:
    assert queue_mails(store, [_mail(1), _mail(2)], at=T0) == 2
    assert queue_mails(store, [_mail(2), _mail(3)], at=T0) == 1
    items = store.outbox()
    assert [i.message_id for i in items] == ["<test.1@news-monitor>", "<test.2@news-monitor>",
                                             "<test.3@news-monitor>"]
    first = items[0]
    assert first.recipients == ("analyse@example.org", "desk@example.org")
    assert first.raw == _mail(1).raw and first.status == "pending" and first.attempts == 0
    assert (first.event_id, first.delta) == (None, None)


def test_claim_leases_between_two_processes(opener: Callable[..., Store]) -> None:
    a, b = opener(owner="a:1"), opener(owner="b:2")
    queue_mails(a, [_mail(n) for n in range(5)], at=T0)
    assert len(a.claim_pending(T0, limit=3)) == 3
    assert [i.message_id for i in b.claim_pending(T0)] == \
        ["<test.3@news-monitor>", "<test.4@news-monitor>"]
    assert a.claim_pending(T0 + timedelta(seconds=20)) == []        # a 30 s lease
    assert len(b.claim_pending(T0 + timedelta(seconds=31))) == 5    # leases expired


def test_sent_failed_dead_and_retry(store: Store) -> None:
    queue_mails(store, [_mail(1), _mail(2)], at=T0)
    one, two = store.claim_pending(T0)
    store.mark_sent(one.id, at=T0 + timedelta(seconds=5), response="250 2.0.0 Ok: queued")
    store.mark_failed(two.id, at=T0, error="421 try later",
                      next_attempt_at=T0 + timedelta(minutes=5), dead=False)
    assert store.claim_pending(T0 + timedelta(minutes=1)) == []     # backing off
    [again] = store.claim_pending(T0 + timedelta(minutes=5))
    assert (again.id, again.attempts, again.last_error) == (two.id, 1, "421 try later")
    store.mark_failed(two.id, at=T0, error="550 no such user", next_attempt_at=None, dead=True)
    [dead] = store.outbox(status="dead")
    assert (dead.attempts, dead.last_error) == (2, "550 no such user")
    [sent] = store.outbox(status="sent")
    assert sent.sent_at == T0 + timedelta(seconds=5) and sent.attempts == 1
    assert store.claim_pending(T0 + timedelta(days=1)) == []
    assert store.retry_dead(at=T0 + timedelta(days=1)) == 1
    [revived] = store.claim_pending(T0 + timedelta(days=1))
    assert (revived.id, revived.status, revived.attempts) == (two.id, "pending", 0)


def _events(store: Store, n: int, policy: RoutePolicy | None = None) -> list[int]:
    ids = []
    for i in range(n):
        url = f"{HB}/aliexpress-{i}.html"
        ref = store.upsert_article(url, at=T0, title="AliExpress", source="Handelsblatt")
        saved = store.save_outcome(outcome(ref.id, url=url, at=T0 + timedelta(minutes=i),
                                           routes=(policy,) if policy else ()))
        ids.append(saved.deltas[0].id)
    return ids


def test_an_alert_is_claimed_with_its_delta_and_rendered_once(store: Store) -> None:
    [event_id] = _events(store, 1, IMMEDIATE)
    [item] = store.claim_pending(T0)
    assert item.raw == b"" and item.event_id == event_id and item.delta is not None
    assert item.delta == store.events()[0] and item.message_id == item.delta.thread_id
    store.mark_rendered(item.id, subject="[Alibaba] AliExpress", recipients=["a@example.org"],
                        raw=b"Subject: AliExpress\r\n\r\nText\r\n")
    store.mark_failed(item.id, at=T0, error="421 try later", next_attempt_at=T0, dead=False)
    [again] = store.claim_pending(T0)
    assert (again.raw, again.subject, again.recipients, again.delta) == \
        (b"Subject: AliExpress\r\n\r\nText\r\n", "[Alibaba] AliExpress", ("a@example.org",), None)
    assert again.event_id == event_id


def test_a_dead_alert_that_was_never_rendered_stays_dead(store: Store) -> None:
    _events(store, 1, IMMEDIATE)
    [item] = store.claim_pending(T0)
    store.mark_failed(item.id, at=T0, error="cannot build the mail: no recipients",
                      next_attempt_at=None, dead=True)
    assert store.retry_dead(at=T0 + timedelta(hours=1)) == 0
    assert [i.status for i in store.outbox()] == ["dead"]


def test_the_hourly_cap_counts_alerts_queued_in_the_last_hour_and_not_dead(
        store: Store, store_url: str) -> None:
    capped = RoutePolicy(mode="immediate", max_per_hour=2)
    ids = _events(store, 3, capped)                   # at T0, T0+1min, T0+2min
    assert [i.event_id for i in store.outbox()] == ids[:2]
    assert [d.id for d in store.folded_deltas()] == ids[2:]
    [first, _] = store.claim_pending(T0 + timedelta(minutes=3))
    store.mark_failed(first.id, at=T0, error="kaputt", next_attempt_at=None, dead=True)
    url = f"{HB}/aliexpress-dead.html"
    ref = store.upsert_article(url, at=T0, title="AliExpress", source="Handelsblatt")
    room = store.save_outcome(outcome(ref.id, url=url, at=T0 + timedelta(minutes=4),
                                      routes=(capped,)))
    assert room.mails_queued == 1                      # the dead alert does not count
    url = f"{HB}/aliexpress-later.html"
    ref = store.upsert_article(url, at=T0, title="AliExpress", source="Handelsblatt")
    later = store.save_outcome(outcome(ref.id, url=url, at=T0 + timedelta(minutes=65),
                                       routes=(capped,)))
    assert later.mails_queued == 1                     # the first hour's alerts left the window
    assert row_counts(store_url)["folds"] == 1


def test_in_hourly_mode_every_alert_is_folded(store: Store, store_url: str) -> None:
    ids = _events(store, 2, RoutePolicy(mode="hourly", max_per_hour=99))
    assert store.outbox() == [] and [d.id for d in store.folded_deltas()] == ids
    summary = _mail(50, kind="summary")
    assert store.enqueue_summary(summary, ids, at=T0 + timedelta(hours=1))
    assert not store.enqueue_summary(_mail(51, kind="summary"), ids, at=T0)   # taken
    assert store.folded_deltas() == [] and store.last_summary_at() == T0 + timedelta(hours=1)
    assert [i.message_id for i in store.outbox()] == [summary.message_id]


def test_create_digest_assigns_events_and_queues_its_mail(store: Store, store_url: str) -> None:
    ids = _events(store, 3)
    assert [d.id for d in store.digest_candidates(T0 + timedelta(hours=1))] == ids
    assert [d.id for d in store.digest_candidates(T0 + timedelta(minutes=1))] == ids[:2]
    digest_mail = _mail(99, kind="digest")
    end = T0 + timedelta(hours=1)
    did = store.create_digest(period_start=None, period_end=end, event_ids=ids[:2],
                              html_path="/var/lib/news-monitor/digests/2024-03-04.html",
                              mail=digest_mail)
    digested = rows(store_url, select(digest_items.c.event_id, digest_items.c.digest_id)
                    .order_by(digest_items.c.event_id))
    assert [tuple(r) for r in digested] == [(ids[0], did), (ids[1], did)]
    [stored] = rows(store_url, select(digests.c.id, digests.c.period_end, digests.c.message_id))
    assert tuple(stored) == (did, end, digest_mail.message_id)
    [queued] = store.claim_pending(end)
    assert queued.message_id == digest_mail.message_id and queued.kind == "digest"
    assert [d.id for d in store.digest_candidates(end)] == ids[2:]    # its mail is being sent
    assert store.last_sent_digest() is None
    store.mark_sent(queued.id, at=end + timedelta(minutes=1), response="250 ok")
    last = store.last_sent_digest()
    assert last is not None and (last.id, last.period_end) == (did, end)
    assert last.sent_at == end + timedelta(minutes=1)


def test_prune_removes_events_of_sent_digests_only(store: Store, store_url: str) -> None:
    ids = _events(store, 2)
    store.create_digest(period_start=None, period_end=T0 + timedelta(hours=1),
                        event_ids=ids[:1], html_path="", mail=_mail(7, kind="digest"))
    assert store.prune(T0 + timedelta(days=30))["events"] == 0      # digest not sent yet
    [item] = store.claim_pending(T0 + timedelta(hours=1))
    store.mark_sent(item.id, at=T0 + timedelta(hours=1), response="250 ok")
    assert store.prune(T0 + timedelta(days=30))["events"] == 1
    assert [d.id for d in store.events()] == ids[1:]
    assert row_counts(store_url)["outbox"] == 1                    # the digest's mail is kept


def test_pruning_an_alerts_event_leaves_its_sent_mail_without_one(store: Store,
                                                                  store_url: str) -> None:
    ids = _events(store, 1, IMMEDIATE)
    store.create_digest(period_start=None, period_end=T0 + timedelta(hours=1), event_ids=ids,
                        html_path="", mail=_mail(8, kind="digest"))
    for item in store.claim_pending(T0 + timedelta(hours=1)):
        store.mark_rendered(item.id, subject="s", recipients=["a@example.org"], raw=b"x")
        store.mark_sent(item.id, at=T0 + timedelta(days=40), response="250 ok")
    assert store.prune(T0 + timedelta(days=30))["events"] == 1
    alert = next(i for i in store.outbox() if i.kind == "alert")
    assert alert.event_id is None and alert.status == "sent"
