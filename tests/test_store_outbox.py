"""Outbox and digests in the store: leases, delivery outcomes, digest bookkeeping."""

from __future__ import annotations

from datetime import timedelta

from monitor.models import OutgoingMail
from monitor.store import Store
from tests.test_store_support import (  # noqa: F401
    HB,
    T0,
    opener,
    outcome,
    row_counts,
    store,
    store_url,
)


def _mail(n: int, kind: str = "alert") -> OutgoingMail:
    return OutgoingMail(message_id=f"<test.{n}@news-monitor>", kind=kind,  # type: ignore[arg-type]
                        recipients=("analyse@example.org", "desk@example.org"),
                        subject=f"[Alibaba-Russland] Meldung {n}",
                        raw=f"Subject: Meldung {n}\r\n\r\nText ä ö ü\r\n".encode())


def test_enqueue_ignores_duplicate_message_ids(store: Store) -> None:
    assert store.enqueue([_mail(1), _mail(2)], at=T0) == 2
    assert store.enqueue([_mail(2), _mail(3)], at=T0) == 1
    items = store.outbox()
    assert [i.message_id for i in items] == ["<test.1@news-monitor>", "<test.2@news-monitor>",
                                             "<test.3@news-monitor>"]
    first = items[0]
    assert first.recipients == ("analyse@example.org", "desk@example.org")
    assert first.raw == _mail(1).raw and first.status == "pending" and first.attempts == 0


def test_claim_leases_between_two_processes(opener) -> None:  # type: ignore[no-untyped-def]
    a, b = opener(owner="a:1"), opener(owner="b:2")
    a.enqueue([_mail(n) for n in range(5)], at=T0)
    assert len(a.claim_pending(T0, limit=3)) == 3
    assert [i.message_id for i in b.claim_pending(T0)] == \
        ["<test.3@news-monitor>", "<test.4@news-monitor>"]
    assert a.claim_pending(T0 + timedelta(seconds=60)) == []
    assert len(b.claim_pending(T0 + timedelta(seconds=121))) == 5   # leases expired


def test_sent_failed_dead_and_retry(store: Store) -> None:
    store.enqueue([_mail(1), _mail(2)], at=T0)
    one, two = store.claim_pending(T0)
    store.mark_sent(one.id, at=T0 + timedelta(seconds=5), response="250 2.0.0 Ok: queued")
    store.mark_failed(two.id, at=T0, error="421 try later", next_attempt_at=T0 + timedelta(minutes=5),
                      dead=False)
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


def test_alerts_sent_since_counts_sent_alerts_only(store: Store) -> None:
    store.enqueue([_mail(1), _mail(2), _mail(3, kind="digest")], at=T0)
    for item in store.claim_pending(T0):
        if item.message_id != "<test.2@news-monitor>":
            store.mark_sent(item.id, at=T0 + timedelta(minutes=10), response="250 ok")
    assert store.alerts_sent_since(T0) == 1
    assert store.alerts_sent_since(T0 + timedelta(minutes=11)) == 0


def _events(store: Store, n: int) -> list[int]:
    ids = []
    for i in range(n):
        url = f"{HB}/aliexpress-{i}.html"
        ref = store.upsert_article(url, at=T0, title="AliExpress", source="Handelsblatt")
        saved = store.save_outcome(outcome(ref.id, url=url, at=T0 + timedelta(minutes=i)))
        ids.append(saved.deltas[0].id)
    return ids


def test_create_digest_assigns_events_and_queues_its_mail(store: Store) -> None:
    ids = _events(store, 3)
    assert [d.id for d in store.undigested_events(T0 + timedelta(hours=1))] == ids
    assert [d.id for d in store.undigested_events(T0 + timedelta(minutes=1))] == ids[:2]
    digest_mail = _mail(99, kind="digest")
    end = T0 + timedelta(hours=1)
    did = store.create_digest(period_start=None, period_end=end, event_ids=ids[:2],
                              html_path="/var/lib/news-monitor/digests/2024-03-04.html",
                              mail=digest_mail)
    assert [d.id for d in store.undigested_events(end)] == ids[2:]
    [queued] = store.outbox()
    assert queued.message_id == digest_mail.message_id and queued.kind == "digest"
    last = store.last_digest()
    assert last is not None and (last.id, last.sent_at, last.period_end) == (did, None, end)
    store.mark_sent(queued.id, at=end + timedelta(minutes=1), response="250 ok")
    assert store.last_digest().sent_at == end + timedelta(minutes=1)  # type: ignore[union-attr]


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
