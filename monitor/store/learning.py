"""What learning from verdicts reads: each judged story's text, and recent stories as the
background of word frequencies.

Owns the read side of the desk's verdicts for learning: ``verdict_version`` (changes
whenever a topic's relevant/not-relevant verdicts change, so a model is refitted only then),
``verdict_texts`` (per judged story its latest revision, outlet, verdict and whether the
topic matched it) and ``background_texts``. Plain records only; the model itself lives in
``monitor.match.learn``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from monitor.store.db import StoreBase
from monitor.store.schema import articles, matches, revisions, verdicts

JUDGED = ("relevant", "not_relevant")


@dataclass(frozen=True, slots=True)
class JudgedStory:
    """A story the desk judged for a topic, as learning needs it."""

    article_id: int
    title: str
    text: str
    source: str
    relevant: bool
    matched: bool


class LearningMixin(StoreBase):
    def verdict_version(self, topic: str) -> tuple[int, int]:
        """How many relevant/not-relevant verdicts the topic has, and the newest one's id."""
        query = select(func.count(), func.coalesce(func.max(verdicts.c.id), 0)).where(
            verdicts.c.topic == topic, verdicts.c.verdict.in_(JUDGED))
        with self._db.read() as conn:
            count, newest = conn.execute(query).one()
        return int(count), int(newest)

    def verdict_texts(self, topic: str) -> list[JudgedStory]:
        """Every story judged relevant or not relevant for ``topic``, with its latest text."""
        latest = select(revisions.c.article_id, func.max(revisions.c.id).label("rid")) \
            .group_by(revisions.c.article_id).subquery()
        query = (select(verdicts.c.article_id, verdicts.c.verdict, articles.c.source,
                        revisions.c.id, revisions.c.title, revisions.c.text)
                 .join(articles, articles.c.id == verdicts.c.article_id)
                 .join(latest, latest.c.article_id == verdicts.c.article_id)
                 .join(revisions, revisions.c.id == latest.c.rid)
                 .where(verdicts.c.topic == topic, verdicts.c.verdict.in_(JUDGED))
                 .order_by(verdicts.c.id))
        matched = select(matches.c.revision_id).where(matches.c.topic == topic,
                                                       matches.c.matched.is_(True))
        with self._db.read() as conn:
            rows = conn.execute(query).all()
            hits = set(conn.scalars(matched.where(
                matches.c.revision_id.in_([r.id for r in rows]))))
        return [JudgedStory(article_id=r.article_id, title=r.title, text=r.text,
                            source=r.source, relevant=r.verdict == "relevant",
                            matched=r.id in hits) for r in rows]

    def background_texts(self, limit: int = 200) -> list[str]:
        """The texts of the latest revisions stored: which words are common at all."""
        query = select(revisions.c.text).order_by(revisions.c.id.desc()).limit(limit)
        with self._db.read() as conn:
            return [str(t) for t in conn.scalars(query)]
