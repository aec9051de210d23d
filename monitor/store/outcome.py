"""``save_outcome``: everything one article check produced, in one transaction.

Owns the write of a checked article: a revision when the text changed materially (same
``text_hash`` reuses the latest), one match row per (revision, topic), the events (each
unique per article, topic, revision and kind, so a repeated outcome adds nothing), the
cluster and MinHash signature, the re-check schedule and validators, and the alert mails
that the caller's ``render`` callback makes from the deltas actually inserted. If anything
fails, render included, nothing of the outcome is written. A new article's cluster is found
inside the same (serialised) write transaction by the caller's ``find_cluster`` over the
recent signatures; with ``one_new_per_cluster`` a ``new`` event of an article whose cluster
already holds another article's ``new`` event for that topic is not written (wire copy
attaches): so two copies of one story saved at the same moment, by one process or several,
alert once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from monitor.models import Delta, MatchResult, OutgoingMail
from monitor.store.articles import cluster_alerted, latest_revision_row, signatures_since
from monitor.store.codec import diff_to_json, hits_to_json
from monitor.store.db import StoreBase
from monitor.store.dialect import advisory_lock, insert_ignore, upsert
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.leases import FREE
from monitor.store.outbox import insert_mails
from monitor.store.records import ArticleOutcome, NewEvent, SavedOutcome, message_id_for
from monitor.store.schema import articles, events, matches, revisions

log = logging.getLogger(__name__)
Render = Callable[[list[Delta]], list[OutgoingMail]]
ClusterFinder = Callable[[list[tuple[int, int, bytes]]], int | None]
_CLUSTER_LOCK = 727_002   # advisory lock key of cluster assignment


def _clustered(conn: Connection, o: ArticleOutcome, since: datetime | None,
               find: ClusterFinder | None) -> ArticleOutcome:
    """The outcome with the cluster ``find`` picks among articles first seen since ``since``."""
    if find is None or since is None or not o.signature:
        return o
    advisory_lock(conn, _CLUSTER_LOCK)   # one cluster assignment at a time
    rows = [r for r in signatures_since(conn, since) if r[0] != o.article_id]
    found = find(rows)
    return dataclasses.replace(o, cluster_id=found) if found is not None else o


def _wanted(conn: Connection, o: ArticleOutcome, ev: NewEvent, one_new: bool) -> bool:
    return not (one_new and ev.kind == "new" and cluster_alerted(conn, o.article_id, ev.topic))


def _revision(conn: Connection, o: ArticleOutcome) -> tuple[int, bool]:
    latest = latest_revision_row(conn, o.article_id)
    if latest is not None and latest.text_hash == o.text_hash:
        return int(latest.id), False
    new_id = conn.scalar(insert(revisions).values(
        article_id=o.article_id, title=o.title, text=o.text, text_hash=o.text_hash,
        fetched_at=o.fetched_at, extract_status=o.extract_status).returning(revisions.c.id))
    return int(new_id), True


def _matches(conn: Connection, revision_id: int, results: tuple[MatchResult, ...]) -> None:
    rows = [{"revision_id": revision_id, "topic": m.topic, "matched": m.matched,
             "score": m.score, "hits": hits_to_json(m.hits)} for m in results]
    if rows:
        conn.execute(upsert(conn, matches, ["revision_id", "topic"],
                            ["matched", "score", "hits"]), rows)


def _article(conn: Connection, o: ArticleOutcome) -> None:
    values: dict[str, Any] = {
        "summary": o.summary, "published": o.published, "next_check_at": o.next_check_at,
        "check_stage": o.check_stage, "etag": o.etag, "last_modified": o.last_modified,
        **FREE,
        "cluster_id": o.cluster_id if o.cluster_id is not None
        else func.coalesce(articles.c.cluster_id, o.article_id),
    }
    if o.title:
        values["title"] = o.title
    if o.signature is not None:
        values["signature"] = o.signature
    conn.execute(update(articles).where(articles.c.id == o.article_id).values(**values))


def _thread_id(conn: Connection, o: ArticleOutcome, ev: NewEvent, revision_id: int) -> str:
    first = conn.scalar(select(events.c.thread_id)
                        .where(events.c.article_id == o.article_id, events.c.topic == ev.topic)
                        .order_by(events.c.id).limit(1))
    return first or message_id_for(o.article_id, ev.topic, ev.kind, revision_id)


def _event(conn: Connection, o: ArticleOutcome, ev: NewEvent, revision_id: int) -> int | None:
    row = {"article_id": o.article_id, "revision_id": revision_id, "topic": ev.topic,
           "kind": ev.kind, "prev_revision_id": ev.prev_revision_id, "score": ev.score,
           "hits": hits_to_json(ev.hits), "diff": diff_to_json(ev.diff), "url": o.url,
           "title": o.title, "summary": o.summary, "source": o.source,
           "published": o.published, "detected_at": o.fetched_at,
           "thread_id": _thread_id(conn, o, ev, revision_id)}
    stmt = insert_ignore(conn, events, ["article_id", "topic", "revision_id", "kind"])
    return conn.scalar(stmt.values(**row).returning(events.c.id))


class OutcomeMixin(StoreBase):
    def save_outcome(self, outcome: ArticleOutcome, render: Render | None = None, *,
                     cluster_since: datetime | None = None,
                     find_cluster: ClusterFinder | None = None,
                     one_new_per_cluster: bool = False) -> SavedOutcome:
        with self._db.write() as conn:
            outcome = _clustered(conn, outcome, cluster_since, find_cluster)
            revision_id, created = _revision(conn, outcome)
            _matches(conn, revision_id, outcome.matches)
            _article(conn, outcome)
            ids = [i for ev in outcome.events if _wanted(conn, outcome, ev, one_new_per_cluster)
                   and (i := _event(conn, outcome, ev, revision_id))]
            deltas = load_deltas(conn, events.c.id.in_(ids), order=OLDEST_FIRST) if ids else []
            mails = render(list(deltas)) if render is not None and deltas else []
            queued = insert_mails(conn, mails, at=outcome.fetched_at)
        log.info("outcome_saved article_id=%d revision_id=%d revision_created=%s events=%d "
                 "mails=%d", outcome.article_id, revision_id, created, len(ids), queued)
        return SavedOutcome(revision_id, created, tuple(deltas), queued)
