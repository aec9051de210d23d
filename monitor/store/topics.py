"""What each topic has found: stories matched recently and the last one.

Owns reading the ``matches`` of the stored revisions per topic for ``news-monitor topics``:
a story counts once per topic, at the time it first matched (a later re-check that matches
again does not make it new), and the last match is the story that first matched last.
Read only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from monitor.store.db import StoreBase
from monitor.store.schema import articles, matches, revisions


@dataclass(frozen=True, slots=True)
class TopicActivity:
    """One topic's matches: how many stories since a moment, and the latest story."""

    topic: str
    recent: int
    last_at: datetime | None
    last_title: str
    last_url: str


class TopicsMixin(StoreBase):
    def topic_activity(self, since: datetime) -> list[TopicActivity]:
        """Per topic with any match: stories first matched since ``since``, and the last."""
        first = (select(matches.c.topic, revisions.c.article_id,
                        func.min(revisions.c.fetched_at).label("first_at"))
                 .join(revisions, revisions.c.id == matches.c.revision_id)
                 .where(matches.c.matched.is_(True))
                 .group_by(matches.c.topic, revisions.c.article_id).subquery())
        totals = (select(first.c.topic,
                         func.sum(case((first.c.first_at >= since, 1), else_=0)).label("recent"),
                         func.max(first.c.first_at).label("last_at"))
                  .group_by(first.c.topic))
        latest = (select(first.c.topic, first.c.first_at, articles.c.title, articles.c.url)
                  .join(articles, articles.c.id == first.c.article_id)
                  .order_by(first.c.first_at.desc(), articles.c.id.desc()))
        with self._db.read() as conn:
            rows = conn.execute(totals).all()
            stories: dict[str, Any] = {}
            for row in conn.execute(latest):
                stories.setdefault(row.topic, row)
        return [TopicActivity(topic=r.topic, recent=int(r.recent or 0), last_at=r.last_at,
                              last_title=stories[r.topic].title if r.topic in stories else "",
                              last_url=stories[r.topic].url if r.topic in stories else "")
                for r in rows]
