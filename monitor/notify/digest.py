"""The daily digest as a job: which deltas it covers, its source-health section, its archive
file, and queuing its mail.

A digest covers every delta since the last digest that was *sent*: the deltas in no digest
yet and those of a digest whose mail never went out (which the new one replaces), so a day
of downtime, or of a dead mail server, gives one catch-up digest covering both days and no
delta reaches two inboxes. Periods are UTC instants, so a daylight-saving change only moves
the local clock time printed. The job reads the store only through ``DigestStore`` and the
configuration only as ``DigestSettings`` (the wiring builds both); composing the mail is
``compose.compose_digest``. The digest row, the assignment of its deltas and its mail are
written in one store transaction, and the HTML is archived under ``archive_dir``.

A digest is identified by its route and period, the local day in ``timezone``; one process
at a time makes a route's digest, under the route's digest lease (renewed while it works;
another process waits for it), so every daemon and every ``digest --send`` at once yields
one digest of the day and each delta is in one digest. The scheduled digest finds a day
already made and skips it; one sent by hand after it is an extra digest of what is new
since (period: day and time), and says so when nothing is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from monitor.leasing import LeaseKeeper
from monitor.models import (
    Delta,
    DigestData,
    FeedHealth,
    FeedState,
    OutgoingMail,
    TopicDigest,
    message_id,
)
from monitor.notify.compose import compose_digest, render_digest_html
from monitor.notify.settings import MailSettings
from monitor.store.digests import digest_job, digest_lease
from monitor.store.records import JobClaim

log = logging.getLogger(__name__)
LEASE_POLL_SECONDS = 1.0


class SentDigest(Protocol):
    """The part of a stored digest the next one starts from."""

    @property
    def period_end(self) -> datetime: ...


class DigestStore(Protocol):
    """The store methods the digest job calls."""

    def claim_job(self, name: str, now: datetime) -> JobClaim: ...

    def release_job(self, job_id: int) -> None: ...

    def job_done_at(self, name: str) -> datetime | None: ...

    def last_sent_digest(self, route: str = "default") -> SentDigest | None: ...

    def digest_candidates(self, until: datetime, route: str = "default",
                          topics: Sequence[str] | None = None) -> Sequence[Delta]: ...

    def feed_states(self) -> Sequence[FeedState]: ...

    def extraction_problems(self, since: datetime | None,
                            until: datetime) -> Mapping[str, int]: ...

    def create_digest(self, *, period_start: datetime | None, period_end: datetime,
                      event_ids: Sequence[int], html_path: str, mail: OutgoingMail,
                      route: str = "default", period: str | None = None,
                      lease: int | None = None) -> int | None: ...


class DigestChannel(Protocol):
    """A route's channel, as far as the digest needs it."""

    def digest(self, data: DigestData, key: str, now: datetime) -> OutgoingMail: ...


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """What the digest job reads of the configuration."""

    timezone: str
    send_empty: bool
    topics: tuple[str, ...]     # the enabled topics' names, in configured order
    feeds: tuple[str, ...]      # the enabled feeds' names: only their health is reported
    mail: MailSettings          # sender and the digest's recipients
    archive_dir: Path           # where each digest's HTML is kept
    route: str = "default"      # whose digest this is
    topic_filter: tuple[str, ...] | None = None   # the route's topics; None: every topic
    lease_wait: float = 120.0   # how long to wait while another process makes the digest


@dataclass(frozen=True, slots=True)
class DigestDraft:
    """A digest composed but not yet queued: its content, deltas, mail and archive HTML."""

    data: DigestData
    event_ids: tuple[int, ...]
    mail: OutgoingMail
    html: str


@dataclass(frozen=True, slots=True)
class DigestResult:
    """A queued digest: its row, how many deltas it covers, its archive file and subject."""

    digest_id: int
    events: int
    html_path: Path
    subject: str
    period: str = ""


@dataclass(frozen=True, slots=True)
class DigestSkipped:
    """No digest was queued, and why: the period's was made already ("done", at ``made_at``),
    nothing is new since the last digest ("empty"; ``made_at``: the day's digest, if any),
    another process kept the route's digest lease past the wait ("busy"), or this one lost
    it while working ("lost")."""

    reason: Literal["done", "empty", "busy", "lost"]
    period: str
    made_at: datetime | None = None


def build_digest(store: DigestStore, settings: DigestSettings,
                 now: datetime) -> tuple[DigestData, list[int]]:
    """The digest's content and the ids of the deltas it covers."""
    events, start = _candidates(store, settings, now)
    return _data(store, settings, events, start, now, settings.topics), [e.id for e in events]


def preview_digests(store: DigestStore, routes: Sequence[DigestSettings],
                    now: datetime) -> DigestData:
    """What the next digests of ``routes`` carry together, as the desk shows it: every
    route's deltas, each once, grouped by topic in the routes' order; the period starts
    where the earliest of them starts. ``routes`` is not empty."""
    found: dict[int, Delta] = {}
    starts: list[datetime] = []
    for settings in routes:
        events, start = _candidates(store, settings, now)
        found.update((e.id, e) for e in events)
        starts += [start] if start is not None else []
    events = sorted(found.values(), key=lambda e: (e.detected_at, e.id))
    topics = tuple(dict.fromkeys(name for s in routes for name in s.topics))
    return _data(store, routes[0], events, min(starts, default=None), now, topics)


def _candidates(store: DigestStore, settings: DigestSettings,
                now: datetime) -> tuple[Sequence[Delta], datetime | None]:
    """The route's deltas a digest at ``now`` covers, and where its period starts."""
    last = store.last_sent_digest(settings.route)
    events = store.digest_candidates(now, settings.route, settings.topic_filter)
    start = last.period_end if last else min((e.detected_at for e in events), default=None)
    return events, start


def _data(store: DigestStore, settings: DigestSettings, events: Sequence[Delta],
          start: datetime | None, now: datetime, topics: Sequence[str]) -> DigestData:
    states = store.feed_states()
    return DigestData(
        period_start=start, period_end=now, timezone=settings.timezone,
        topics=_topics(events, topics),
        health=tuple(_health(s) for s in states if s.name in settings.feeds),
        extraction_problems=store.extraction_problems(start, now),
        counts={"new": sum(e.kind == "new" for e in events),
                "updated": sum(e.kind == "updated" for e in events),
                "feeds": len(settings.feeds),
                "feeds_failing": sum(1 for s in states if s.consecutive_errors)})


def one_per_story(events: Sequence[Delta]) -> list[Delta]:
    """Each story once (events oldest first): a story new in the period and updated since is
    its "new" entry carrying its latest change; a story updated several times is its latest
    update; a story "Am Rande erwähnt" (margin) only when it is not listed otherwise."""
    latest: dict[tuple[str, str], Delta] = {}
    for event in events:
        if event.kind == "updated":
            latest[(event.topic, event.url)] = event
    out: list[Delta] = []
    for event in events:
        key = (event.topic, event.url)
        if event.kind == "new":
            update = latest.pop(key, None)
            out.append(dataclasses.replace(event, diff=update.diff) if update else event)
    listed = {(e.topic, e.url) for e in events if e.kind in ("new", "updated")}
    margin = [e for e in events if e.kind == "margin" and (e.topic, e.url) not in listed]
    return out + list(latest.values()) + margin


def _topics(events: Sequence[Delta], names: Sequence[str]) -> tuple[TopicDigest, ...]:
    by_topic: dict[str, list[Delta]] = defaultdict(list)
    for event in one_per_story(events):
        by_topic[event.topic].append(event)
    ordered = list(names) + sorted(set(by_topic) - set(names))
    return tuple(TopicDigest(
        topic=name,
        new=tuple(sorted((e for e in by_topic[name] if e.kind == "new" and not e.held),
                         key=lambda e: -e.score)),
        held=tuple(e for e in by_topic[name] if e.kind == "new" and e.held),
        updated=tuple(e for e in by_topic[name] if e.kind == "updated"),
        margin=tuple(e for e in by_topic[name] if e.kind == "margin"))
        for name in ordered)


def _health(state: FeedState) -> FeedHealth:
    return FeedHealth(name=state.name, url=state.url, last_status=state.last_status,
                      last_error=state.last_error, consecutive_errors=state.consecutive_errors,
                      last_success_at=state.last_success_at, last_new_at=state.last_new_at)


def digest_period(now: datetime, timezone: str) -> str:
    """The period a digest made at ``now`` belongs to: its local day."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def render_digest(store: DigestStore, settings: DigestSettings, now: datetime,
                  period: str | None = None, channel: DigestChannel | None = None) -> DigestDraft:
    """The digest made at ``now`` (of ``period``, the day by default), composed for the
    route's ``channel`` (a mail when None); nothing is written. The archive HTML is the
    digest mail's HTML whatever the channel."""
    data, ids = build_digest(store, settings, now)
    period = period or digest_period(now, settings.timezone)
    key = message_id("digest", settings.route, period)
    if channel is None:
        mail, html = compose_digest(data, settings.mail, now=now, message_id=key)
    else:
        mail, html = channel.digest(data, key, now), render_digest_html(data)
    return DigestDraft(data, tuple(ids), mail, html)


async def send_digest(store: DigestStore, settings: DigestSettings,
                      clock: Callable[[], datetime], *, by_hand: bool = False,
                      empty: bool = False, keeper: LeaseKeeper | None = None,
                      channel: DigestChannel | None = None) -> DigestResult | DigestSkipped:
    """Make, archive and queue the digest of the day under the route's lease.

    Scheduled (``by_hand`` False): skipped when the day's digest was made, or when nothing
    is new and ``send_empty`` is off. By hand: the day's digest, or an extra one of what is
    new since it; nothing when nothing is new unless ``empty``."""
    lease = await _take_lease(store, settings, clock)
    if lease is None:
        return DigestSkipped("busy", digest_period(clock(), settings.timezone))
    try:
        with keeper.holding("jobs", [lease]) if keeper else contextlib.nullcontext():
            return await asyncio.to_thread(_make, store, settings, clock(), lease,
                                           by_hand, empty, channel)
    finally:
        await asyncio.to_thread(store.release_job, lease)


async def _take_lease(store: DigestStore, settings: DigestSettings,
                      clock: Callable[[], datetime]) -> int | None:
    """The route's digest lease, waiting while another process holds it (its digest is
    then made, or its lease ends when it died)."""
    deadline = time.monotonic() + settings.lease_wait
    while (claim := await asyncio.to_thread(store.claim_job, digest_lease(settings.route),
                                            clock())).status != "claimed":
        if time.monotonic() >= deadline:
            log.warning("digest status=busy route=%s holder=%s", settings.route, claim.owner)
            return None
        await asyncio.sleep(LEASE_POLL_SECONDS)
    return claim.id


def _make(store: DigestStore, settings: DigestSettings, now: datetime, lease: int,
          by_hand: bool, empty: bool,
          channel: DigestChannel | None) -> DigestResult | DigestSkipped:
    day = digest_period(now, settings.timezone)
    made = store.job_done_at(digest_job(settings.route, day))
    if made is not None and not by_hand:
        return DigestSkipped("done", day, made)
    local = now.astimezone(ZoneInfo(settings.timezone))
    period = day if made is None else f"{day}T{local:%H%M%S}"
    draft = render_digest(store, settings, now, period, channel)
    if not draft.event_ids and not (empty or (settings.send_empty and not by_hand)):
        return DigestSkipped("empty", period, made)
    path = archive_path(settings.archive_dir, now, settings.route)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.html, encoding="utf-8")
    digest_id = store.create_digest(period_start=draft.data.period_start, period_end=now,
                                    event_ids=draft.event_ids, html_path=str(path),
                                    mail=draft.mail, route=settings.route, period=period,
                                    lease=lease)
    if digest_id is None:
        path.unlink(missing_ok=True)
        return DigestSkipped("lost", period)
    return DigestResult(digest_id, len(draft.event_ids), path, draft.mail.subject, period)


def archive_path(archive_dir: Path, now: datetime, route: str = "default") -> Path:
    """The archive file of the route's digest made at ``now``."""
    suffix = "" if route == "default" else f"-{route}"
    return archive_dir / f"digest-{now:%Y-%m-%d-%H%M%S}{suffix}.html"
