"""Verdicts from the review desk: what an analyst said about a story for a topic.

Owns the ``verdicts`` table: "relevant", "not_relevant", "mute" (the story never alerts
again for the topic) and "mute_outlet" (the story's outlet alerts no more for the topic),
each with its user and time. Recording a verdict twice keeps the first; "relevant" and
"not_relevant" replace each other. ``muted_events`` is what ``alerts.queue_alerts`` asks
inside its transaction, and ``not_dismissed`` the clause by which the digest and the
desk's default lists leave out stories marked not relevant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Connection, delete, exists, func, or_, select

from monitor.errors import StoreError
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.schema import articles, events, verdicts

Verdict = Literal["relevant", "not_relevant", "mute", "mute_outlet"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
_OPPOSITE = {"relevant": "not_relevant", "not_relevant": "relevant"}


@dataclass(frozen=True, slots=True)
class VerdictRow:
    article_id: int
    topic: str
    verdict: str
    outlet: str
    user: str
    at: datetime


def _muted(event: Any) -> Any:
    """True for an event whose story, or whose outlet, is muted for its topic."""
    story = exists().where(verdicts.c.article_id == event.c.article_id,
                           verdicts.c.topic == event.c.topic, verdicts.c.verdict == "mute")
    outlet = exists().where(verdicts.c.topic == event.c.topic,
                            verdicts.c.verdict == "mute_outlet",
                            verdicts.c.outlet == event.c.source)
    return or_(story, outlet)


def muted_events(conn: Connection, event_ids: Sequence[int]) -> set[int]:
    """Of ``event_ids``, the events that must not alert (muted story or outlet)."""
    if not event_ids:
        return set()
    query = select(events.c.id).where(events.c.id.in_(list(event_ids)), _muted(events))
    return set(conn.scalars(query))


def not_dismissed(event: Any = events) -> Any:
    """True for an event whose story was not marked not relevant for its topic."""
    return ~exists().where(verdicts.c.article_id == event.c.article_id,
                           verdicts.c.topic == event.c.topic,
                           verdicts.c.verdict == "not_relevant")


class VerdictsMixin(StoreBase):
    def record_verdict(self, article_id: int, topic: str, verdict: str, *, user: str,
                       at: datetime) -> bool | None:
        """Records ``verdict``; False when it was recorded before (nothing changes), None
        when no such article is stored (checked in the same transaction)."""
        if verdict not in VERDICTS:
            raise StoreError(f"unknown verdict {verdict!r}")
        with self._db.write() as conn:
            outlet = conn.scalar(select(articles.c.source).where(articles.c.id == article_id))
            if outlet is None:
                return None
            if verdict in _OPPOSITE:
                conn.execute(delete(verdicts).where(
                    verdicts.c.article_id == article_id, verdicts.c.topic == topic,
                    verdicts.c.verdict == _OPPOSITE[verdict]))
            stmt = insert_ignore(conn, verdicts, ["article_id", "topic", "verdict"]).values(
                article_id=article_id, topic=topic, verdict=verdict, outlet=outlet,
                user_name=user, created_at=at)
            return conn.scalar(stmt.returning(verdicts.c.id)) is not None

    def verdicts_of(self, article_id: int) -> list[VerdictRow]:
        query = (select(verdicts).where(verdicts.c.article_id == article_id)
                 .order_by(verdicts.c.created_at, verdicts.c.id))
        with self._db.read() as conn:
            return [VerdictRow(r.article_id, r.topic, r.verdict, r.outlet, r.user_name,
                               r.created_at) for r in conn.execute(query)]

    def verdict_counts(self) -> dict[str, dict[str, int]]:
        """Per topic, how many stories got each verdict."""
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        query = (select(verdicts.c.topic, verdicts.c.verdict, func.count())
                 .group_by(verdicts.c.topic, verdicts.c.verdict))
        with self._db.read() as conn:
            for topic, verdict, count in conn.execute(query):
                counts[topic][verdict] = int(count)
        return dict(counts)

