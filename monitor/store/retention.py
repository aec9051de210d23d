"""Retention: ``prune`` removes old articles and entries and leaves tombstones behind.

Owns deleting what is older than the retention horizon: articles first seen before it
(with their revisions, matches and feed entries), entries never linked to an article and
first seen before it, events that are part of a sent digest and older than it, sent mails
no digest refers to, and job rows (done, or not held) older than it. Every removed URL and
entry key is tombstoned first, so a feed that still carries an old item never makes it
"new" again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from monitor.store.db import StoreBase
from monitor.store.schema import (
    articles,
    digest_items,
    digests,
    entries,
    events,
    jobs,
    matches,
    outbox,
    revisions,
)
from monitor.store.tombstones import bury

log = logging.getLogger(__name__)


def _doomed(before: datetime) -> tuple[Any, Any]:
    old_articles = select(articles.c.id).where(articles.c.first_seen < before).scalar_subquery()
    old_entries = or_(entries.c.article_id.in_(old_articles),
                      and_(entries.c.article_id.is_(None), entries.c.first_seen < before))
    return old_articles, old_entries


def _bury_all(conn: Connection, before: datetime, at: datetime) -> int:
    old_articles, old_entries = _doomed(before)
    urls = list(conn.scalars(select(articles.c.url).where(articles.c.id.in_(old_articles))))
    rows = conn.execute(select(entries.c.feed_id, entries.c.key, entries.c.link)
                        .where(old_entries)).all()
    urls += [r.link for r in rows]
    return bury(conn, at=at, urls=urls, keys=[(r.feed_id, r.key) for r in rows])


def _delete_articles(conn: Connection, before: datetime) -> dict[str, int]:
    old_articles, old_entries = _doomed(before)
    old_revisions = select(revisions.c.id).where(revisions.c.article_id.in_(old_articles))
    conn.execute(update(events).where(events.c.article_id.in_(old_articles))
                 .values(article_id=None, revision_id=None))
    counts = {
        "matches": conn.execute(delete(matches).where(
            matches.c.revision_id.in_(old_revisions.scalar_subquery()))).rowcount,
        "revisions": conn.execute(delete(revisions).where(
            revisions.c.article_id.in_(old_articles))).rowcount,
        "entries": conn.execute(delete(entries).where(old_entries)).rowcount,
    }
    counts["articles"] = conn.execute(delete(articles).where(
        articles.c.first_seen < before)).rowcount
    return counts


def _delete_sent(conn: Connection, before: datetime) -> dict[str, int]:
    sent_digests = (select(digests.c.id).join(outbox, outbox.c.message_id == digests.c.message_id)
                    .where(outbox.c.status == "sent"))
    digested = select(digest_items.c.event_id).where(digest_items.c.digest_id.in_(sent_digests))
    gone_events = conn.execute(delete(events).where(
        events.c.id.in_(digested.scalar_subquery()), events.c.detected_at < before)).rowcount
    kept_mails = select(digests.c.message_id).scalar_subquery()
    gone_mails = conn.execute(delete(outbox).where(
        outbox.c.status == "sent", outbox.c.sent_at < before,
        outbox.c.message_id.not_in(kept_mails))).rowcount
    return {"events": gone_events, "outbox": gone_mails}


def _delete_jobs(conn: Connection, before: datetime) -> dict[str, int]:
    """Jobs done before the horizon, and job rows nobody has held since then."""
    done = jobs.c.done_at < before
    abandoned = jobs.c.done_at.is_(None) & or_(jobs.c.lease_until.is_(None),
                                               jobs.c.lease_until < before)
    return {"jobs": conn.execute(delete(jobs).where(or_(done, abandoned))).rowcount}


class RetentionMixin(StoreBase):
    def prune(self, before: datetime) -> dict[str, int]:
        with self._db.write() as conn:
            buried = _bury_all(conn, before, at=datetime.now(UTC))
            counts = (_delete_articles(conn, before) | _delete_sent(conn, before)
                      | _delete_jobs(conn, before))
        counts["tombstones"] = buried
        log.info("store_pruned before=%s %s", before.isoformat(),
                 " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return counts
