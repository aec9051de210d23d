"""``save_outcome``: everything one article check produced, in one transaction.

Owns the write of a checked article: a revision when the text changed materially (same
``text_hash`` reuses the latest), one match row per (revision, topic), the events (each unique
per article, topic, revision and kind, so a repeated outcome adds nothing), the cluster and
MinHash signature, the re-check schedule and validators, and for each event inserted a delivery
row or a fold per route, as the outcome's ``RoutePolicy``s say (``store.alerts``; the messages
are rendered later, when sent; a ``margin`` event, a story the digest lists "Am Rande erwähnt",
never gets either). If anything fails, nothing of the outcome is written. A new
article's cluster is decided inside the same (serialised) write transaction from its
``ClusterQuery``: the cluster of the most similar article first seen in the window
(``monitor.signatures``); with ``one_new_per_cluster`` a ``new`` event of an article whose
cluster already holds another article's ``new`` event for that topic is not written (wire copy
attaches): so two copies of one story saved at the same moment, by one process or several,
alert once.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.sql.dml import Insert, Update

from monitor.models import MatchResult, alert_thread_id
from monitor.store.alerts import queue_alerts
from monitor.store.articles import SignatureCache, cluster_alerted, latest_revision_row
from monitor.store.codec import diff_to_json, hits_to_json
from monitor.store.db import StoreBase
from monitor.store.dialect import advisory_lock, insert_ignore, upsert
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.jobs import drop_held
from monitor.store.leases import FREE
from monitor.store.records import ArticleOutcome, NewEvent, SavedOutcome
from monitor.store.schema import articles, events, matches, revisions

log = logging.getLogger(__name__)
_CLUSTER_LOCK = 727_002   # advisory lock key of cluster assignment
# run for every article, so built once (building one cost more than running it)
_NEW_REVISION = insert(revisions).returning(revisions.c.id)


def _clustered(conn: Connection, o: ArticleOutcome, cache: SignatureCache) -> ArticleOutcome:
    """The outcome with the cluster of the most similar recent article, if one is alike
    enough (its ``ClusterQuery``); as it was without a query or a signature. The caller
    holds the cluster lock."""
    query = o.cluster
    if query is None or not query.signature:
        return o
    cluster = cache.cluster_of(conn, query, o.article_id)
    return dataclasses.replace(o, cluster_id=cluster) if cluster is not None else o


def _wanted(conn: Connection, o: ArticleOutcome, ev: NewEvent) -> bool:
    return not (o.one_new_per_cluster and ev.kind == "new"
                and cluster_alerted(conn, o.article_id, ev.topic))


def _revision(conn: Connection, o: ArticleOutcome) -> tuple[int, bool]:
    latest = latest_revision_row(conn, o.article_id)
    if latest is not None and latest.text_hash == o.text_hash:
        return int(latest.id), False
    new_id = conn.scalar(_NEW_REVISION, {
        "article_id": o.article_id, "title": o.title, "text": o.text, "text_hash": o.text_hash,
        "fetched_at": o.fetched_at, "extract_status": o.extract_status})
    return int(new_id), True


@functools.cache
def _matches_upsert(dialect: str) -> Insert:
    """The upsert of match rows, built once per dialect (building it costs more than
    running it)."""
    return upsert(dialect, matches, ["revision_id", "topic"], ["matched", "score", "hits"])


def _matches(conn: Connection, revision_id: int, results: tuple[MatchResult, ...]) -> None:
    rows = [{"revision_id": revision_id, "topic": m.topic, "matched": m.matched,
             "score": m.score, "hits": hits_to_json(m.hits)} for m in results]
    if rows:
        conn.execute(_matches_upsert(conn.dialect.name), rows)


def _article(conn: Connection, o: ArticleOutcome) -> None:
    values: dict[str, Any] = {
        "b_id": o.article_id, "b_summary": o.summary, "b_published": o.published,
        "b_next_check_at": o.next_check_at, "b_check_stage": o.check_stage, "b_etag": o.etag,
        "b_last_modified": o.last_modified, "b_cluster_id": o.cluster_id or o.article_id}
    if o.title:
        values["b_title"] = o.title
    if o.signature is not None:
        values["b_signature"] = o.signature
    stmt = _article_update(bool(o.title), o.signature is not None, o.cluster_id is not None)
    conn.execute(stmt, values)


@functools.cache
def _article_update(title: bool, signature: bool, cluster: bool) -> Update:
    """The article's update for an outcome with or without a title, a signature and a
    cluster of its own (without one, the article keeps its cluster or founds one); the
    values are bound parameters, so each of the eight forms is built once."""
    c = articles.c
    values: dict[str, Any] = {
        "summary": bindparam("b_summary", type_=c.summary.type),
        "published": bindparam("b_published", type_=c.published.type),
        "next_check_at": bindparam("b_next_check_at", type_=c.next_check_at.type),
        "check_stage": bindparam("b_check_stage", type_=c.check_stage.type),
        "etag": bindparam("b_etag", type_=c.etag.type),
        "last_modified": bindparam("b_last_modified", type_=c.last_modified.type),
        **FREE,
        "cluster_id": bindparam("b_cluster_id", type_=c.cluster_id.type) if cluster
        else func.coalesce(c.cluster_id, bindparam("b_cluster_id", type_=c.cluster_id.type)),
    }
    if title:
        values["title"] = bindparam("b_title", type_=c.title.type)
    if signature:
        values["signature"] = bindparam("b_signature", type_=c.signature.type)
    return update(articles).where(c.id == bindparam("b_id")).values(**values)


def _thread_id(conn: Connection, o: ArticleOutcome, ev: NewEvent, revision_id: int) -> str:
    first = conn.scalar(select(events.c.thread_id)
                        .where(events.c.article_id == o.article_id, events.c.topic == ev.topic,
                               events.c.kind != "margin")
                        .order_by(events.c.id).limit(1))
    return first or alert_thread_id(o.article_id, ev.topic, ev.kind, revision_id)


def _event(conn: Connection, o: ArticleOutcome, ev: NewEvent, revision_id: int) -> int | None:
    row = {"article_id": o.article_id, "revision_id": revision_id, "topic": ev.topic,
           "kind": ev.kind, "prev_revision_id": ev.prev_revision_id, "score": ev.score,
           "hits": hits_to_json(ev.hits), "diff": diff_to_json(ev.diff), "url": o.url,
           "title": o.title, "summary": o.summary, "source": o.source,
           "published": o.published, "detected_at": o.fetched_at,
           "thread_id": _thread_id(conn, o, ev, revision_id), "held": ev.held or None}
    stmt = insert_ignore(conn, events, ["article_id", "topic", "revision_id", "kind"])
    new_id = conn.scalar(stmt.values(**row).returning(events.c.id))
    return None if new_id is None else int(new_id)


class OutcomeMixin(StoreBase):
    _signatures: SignatureCache

    def save_outcome(self, outcome: ArticleOutcome, *,
                     release_job: int | None = None) -> SavedOutcome:
        """The outcome, all or nothing; ``release_job`` (the claim on the article's page,
        held by this process) is dropped in the same transaction. Outcomes are saved one at
        a time (the cluster lock): a cluster is assigned against every article saved before,
        and revisions are numbered in the order they are committed (``SignatureCache``)."""
        with self._db.write() as conn:
            advisory_lock(conn, _CLUSTER_LOCK)
            if release_job is not None:
                drop_held(conn, release_job, self.owner)
            outcome = _clustered(conn, outcome, self._signatures)
            revision_id, created = _revision(conn, outcome)
            _matches(conn, revision_id, outcome.matches)
            _article(conn, outcome)
            ids = [i for ev in outcome.events if _wanted(conn, outcome, ev)
                   and (i := _event(conn, outcome, ev, revision_id))]
            deltas = load_deltas(conn, events.c.id.in_(ids), order=OLDEST_FIRST) if ids else []
            queued = queue_alerts(conn, deltas, outcome.routes, at=outcome.fetched_at)
        log.info("outcome_saved article_id=%d revision_id=%d revision_created=%s events=%d "
                 "mails=%d", outcome.article_id, revision_id, created, len(ids), queued)
        return SavedOutcome(revision_id, created, tuple(deltas), queued)
