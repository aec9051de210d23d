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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from monitor.models import (
    Delta,
    DigestData,
    FeedHealth,
    FeedState,
    OutgoingMail,
    TopicDigest,
    message_id,
)
from monitor.notify.compose import compose_digest
from monitor.notify.settings import MailSettings


class SentDigest(Protocol):
    """The part of a stored digest the next one starts from."""

    @property
    def period_end(self) -> datetime: ...


class DigestStore(Protocol):
    """The store methods the digest job calls."""

    def last_sent_digest(self) -> SentDigest | None: ...

    def digest_candidates(self, until: datetime) -> Sequence[Delta]: ...

    def feed_states(self) -> Sequence[FeedState]: ...

    def extraction_problems(self, since: datetime | None,
                            until: datetime) -> Mapping[str, int]: ...

    def create_digest(self, *, period_start: datetime | None, period_end: datetime,
                      event_ids: Sequence[int], html_path: str, mail: OutgoingMail) -> int: ...


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """What the digest job reads of the configuration."""

    timezone: str
    send_empty: bool
    topics: tuple[str, ...]     # the enabled topics' names, in configured order
    feeds: tuple[str, ...]      # the enabled feeds' names: only their health is reported
    mail: MailSettings          # sender and the digest's recipients
    archive_dir: Path           # where each digest's HTML is kept


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


def build_digest(store: DigestStore, settings: DigestSettings,
                 now: datetime) -> tuple[DigestData, list[int]]:
    """The digest's content and the ids of the deltas it covers."""
    last = store.last_sent_digest()
    events = store.digest_candidates(now)
    start = last.period_end if last else min((e.detected_at for e in events), default=None)
    states = store.feed_states()
    data = DigestData(
        period_start=start, period_end=now, timezone=settings.timezone,
        topics=_topics(events, settings.topics),
        health=tuple(_health(s) for s in states if s.name in settings.feeds),
        extraction_problems=store.extraction_problems(start, now),
        counts={"new": sum(e.kind == "new" for e in events),
                "updated": sum(e.kind == "updated" for e in events),
                "feeds": len(settings.feeds),
                "feeds_failing": sum(1 for s in states if s.consecutive_errors)})
    return data, [e.id for e in events]


def _topics(events: Sequence[Delta], names: Sequence[str]) -> tuple[TopicDigest, ...]:
    by_topic: dict[str, list[Delta]] = defaultdict(list)
    for event in events:
        by_topic[event.topic].append(event)
    ordered = list(names) + sorted(set(by_topic) - set(names))
    return tuple(TopicDigest(
        topic=name,
        new=tuple(sorted((e for e in by_topic[name] if e.kind == "new"),
                         key=lambda e: -e.score)),
        updated=tuple(e for e in by_topic[name] if e.kind == "updated"))
        for name in ordered)


def _health(state: FeedState) -> FeedHealth:
    return FeedHealth(name=state.name, url=state.url, last_status=state.last_status,
                      last_error=state.last_error, consecutive_errors=state.consecutive_errors,
                      last_success_at=state.last_success_at, last_new_at=state.last_new_at)


def render_digest(store: DigestStore, settings: DigestSettings, now: datetime) -> DigestDraft:
    """The digest made at ``now``, composed; nothing is written."""
    data, ids = build_digest(store, settings, now)
    mail, html = compose_digest(data, settings.mail, now=now,
                                message_id=message_id("digest", f"{now:%Y%m%dT%H%M%S}"))
    return DigestDraft(data, tuple(ids), mail, html)


async def send_digest(store: DigestStore, settings: DigestSettings,
                      clock: Callable[[], datetime], *,
                      force: bool = False) -> DigestResult | None:
    """Create, archive and queue the digest; None when the period is empty and
    ``send_empty`` is off (``force`` makes one anyway)."""
    now = clock()
    draft = render_digest(store, settings, now)
    if not draft.event_ids and not settings.send_empty and not force:
        return None
    path = archive_path(settings.archive_dir, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.html, encoding="utf-8")
    digest_id = store.create_digest(period_start=draft.data.period_start, period_end=now,
                                    event_ids=draft.event_ids, html_path=str(path),
                                    mail=draft.mail)
    return DigestResult(digest_id, len(draft.event_ids), path, draft.mail.subject)


def archive_path(archive_dir: Path, now: datetime) -> Path:
    """The archive file of the digest made at ``now``."""
    return archive_dir / f"digest-{now:%Y-%m-%d-%H%M%S}.html"
