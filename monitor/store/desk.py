"""What the review desk reads and changes beyond verdicts and search.

Owns the desk's narrow queries: the story list (events with their verdict state, filtered
and paged), one story with everything known about it (revisions, matches, cluster, the
feeds that carried it, its events, the messages sent about it and their state), the
events of a day's digest, pausing a feed (its next poll moved to the far future; resuming
makes it due now) and backfill events (a topic applied to stored articles: events marked
``backfill`` that only a digest reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, select, update

from monitor.models import Delta, Hit, alert_thread_id
from monitor.store.codec import hits_from_json, hits_to_json
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.events import load_deltas
from monitor.store.schema import (
    articles,
    digest_items,
    digests,
    entries,
    events,
    feeds,
    matches,
    outbox,
    revisions,
    verdicts,
)
from monitor.store.tombstones import chunks
from monitor.store.verdicts import not_dismissed

PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoryFilter:
    topic: str | None = None
    kind: str | None = None
    outlet: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    verdict: str | None = None     # None: all but "not relevant"; "any": all; or one verdict


@dataclass(frozen=True, slots=True)
class StoryRow:
    event_id: int
    article_id: int
    topic: str
    kind: str
    title: str
    source: str
    url: str
    detected_at: datetime
    backfill: bool


@dataclass(frozen=True, slots=True)
class RevisionText:
    id: int
    title: str
    text: str
    fetched_at: datetime
    extract_status: str


@dataclass(frozen=True, slots=True)
class TopicMatch:
    topic: str
    matched: bool
    score: float
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class Carrier:
    feed: str
    title: str
    link: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Story:
    id: int
    title: str
    url: str
    source: str
    first_seen: datetime
    published: datetime | None
    revisions: tuple[RevisionText, ...]
    matches: tuple[TopicMatch, ...]
    cluster: tuple[tuple[int, str, str, str], ...]     # id, title, source, url
    carriers: tuple[Carrier, ...]
    events: tuple[Delta, ...]
    messages: tuple[Message, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class BackfillText:
    article_id: int
    revision_id: int
    title: str
    text: str
    summary: str
    url: str
    source: str
    published: datetime | None


def _story_where(f: StoryFilter) -> list[Any]:
    where: list[Any] = [events.c.article_id.is_not(None)]
    for column, value in ((events.c.topic, f.topic), (events.c.kind, f.kind),
                          (events.c.source, f.outlet)):
        if value:
            where.append(column == value)
    if f.since:
        where.append(events.c.detected_at >= f.since)
    if f.until:
        where.append(events.c.detected_at < f.until)
    if f.verdict is None:
        where.append(not_dismissed())
    elif f.verdict != "any":
        where.append(exists().where(verdicts.c.article_id == events.c.article_id,
                                    verdicts.c.topic == events.c.topic,
                                    verdicts.c.verdict == f.verdict))
    return where


def _messages(conn: Connection, event_ids: list[int]) -> list[Message]:
    if not event_ids:
        return []
    in_digest = (select(digests.c.message_id)
                 .join(digest_items, digest_items.c.digest_id == digests.c.id)
                 .where(digest_items.c.event_id.in_(event_ids)))
    query = (select(outbox).where((outbox.c.event_id.in_(event_ids))
                                  | outbox.c.message_id.in_(in_digest))
             .order_by(outbox.c.created_at))
    return [Message(r.kind, r.subject, r.status, r.attempts, r.created_at, r.sent_at,
                    r.last_error) for r in conn.execute(query)]


def _story(conn: Connection, row: Any) -> Story:
    revs = conn.execute(select(revisions).where(revisions.c.article_id == row.id)
                        .order_by(revisions.c.id)).all()
    found = conn.execute(select(matches).where(matches.c.revision_id == revs[-1].id)
                         .order_by(matches.c.topic)).all() if revs else []
    cluster = conn.execute(select(articles.c.id, articles.c.title, articles.c.source,
                                  articles.c.url)
                           .where(articles.c.cluster_id == row.cluster_id,
                                  articles.c.id != row.id)).all() if row.cluster_id else []
    carriers = conn.execute(select(feeds.c.name, entries.c.title, entries.c.link,
                                   entries.c.first_seen)
                            .join(feeds, feeds.c.id == entries.c.feed_id)
                            .where(entries.c.article_id == row.id)).all()
    deltas = load_deltas(conn, events.c.article_id == row.id)
    return Story(
        row.id, row.title, row.url, row.source, row.first_seen, row.published,
        tuple(RevisionText(r.id, r.title, r.text, r.fetched_at, r.extract_status)
              for r in revs),
        tuple(TopicMatch(m.topic, bool(m.matched), m.score, hits_from_json(m.hits))
              for m in found),
        tuple((c.id, c.title, c.source, c.url) for c in cluster),
        tuple(Carrier(c.name, c.title, c.link, c.first_seen) for c in carriers),
        tuple(deltas), tuple(_messages(conn, [d.id for d in deltas])))


class DeskMixin(StoreBase):
    def stories(self, f: StoryFilter, *, limit: int = 50, offset: int = 0) -> list[StoryRow]:
        """Events of stored stories, newest first, as the desk's list shows them."""
        query = (select(events).where(*_story_where(f))
                 .order_by(events.c.detected_at.desc(), events.c.id.desc())
                 .limit(limit).offset(offset))
        with self._db.read() as conn:
            return [StoryRow(r.id, r.article_id, r.topic, r.kind, r.title, r.source, r.url,
                             r.detected_at, bool(r.backfill)) for r in conn.execute(query)]

    def event_articles(self, event_ids: Sequence[int]) -> dict[int, int]:
        """The article of each event (events of pruned articles have none)."""
        found: dict[int, int] = {}
        with self._db.read() as conn:
            for part in chunks(sorted(set(event_ids))):
                query = select(events.c.id, events.c.article_id).where(
                    events.c.id.in_(list(part)), events.c.article_id.is_not(None))
                found.update({int(e): int(a) for e, a in conn.execute(query)})
        return found

    def outlets(self) -> list[str]:
        with self._db.read() as conn:
            return list(conn.scalars(select(events.c.source).distinct().order_by(
                events.c.source)))

    def story(self, article_id: int) -> Story | None:
        with self._db.read() as conn:
            row = conn.execute(select(articles).where(articles.c.id == article_id)).first()
            return None if row is None else _story(conn, row)

    def digest_days(self, limit: int = 30) -> list[str]:
        """The days (periods) of the latest digests made, newest first."""
        with self._db.read() as conn:
            periods = conn.scalars(select(digests.c.period).where(digests.c.period.is_not(None))
                                   .order_by(digests.c.id.desc()).limit(limit))
            return list(dict.fromkeys(p[:10] for p in periods))

    def digest_events(self, day: str) -> list[Delta]:
        """The events in the digests of ``day`` (its own and any extra ones), without the
        stories marked not relevant since."""
        ids = select(digests.c.id).where(digests.c.period.like(f"{day}%"))
        members = select(digest_items.c.event_id).where(digest_items.c.digest_id.in_(ids))
        with self._db.read() as conn:
            return load_deltas(conn, events.c.id.in_(members), not_dismissed())

    def backfill_events(self, digest_day: str | None = None) -> set[int]:
        """Ids of the events found by backfill (of one day's digests, or not yet digested)."""
        where = [events.c.backfill.is_(True)]
        if digest_day is None:
            where.append(events.c.id.not_in(select(digest_items.c.event_id)))
        else:
            days = select(digests.c.id).where(digests.c.period.like(f"{digest_day}%"))
            where.append(events.c.id.in_(select(digest_items.c.event_id).where(
                digest_items.c.digest_id.in_(days))))
        with self._db.read() as conn:
            return set(conn.scalars(select(events.c.id).where(*where)))

    def set_feed_paused(self, name: str, paused: bool, now: datetime) -> bool:
        """Pause a feed (no poll until resumed) or resume it (due now); False if unknown."""
        with self._db.write() as conn:
            done = conn.execute(update(feeds).where(feeds.c.name == name).values(
                next_poll_at=PAUSED_UNTIL if paused else now))
            return bool(done.rowcount)

    def backfill_texts(self, topic: str, since: datetime) -> list[BackfillText]:
        """Latest revisions of articles first seen since ``since`` with no event for
        ``topic`` yet: what a backfill of the topic looks at."""
        newest = (select(func.max(revisions.c.id)).group_by(revisions.c.article_id)
                  .scalar_subquery())
        has_event = exists().where(events.c.article_id == articles.c.id, events.c.topic == topic)
        query = (select(articles, revisions.c.id.label("revision_id"),
                        revisions.c.title.label("rev_title"), revisions.c.text)
                 .join(revisions, and_(revisions.c.article_id == articles.c.id,
                                       revisions.c.id.in_(newest)))
                 .where(articles.c.first_seen >= since, ~has_event)
                 .order_by(articles.c.first_seen))
        with self._db.read() as conn:
            return [BackfillText(r.id, r.revision_id, r.rev_title or r.title, r.text, r.summary,
                                 r.url, r.source, r.published) for r in conn.execute(query)]

    def add_backfill_events(self, topic: str, found: Sequence[tuple[BackfillText, float,
                                                                     tuple[Hit, ...]]],
                            at: datetime) -> int:
        """Events marked backfill for the stories ``found`` (text, score, hits); they go to
        the next digest and never to an alert. Returns how many were new."""
        added = 0
        with self._db.write() as conn:
            for text, score, hits in found:
                row = {"article_id": text.article_id, "revision_id": text.revision_id,
                       "topic": topic, "kind": "new", "score": score,
                       "hits": hits_to_json(hits), "url": text.url, "title": text.title,
                       "summary": text.summary, "source": text.source,
                       "published": text.published, "detected_at": at, "backfill": True,
                       "thread_id": alert_thread_id(text.article_id, topic, "new",
                                                    text.revision_id)}
                stmt = insert_ignore(conn, events, ["article_id", "topic", "revision_id",
                                                    "kind"])
                added += conn.scalar(stmt.values(**row).returning(events.c.id)) is not None
        return added
