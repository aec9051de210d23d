"""Events (deltas) as the users hear about them, with their cluster's other sources.

Owns reading the ``events`` table into ``Delta`` records: hits and diff decoded from their
JSON columns, ``cluster_size`` and ``also_reported_by`` taken from the articles sharing the
event's cluster. ``load_deltas`` is shared by ``save_outcome`` (the deltas it inserted),
the outbox (an alert's delta, loaded when it is rendered, so its cluster is current) and
digests, so every caller sees deltas built the same way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, select

from monitor.models import Delta
from monitor.store.codec import diff_from_json, hits_from_json
from monitor.store.db import StoreBase
from monitor.store.schema import articles, events
from monitor.store.tombstones import chunks

_QUERY: Select[Any] = select(events, articles.c.cluster_id).outerjoin(
    articles, articles.c.id == events.c.article_id)
NEWEST_FIRST = (events.c.detected_at.desc(), events.c.id.desc())
OLDEST_FIRST = (events.c.detected_at, events.c.id)


def _cluster_sources(conn: Connection, cluster_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for part in chunks(sorted(cluster_ids)):
        query = select(articles.c.cluster_id, articles.c.source).where(
            articles.c.cluster_id.in_(list(part)))
        for cluster_id, source in conn.execute(query):
            found[cluster_id].append(source)
    return found


def _delta(row: Row[Any], sources: list[str]) -> Delta:
    others = tuple(sorted({s for s in sources if s and s != row.source}))
    return Delta(
        id=row.id, kind=row.kind, topic=row.topic, url=row.url, title=row.title,
        source=row.source, published=row.published, detected_at=row.detected_at,
        score=row.score, hits=hits_from_json(row.hits), summary=row.summary,
        diff=diff_from_json(row.diff), also_reported_by=others,
        cluster_size=max(len(sources), 1), thread_id=row.thread_id,
        article_id=row.article_id, backfill=bool(row.backfill), held=row.held or "")


def load_deltas(conn: Connection, *where: Any,
                order: tuple[Any, ...] = NEWEST_FIRST) -> list[Delta]:
    """Deltas of the events matching ``where``, with their cluster filled in."""
    rows = conn.execute(_QUERY.where(*where).order_by(*order)).all()
    clusters = _cluster_sources(conn, {r.cluster_id for r in rows if r.cluster_id is not None})
    return [_delta(r, clusters.get(r.cluster_id, [])) for r in rows]


class EventsMixin(StoreBase):
    def events(self, *, since: datetime | None = None, topic: str | None = None) -> list[Delta]:
        where = []
        if since is not None:
            where.append(events.c.detected_at >= since)
        if topic is not None:
            where.append(events.c.topic == topic)
        with self._db.read() as conn:
            return load_deltas(conn, *where)
