"""Re-checks asked for by hand (``news-monitor recheck``): the stories to fetch again now.

Owns finding the articles a user names, by a story id as ``deltas`` shows it (an event's
id, standing for its article), by URL (the article's canonical URL or a feed entry's link
to it) or all those still on the re-check schedule, and claiming them under the same lease
as scheduled re-checks, so a running service does not fetch one of them at the same time.
The re-check itself is the pipeline's, as for a scheduled one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from monitor.store.db import StoreBase
from monitor.store.leases import claim
from monitor.store.records import RecheckItem
from monitor.store.schema import articles, entries, events


class RechecksMixin(StoreBase):
    def story_ids(self, *, story: int | None = None, url: str | None = None,
                  all_recent: bool = False) -> list[int]:
        """The stored articles named: by event id, by URL, or all still re-checked."""
        with self._db.read() as conn:
            return list(conn.scalars(select(articles.c.id).where(_named(story, url, all_recent))
                                     .order_by(articles.c.id)))

    def claim_rechecks(self, ids: list[int], *, now: datetime) -> list[RecheckItem]:
        """Leases the articles ``ids`` for a re-check now, for the store's lease (the caller
        renews it while it works: ``LeaseKeeper``); those leased elsewhere are left."""
        with self._db.write() as conn:
            claimed = claim(conn, articles, articles.c.id.in_(ids), now=now, owner=self.owner,
                            seconds=self.lease_seconds)
            rows = conn.execute(select(articles).where(articles.c.id.in_(claimed))
                                .order_by(articles.c.id)).all()
        return [RecheckItem(article_id=r.id, url=r.url, etag=r.etag,
                            last_modified=r.last_modified, stage=r.check_stage, title=r.title,
                            summary=r.summary, source=r.source) for r in rows]


def _named(story: int | None, url: str | None, all_recent: bool) -> Any:
    if story is not None:
        return articles.c.id.in_(select(events.c.article_id).where(events.c.id == story))
    if url is not None:
        linked = select(entries.c.article_id).where(entries.c.link == url)
        return or_(articles.c.url == url, articles.c.id.in_(linked))
    if all_recent:
        return articles.c.next_check_at.is_not(None)
    return articles.c.id.is_(None)
