"""The daily digest: which deltas it covers, its source-health section, and its archive file.

A digest covers every delta since the last digest that was *sent*: the deltas in no digest
yet and those of a digest whose mail never went out (which the new one replaces), so a day
of downtime, or of a dead mail server, gives one catch-up digest covering both days and no
delta reaches two inboxes. Periods are UTC instants, so a daylight-saving change only moves
the local clock time printed. Building the digest record reads the store; composing is
notify's pure work; the digest row, the assignment of its deltas and its mail are written in
one store transaction, and the HTML is archived under the state directory's ``digests/``.
``digest_trigger`` is the cron trigger the service schedules it with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from monitor.app.wiring import App
from monitor.config.model import Config
from monitor.models import (
    Delta,
    DigestData,
    FeedHealth,
    FeedState,
    OutgoingMail,
    TopicDigest,
    message_id,
)
from monitor.notify.delivery import mail_settings
from monitor.notify.digest import compose_digest


@dataclass(frozen=True, slots=True)
class DigestResult:
    digest_id: int
    events: int
    html_path: Path
    subject: str


def build_digest(app: App, now: datetime) -> tuple[DigestData, list[int]]:
    """The digest's content and the ids of the deltas it covers."""
    last = app.store.last_sent_digest()
    events = app.store.digest_candidates(now)
    start = last.period_end if last else min((e.detected_at for e in events), default=None)
    states = app.store.feed_states()
    data = DigestData(
        period_start=start, period_end=now, timezone=app.config.digest.timezone,
        topics=_topics(events, [t.name for t in app.topics]),
        health=tuple(_health(s) for s in states if _configured(app, s)),
        extraction_problems=app.store.extraction_problems(start, now),
        counts={"new": sum(e.kind == "new" for e in events),
                "updated": sum(e.kind == "updated" for e in events),
                "feeds": len(app.config.enabled_feeds),
                "feeds_failing": sum(1 for s in states if s.consecutive_errors)})
    return data, [e.id for e in events]


def digest_trigger(config: Config) -> CronTrigger:
    """Daily at ``[digest] time`` in ``[digest] timezone`` (wall-clock time across DST)."""
    return CronTrigger(hour=config.digest.time.hour, minute=config.digest.time.minute,
                       second=config.digest.time.second, timezone=config.digest.timezone)


def _configured(app: App, state: FeedState) -> bool:
    return any(f.name == state.name and f.enabled for f in app.config.feeds)


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


def render_digest(app: App, now: datetime) -> tuple[DigestData, list[int], OutgoingMail, str]:
    data, ids = build_digest(app, now)
    settings = mail_settings(app.config, to=app.config.digest_recipients)
    mail, html = compose_digest(data, settings, now=now,
                                message_id=message_id("digest", f"{now:%Y%m%dT%H%M%S}"))
    return data, ids, mail, html


async def send_digest(app: App, *, force: bool = False) -> DigestResult | None:
    """Create and queue the digest; None when the period is empty and send_empty is off."""
    now = app.clock()
    data, ids, mail, html = render_digest(app, now)
    if not ids and not app.config.digest.send_empty and not force:
        return None
    path = archive_path(app.config.state_dir, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    digest_id = app.store.create_digest(period_start=data.period_start, period_end=now,
                                        event_ids=ids, html_path=str(path), mail=mail)
    return DigestResult(digest_id, len(ids), path, mail.subject)


def archive_path(state_dir: Path, now: datetime) -> Path:
    return state_dir / "digests" / f"digest-{now:%Y-%m-%d-%H%M%S}.html"
