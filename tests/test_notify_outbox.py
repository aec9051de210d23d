"""The outbox flush against an in-memory store fake and a real SMTP server that starts late;
alerts queued unrendered are rendered from their delta when first sent."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from monitor import backoff
from monitor.errors import StoreError
from monitor.models import Delta, OutboxItem, OutgoingMail
from monitor.notify.compose import compose_alert
from monitor.notify.mailer import SmtpMailer
from monitor.notify.outbox import flush_outbox
from monitor.notify.settings import SmtpSettings
from tests.test_notify_data import SETTINGS, T0, Collector, free_port, new_delta, serving


@dataclass
class FakeOutbox:
    """The OutboxStore protocol in memory: leases, attempts and dead mails like the store."""

    items: dict[int, OutboxItem]
    leases: dict[int, datetime]

    @classmethod
    def of(cls, mails: list[OutgoingMail]) -> FakeOutbox:
        items = {n: OutboxItem(id=n, message_id=m.message_id, kind=m.kind, recipients=m.recipients,
                               subject=m.subject, raw=m.raw, status="pending", attempts=0,
                               next_attempt_at=None, last_error=None, created_at=T0, sent_at=None)
                 for n, m in enumerate(mails, start=1)}
        return cls(items, {})

    def claim_pending(self, now: datetime, *, limit: int = 20,
                      lease_seconds: float = 120) -> list[OutboxItem]:
        due = [i for i in self.items.values() if i.status == "pending"
               and (i.next_attempt_at is None or i.next_attempt_at <= now)
               and self.leases.get(i.id, now) <= now][:limit]
        for item in due:
            self.leases[item.id] = now + timedelta(seconds=lease_seconds)
        return due

    def mark_rendered(self, item_id: int, *, subject: str, recipients: Sequence[str],
                      raw: bytes) -> None:
        self.items[item_id] = replace(self.items[item_id], subject=subject,
                                      recipients=tuple(recipients), raw=raw, delta=None)

    def mark_sent(self, item_id: int, *, at: datetime, response: str) -> None:
        self.items[item_id] = replace(self.items[item_id], status="sent", sent_at=at,
                                      attempts=self.items[item_id].attempts + 1)
        self.leases.pop(item_id, None)

    def mark_failed(self, item_id: int, *, at: datetime, error: str,
                    next_attempt_at: datetime | None, dead: bool) -> None:
        item = self.items[item_id]
        self.items[item_id] = replace(item, attempts=item.attempts + 1, last_error=error,
                                      next_attempt_at=next_attempt_at,
                                      status="dead" if dead else "pending")
        self.leases.pop(item_id, None)

    def status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items.values():
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def alerts(count: int, *, poison: int | None = None) -> list[OutgoingMail]:
    return [compose_alert(new_delta(id=n, title="GIFT" if n == poison else f"Meldung {n}"),
                          SETTINGS, now=T0, message_id=f"<alert.{n}@news-monitor.localhost>")
            for n in range(count)]


def render(delta: Delta, message_id: str, now: datetime, route: str = "default") -> OutgoingMail:
    return compose_alert(delta, SETTINGS, now=now, message_id=message_id)


def flush(store: FakeOutbox, mailer: Any, clock: Clock, **options: Any) -> Any:
    options.setdefault("render", render)
    return asyncio.run(flush_outbox(store, mailer, clock=clock, rng=random.Random(7), **options))


def test_server_down_then_up_delivers_every_mail_exactly_once() -> None:
    port = free_port()
    store, clock = FakeOutbox.of(alerts(4)), Clock()
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=5))
    for _ in range(3):
        report = flush(store, mailer, clock)
        assert (report.sent, report.failed, report.dead) == (0, 4, 0)
        assert "cannot connect" in report.errors[0]
        assert flush(store, mailer, clock).failed == 0  # backing off: nothing due yet
        clock.now += timedelta(hours=7)
    assert {i.attempts for i in store.items.values()} == {3}
    handler = Collector()
    with serving(handler, port):
        report = flush(store, mailer, clock)
        clock.now += timedelta(hours=7)
        again = flush(store, mailer, clock)
    assert (report.sent, report.failed, report.dead) == (4, 0, 0)
    assert again.sent == 0 and store.status() == {"sent": 4}
    received = sorted(m["Message-ID"] for m in handler.messages())
    assert received == sorted(f"<alert.{n}@news-monitor.localhost>" for n in range(4))


@dataclass
class PoisonCollector(Collector):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if b"GIFT" in envelope.content:
            return "554 5.6.0 Inhalt abgelehnt"
        return await super().handle_DATA(server, session, envelope)


def test_permanent_failure_is_dead_and_never_blocks_the_others() -> None:
    handler = PoisonCollector()
    store, clock = FakeOutbox.of(alerts(3, poison=0)), Clock()
    with serving(handler) as controller:
        mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=controller.port, security="none"))
        report = flush(store, mailer, clock)
        clock.now += timedelta(days=2)
        later = flush(store, mailer, clock)
    assert (report.sent, report.failed, report.dead) == (2, 0, 1)
    assert "554 5.6.0 Inhalt abgelehnt" in report.errors[0]
    assert later == type(later)()  # the dead mail is never claimed again
    assert store.items[1].status == "dead" and len(handler.envelopes) == 2


class FlakyMailer:
    """Fails transiently for the listed message ids, raises a bug for 'boom'."""

    def __init__(self, failing: set[str]) -> None:
        self.failing, self.sent = failing, []  # type: list[str]

    async def send(self, mail: OutgoingMail) -> str:
        from monitor.errors import TransientDeliveryError

        if "boom" in mail.message_id:
            raise RuntimeError("mailer bug")
        if mail.message_id in self.failing:
            raise TransientDeliveryError("451 try later")
        self.sent.append(mail.message_id)
        return "250 ok"


def test_backoff_grows_with_jitter_and_gives_up_after_max_attempts() -> None:
    mail = alerts(1)[0]
    store, clock = FakeOutbox.of([mail]), Clock()
    mailer = FlakyMailer({mail.message_id})
    waits = []
    for _ in range(5):
        flush(store, mailer, clock, base_delay=60, max_delay=600, max_attempts=5)
        item = store.items[1]
        if item.next_attempt_at:
            waits.append((item.next_attempt_at - clock.now).total_seconds())
            clock.now = item.next_attempt_at
    bounds = [60, 120, 240, 480]
    assert all(b / 2 <= w <= b for w, b in zip(waits, bounds, strict=True))
    assert store.items[1].status == "dead"
    assert "gave up after 5 attempts" in str(store.items[1].last_error)
    assert backoff.delay(12, base=60, cap=600, rng=random.Random(1)) <= 600


def test_one_mailer_bug_does_not_stop_the_others() -> None:
    ids = ["<a@x>", "<boom@x>", "<c@x>"]
    mails = [replace(m, message_id=mid) for m, mid in zip(alerts(3), ids, strict=True)]
    store, mailer = FakeOutbox.of(mails), FlakyMailer(set())
    report = flush(store, mailer, Clock())
    assert (report.sent, report.failed) == (2, 1) and mailer.sent == ["<a@x>", "<c@x>"]
    assert "RuntimeError: mailer bug" in report.errors[0]


class BrokenStore(FakeOutbox):
    def mark_sent(self, item_id: int, *, at: datetime, response: str) -> None:
        if item_id == 1:
            raise StoreError("database is locked")
        super().mark_sent(item_id, at=at, response=response)


def test_store_failure_on_one_mail_is_reported_and_the_rest_continue() -> None:
    base = FakeOutbox.of(alerts(2))
    store = BrokenStore(base.items, {})
    report = flush(store, FlakyMailer(set()), Clock())
    assert report.sent == 1 and "database is locked" in report.errors[0]


def queued_alerts(count: int, *, poison: int | None = None) -> FakeOutbox:
    """Alerts as the store queues them: final Message-ID, the event's delta, no bytes yet."""
    store = FakeOutbox.of([])
    for n in range(1, count + 1):
        delta = new_delta(id=n, title="GIFT" if n == poison else f"Meldung {n}",
                          thread_id=f"<alert.{n}@news-monitor.localhost>")
        store.items[n] = OutboxItem(
            id=n, message_id=delta.thread_id, kind="alert", recipients=(), subject="", raw=b"",
            status="pending", attempts=0, next_attempt_at=None, last_error=None,
            created_at=T0, sent_at=None, event_id=n, delta=delta)
    return store


def test_an_alert_is_rendered_when_first_sent_and_retries_resend_the_same_bytes() -> None:
    store, clock = queued_alerts(1), Clock()
    mailer = FlakyMailer({"<alert.1@news-monitor.localhost>"})
    report = flush(store, mailer, clock)
    assert report.failed == 1
    rendered = store.items[1]
    assert rendered.raw and rendered.recipients == SETTINGS.to and "Meldung 1" in rendered.subject
    assert b"Message-ID: <alert.1@news-monitor.localhost>" in rendered.raw
    mailer.failing.clear()
    clock.now = rendered.next_attempt_at or clock.now
    calls: list[int] = []

    def counting(delta: Delta, message_id: str, now: datetime, route: str) -> OutgoingMail:
        calls.append(delta.id)
        return render(delta, message_id, now)

    assert flush(store, mailer, clock, render=counting).sent == 1
    assert calls == [] and store.items[1].raw == rendered.raw
    assert mailer.sent == ["<alert.1@news-monitor.localhost>"]


def test_an_alert_that_cannot_be_built_is_dead_with_the_reason_and_the_rest_go_out() -> None:
    store, mailer = queued_alerts(3, poison=2), FlakyMailer(set())

    def fussy(delta: Delta, message_id: str, now: datetime, route: str) -> OutgoingMail:
        if delta.title == "GIFT":
            raise ValueError("Vorlage kaputt")
        return render(delta, message_id, now)

    report = flush(store, mailer, Clock(), render=fussy)
    assert (report.sent, report.failed, report.dead) == (2, 0, 1)
    dead = store.items[2]
    assert (dead.status, dead.raw) == ("dead", b"")
    assert dead.last_error == "cannot build the mail: ValueError: Vorlage kaputt"
    assert mailer.sent == ["<alert.1@news-monitor.localhost>", "<alert.3@news-monitor.localhost>"]


def test_an_alert_whose_event_is_gone_or_a_mail_without_bytes_is_dead() -> None:
    store = queued_alerts(1)
    store.items[1] = replace(store.items[1], delta=None)
    store.items[2] = replace(store.items[1], id=2, message_id="<x@y>", event_id=None,
                             last_error="cannot build the mail: no recipients configured")
    report = flush(store, FlakyMailer(set()), Clock())
    assert report.dead == 2
    assert store.items[1].last_error == "cannot build the mail: its event is no longer stored"
    assert store.items[2].last_error == "cannot build the mail: no recipients configured"
