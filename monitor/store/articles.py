"""Articles, their revisions, re-check schedule and cluster membership.

Owns the ``articles`` and ``revisions`` tables for reading and for the small writes made
outside ``save_outcome``: an article is one row per canonical URL however many feeds carry
it (``upsert_article``/``link_known`` link each feed's entry to it), a tombstoned URL is
never created again, and re-checks of recent articles are handed out under a lease like
feed polls. ``SignatureCache`` holds the signed articles of the cluster window that
``save_outcome`` finds a new article's cluster among, read once and then brought up to date.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Row, and_, bindparam, exists, func, select, update

from monitor.models import Revision
from monitor.signatures import SignatureTable
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.jobs import claim_job_row, drop_held, page_job
from monitor.store.leases import FREE, claim
from monitor.store.records import ArticleRef, ClusterQuery, RecheckItem, StoredText
from monitor.store.schema import articles, entries, events, matches, revisions
from monitor.store.tombstones import chunks, tombstoned_url


def to_revision(row: Row[Any] | None) -> Revision | None:
    if row is None:
        return None
    m = row._mapping
    return Revision(id=m["id"], article_id=m["article_id"], title=m["title"], text=m["text"],
                    text_hash=m["text_hash"], fetched_at=m["fetched_at"],
                    extract_status=m["extract_status"])


# The statements run for every article, built once: building one cost more than running it.
_LATEST_REVISION = (select(revisions).where(revisions.c.article_id == bindparam("b_article"))
                    .order_by(revisions.c.id.desc()).limit(1))
_ARTICLE_ID = select(articles.c.id).where(articles.c.url == bindparam("b_url"))
_ANY_REVISION = (select(revisions.c.id).where(revisions.c.article_id == bindparam("b_article"))
                 .limit(1))
_HAS_REVISION = exists(select(revisions.c.id).where(revisions.c.article_id == articles.c.id))
_EVALUATED = select(articles.c.url, articles.c.id).where(
    articles.c.url.in_(bindparam("b_urls", expanding=True)), _HAS_REVISION)
_EVALUATED_ONE = select(articles.c.id).where(articles.c.url == bindparam("b_url"),
                                             _HAS_REVISION)


def latest_revision_row(conn: Connection, article_id: int) -> Row[Any] | None:
    return conn.execute(_LATEST_REVISION, {"b_article": article_id}).first()


def _upsert(conn: Connection, url: str, values: dict[str, Any]) -> ArticleRef:
    if tombstoned_url(conn, url):
        return ArticleRef(id=0, created=False, tombstoned=True)
    new_id = conn.scalar(insert_ignore(conn, articles, ["url"], returning="id"),
                         {"url": url, **values})
    if new_id is not None:
        return ArticleRef(id=new_id, created=True, tombstoned=False)
    existing = int(conn.scalar(_ARTICLE_ID, {"b_url": url}) or 0)
    return ArticleRef(id=existing, created=False, tombstoned=False,
                      evaluated=_has_revision(conn, existing))


def _has_revision(conn: Connection, article_id: int) -> bool:
    return conn.scalar(_ANY_REVISION, {"b_article": article_id}) is not None


_LINK_ENTRY = update(entries).where(entries.c.feed_id == bindparam("b_feed"),
                                   entries.c.key == bindparam("b_key")
                                   ).values(article_id=bindparam("b_article"))


def _link(conn: Connection, feed_id: int, key: str, article_id: int) -> None:
    conn.execute(_LINK_ENTRY, {"b_feed": feed_id, "b_key": key, "b_article": article_id})


def _evaluated(conn: Connection, urls: Sequence[str]) -> dict[str, int]:
    """Article ids by URL, of the ``urls`` stored with a revision (evaluated)."""
    found: dict[str, int] = {}
    for part in chunks(sorted(set(urls))):
        found.update({url: int(article_id) for url, article_id
                      in conn.execute(_EVALUATED, {"b_urls": list(part)})})
    return found


def cluster_alerted(conn: Connection, article_id: int, topic: str) -> bool:
    """Did another article of this article's cluster already raise ``new`` for the topic?"""
    own = select(articles.c.cluster_id).where(articles.c.id == article_id).scalar_subquery()
    query = (select(events.c.id).join(articles, articles.c.id == events.c.article_id)
             .where(articles.c.cluster_id == own, events.c.article_id != article_id,
                    events.c.topic == topic, events.c.kind == "new").limit(1))
    return conn.scalar(query) is not None


def _attached_revision(conn: Connection, article_id: int, topic: str) -> int | None:
    """The first revision of an article matching the topic: when wire copy attached."""
    if not cluster_alerted(conn, article_id, topic):
        return None
    first = conn.scalar(select(func.min(revisions.c.id))
                        .join(matches, matches.c.revision_id == revisions.c.id)
                        .where(revisions.c.article_id == article_id, matches.c.topic == topic,
                               matches.c.matched))
    return None if first is None else int(first)


_SIGNED = (articles.c.first_seen >= bindparam("since", type_=articles.c.first_seen.type),
           articles.c.signature.is_not(None))
_SIGNATURES_SINCE = select(articles.c.id, articles.c.cluster_id, articles.c.signature,
                           articles.c.first_seen).where(*_SIGNED)
# every revision newer than "after", with its article when that is signed and in the window
_NEW_REVISIONS = (select(revisions.c.id, articles.c.id, articles.c.cluster_id,
                         articles.c.signature, articles.c.first_seen)
                  .select_from(revisions.outerjoin(
                      articles, and_(articles.c.id == revisions.c.article_id, *_SIGNED)))
                  .where(revisions.c.id > bindparam("after")))
_LAST_REVISION = select(func.coalesce(func.max(revisions.c.id), 0))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """``at`` as whole microseconds since the epoch: ordered exactly as the datetimes are."""
    return (at - _EPOCH) // _MICROSECOND


class SignatureCache:
    """The signed articles of the cluster window (id, cluster id, signature, first seen),
    kept by one store between ``save_outcome`` calls as a ``SignatureTable``.

    The first look reads them all; each later look reads only the articles with a revision
    newer than the newest one it saw. That is exact because a signature or a cluster is only
    ever written together with a new revision, by ``save_outcome``, which holds the cluster
    lock (SQLite's write lock; a PostgreSQL advisory lock): revisions are numbered in the
    order they are committed, and none commits while a look runs. Everything is read again
    when the window reaches back further than the last full read did, and every ``max_age``
    seconds (which also drops the rows the window has left behind), so nothing stays out of
    date longer than that should a write ever bypass those rules. Before, every new article
    read every signature of the window: 500 rows of 1 KB for the 500th article of a cycle,
    thousands over a busy day's window; then every look joined the cached signatures into
    one matrix again, which the table now keeps.
    """

    def __init__(self, max_age: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table = SignatureTable()
        self._after = 0                   # the newest revision seen
        self._since: datetime | None = None    # the window's start at the last full read
        self._read_at = 0.0
        self._max_age, self._clock = max_age, clock
        self._lock = threading.Lock()

    def cluster_of(self, conn: Connection, query: ClusterQuery,
                   article_id: int) -> int | None:
        """The cluster of the article most like ``query`` among the others first seen in
        its window (``SignatureTable.best``); ``conn`` holds the cluster lock."""
        with self._lock:
            if self._since is None or query.since < self._since \
                    or self._clock() - self._read_at > self._max_age:
                self._read_all(conn, query.since)
            else:
                self._read_newer(conn, query.since)
            return self._table.best(query.signature, since=_micros(query.since),
                                    threshold=query.threshold, exclude=article_id)

    def _read_all(self, conn: Connection, since: datetime) -> None:
        after = int(conn.execute(_LAST_REVISION).scalar_one())
        self._table = SignatureTable()
        self._keep(conn.execute(_SIGNATURES_SINCE, {"since": since}).all())
        self._after, self._since, self._read_at = after, since, self._clock()

    def _read_newer(self, conn: Connection, since: datetime) -> None:
        found = conn.execute(_NEW_REVISIONS, {"since": since, "after": self._after}).all()
        self._keep([row[1:] for row in found if row[1] is not None])
        self._after = max([self._after, *(row[0] for row in found)])

    def _keep(self, rows: Sequence[Any]) -> None:
        """Signed rows (id, cluster id, signature, first seen) into the table; one fetch,
        rows unpacked as tuples (named access and a fetch per row were most of their cost)."""
        for aid, cluster, sig, seen in rows:
            self._table.put(aid, cluster or aid, bytes(sig), _micros(seen))


class ArticlesMixin(StoreBase):
    def upsert_article(self, url: str, *, at: datetime, title: str, source: str,
                       site_name: str = "", entry: tuple[int, str] | None = None) -> ArticleRef:
        """The article under ``url`` (created if new); ``entry`` (feed id, key) is linked to
        it in the same transaction unless the URL is tombstoned."""
        values = {"first_seen": at, "title": title, "source": source, "site_name": site_name}
        with self._db.write() as conn:
            ref = _upsert(conn, url, values)
            if entry is not None and not ref.tombstoned:
                _link(conn, *entry, ref.id)
            return ref

    def link_known(self, feed_id: int, key: str, url: str) -> int | None:
        """Links the entry to the article stored under ``url`` if that article was evaluated
        (has a revision); returns its id, or None when the page still has to be processed.
        One transaction for what is the common case of a story carried by several feeds."""
        with self._db.write() as conn:
            article_id = conn.scalar(select(articles.c.id).where(articles.c.url == url))
            if article_id is None or not _has_revision(conn, article_id):
                return None
            _link(conn, feed_id, key, article_id)
            return int(article_id)

    def link_known_many(self, feed_id: int,
                        items: Sequence[tuple[str, str]]) -> dict[str, int]:
        """``link_known`` for a feed's (key, url) pairs at once, one transaction: the keys
        linked to an evaluated article, with its id."""
        wanted = [(key, url) for key, url in items if url]
        if not wanted:
            return {}
        with self._db.write() as conn:
            found = _evaluated(conn, [url for _, url in wanted])
            links = {key: found[url] for key, url in wanted if url in found}
            if links:
                conn.execute(_LINK_ENTRY, [{"b_feed": feed_id, "b_key": key, "b_article": aid}
                                          for key, aid in links.items()])
        return links

    def claim_page_for(self, feed_id: int, key: str, url: str,
                       now: datetime) -> int | Literal["known"] | None:
        """In one transaction: "known" when the page's article is evaluated (the entry is
        linked to it), else the claim on fetching it (``claim_page``), or None while
        another process holds that claim.

        The claim is taken first and the article looked for after it: on PostgreSQL each
        statement sees what was committed when it started, and taking the claim waits for a
        process whose outcome is releasing it. Looked for first, the article could still be
        missing, and the claim be free once that outcome committed: the page was fetched
        twice."""
        with self._db.write() as conn:
            claimed = claim_job_row(conn, page_job(url), now=now, owner=self.owner,
                                    seconds=self.lease_seconds)
            article_id = conn.scalar(_EVALUATED_ONE, {"b_url": url})
            if article_id is not None:
                _link(conn, feed_id, key, int(article_id))
                if claimed.status == "claimed":
                    drop_held(conn, claimed.id, self.owner)
                return "known"
        return claimed.id if claimed.status == "claimed" else None

    def baseline_revision(self, article_id: int, topic: str) -> Revision | None:
        """What a change is measured against: the last alerted revision,
        or for wire copy attached to an alerted cluster the revision it attached with."""
        latest = (select(events.c.revision_id)
                  .where(events.c.article_id == article_id, events.c.topic == topic,
                         events.c.kind != "margin")
                  .order_by(events.c.id.desc()).limit(1))
        with self._db.read() as conn:
            found = conn.scalar(latest) or _attached_revision(conn, article_id, topic)
            return to_revision(conn.execute(
                select(revisions).where(revisions.c.id == found)).first()) if found else None

    def due_rechecks(self, now: datetime, *, limit: int = 50) -> list[RecheckItem]:
        """Leases up to ``limit`` due re-checks (a short lease, renewed while they run)."""
        with self._db.write() as conn:
            ids = claim(conn, articles, articles.c.next_check_at <= now, now=now,
                        owner=self.owner, seconds=self.lease_seconds,
                        order=(articles.c.next_check_at, articles.c.id), limit=limit)
            rows = conn.execute(select(articles).where(articles.c.id.in_(ids))
                                .order_by(articles.c.next_check_at, articles.c.id)).all()
        return [RecheckItem(article_id=r.id, url=r.url, etag=r.etag,
                            last_modified=r.last_modified, stage=r.check_stage, title=r.title,
                            summary=r.summary, source=r.source) for r in rows]

    def set_recheck(self, article_id: int, *, next_check_at: datetime | None, stage: int,
                    etag: str | None = None, last_modified: str | None = None) -> None:
        values = {"next_check_at": next_check_at, "check_stage": stage, "etag": etag,
                  "last_modified": last_modified, **FREE}
        with self._db.write() as conn:
            conn.execute(update(articles).where(articles.c.id == article_id).values(**values))

    def stored_texts(self, since: datetime) -> list[StoredText]:
        newest = (select(func.max(revisions.c.id)).group_by(revisions.c.article_id)
                  .scalar_subquery())
        query = (select(articles, revisions.c.text, revisions.c.title.label("rev_title"),
                        revisions.c.extract_status)
                 .join(revisions, and_(revisions.c.article_id == articles.c.id,
                                       revisions.c.id.in_(newest)))
                 .where(articles.c.first_seen >= since).order_by(articles.c.first_seen))
        with self._db.read() as conn:
            return [StoredText(article_id=r.id, url=r.url, title=r.rev_title or r.title,
                               summary=r.summary, text=r.text, source=r.source,
                               first_seen=r.first_seen, extract_status=r.extract_status)
                    for r in conn.execute(query)]

    def check_schedule(self, article_id: int) -> tuple[datetime | None, int]:
        """The article's next re-check and how many re-checks it had."""
        query = select(articles.c.next_check_at, articles.c.check_stage).where(
            articles.c.id == article_id)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return (row.next_check_at, row.check_stage) if row is not None else (None, 0)
