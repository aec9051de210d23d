"""Full-text search over stored articles, in the words the matcher uses.

Owns ``search_text`` (one row per article: its latest revision's title and text as folded
lemmas, handed in by the caller, who normalises with ``monitor.match``) and the search over
it: SQLite through the FTS5 table ``search_fts`` (kept in step with ``search_text`` by
triggers created with the table), PostgreSQL through a GIN index on
``to_tsvector('simple', lemmas)``. A query is a list of words, each a list of its base
forms: an article is found when every word has one of its forms in the text. Nothing here
knows German; the caller turns both texts and queries into base forms the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    Connection,
    Integer,
    column,
    event,
    func,
    literal_column,
    select,
    text,
)

from monitor.store.db import StoreBase
from monitor.store.dialect import is_sqlite, upsert
from monitor.store.schema import articles, events, revisions, search_text

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(lemmas, content='search_text', "
    "content_rowid='article_id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS search_text_ai AFTER INSERT ON search_text BEGIN "
    "INSERT INTO search_fts(rowid, lemmas) VALUES (new.article_id, new.lemmas); END",
    "CREATE TRIGGER IF NOT EXISTS search_text_ad AFTER DELETE ON search_text BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, lemmas) "
    "VALUES ('delete', old.article_id, old.lemmas); END",
    "CREATE TRIGGER IF NOT EXISTS search_text_au AFTER UPDATE ON search_text BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, lemmas) "
    "VALUES ('delete', old.article_id, old.lemmas); "
    "INSERT INTO search_fts(rowid, lemmas) VALUES (new.article_id, new.lemmas); END",
)
_PG_DDL = ("CREATE INDEX IF NOT EXISTS ix_search_text_tsv ON search_text "
           "USING gin (to_tsvector('simple', lemmas))",
           "CREATE INDEX IF NOT EXISTS ix_search_text_revision ON search_text (revision_id)")
_SQLITE_INDEX = "CREATE INDEX IF NOT EXISTS ix_search_text_revision ON search_text (revision_id)"

for _statement in (*_SQLITE_DDL, _SQLITE_INDEX):
    event.listen(search_text, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
for _statement in _PG_DDL:
    event.listen(search_text, "after_create",
                 DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Unindexed:
    """A revision newer than the search index knows."""

    article_id: int
    revision_id: int
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Found:
    """An article a search found, with the text to take a snippet from."""

    article_id: int
    title: str
    source: str
    url: str
    first_seen: datetime
    text: str


def _fts_query(words: Sequence[Sequence[str]]) -> str:
    """FTS5 syntax: every word, each as one of its forms, every form a quoted string."""
    groups = []
    for forms in words:
        quoted = " OR ".join('"' + f.replace('"', '""') + '"' for f in forms if f)
        if quoted:
            groups.append(f"({quoted})")
    return " AND ".join(groups)


def _pg_match(words: Sequence[Sequence[str]]) -> Any:
    tsv = func.to_tsvector(literal_column("'simple'"), search_text.c.lemmas)
    query: Any = None
    for forms in words:
        one: Any = None
        for form in forms:
            part = func.plainto_tsquery(literal_column("'simple'"), form)
            one = part if one is None else one.op("||")(part)
        if one is not None:
            query = one if query is None else query.op("&&")(one)
    return tsv.op("@@")(query)


def _filters(topic: str | None, since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = []
    if topic:
        where.append(articles.c.id.in_(select(events.c.article_id).where(events.c.topic == topic)))
    if since:
        where.append(articles.c.first_seen >= since)
    if until:
        where.append(articles.c.first_seen < until)
    return where


def _fts_hits(words: Sequence[Sequence[str]], page: tuple[int, int] | None) -> Any:
    """The ids of the articles FTS5 finds, newest first (FTS5 walks its index by rowid, so
    a page of the newest costs little however common the words; ranking them all by
    relevance cost ~120 ms for 50,000 hits); cut to ``page`` (limit, offset) when given."""
    sql = ("SELECT rowid AS article_id FROM search_fts WHERE search_fts MATCH :q "
           "ORDER BY rowid DESC")
    params: dict[str, Any] = {"q": _fts_query(words)}
    if page:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=page[0], offset=page[1])
    return text(sql).bindparams(**params).columns(column("article_id", Integer)).subquery()


class SearchMixin(StoreBase):
    def unindexed_revisions(self, limit: int = 500) -> list[Unindexed]:
        """Revisions stored since the newest the search index holds, oldest first."""
        with self._db.read() as conn:
            mark = conn.scalar(select(func.max(search_text.c.revision_id))) or 0
            rows = conn.execute(select(revisions.c.article_id, revisions.c.id, revisions.c.title,
                                       revisions.c.text)
                                .where(revisions.c.id > mark).order_by(revisions.c.id)
                                .limit(limit)).all()
        return [Unindexed(r.article_id, r.id, r.title, r.text) for r in rows]

    def save_search_text(self, rows: Sequence[tuple[int, int, str]]) -> None:
        """(article id, revision id, lemmas) into the index; a newer revision replaces."""
        if not rows:
            return
        with self._db.write() as conn:
            known = set(conn.scalars(select(articles.c.id).where(
                articles.c.id.in_([r[0] for r in rows]))))
            values = [{"article_id": a, "revision_id": r, "lemmas": t}
                      for a, r, t in rows if a in known]
            if values:
                conn.execute(upsert(conn, search_text, ["article_id"],
                                    ["revision_id", "lemmas"]), values)

    def search(self, words: Sequence[Sequence[str]], *, topic: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int = 20, offset: int = 0) -> list[Found]:
        """Articles whose text has every word (one of its forms), newest first."""
        if not any(words):
            return []
        with self._db.read() as conn:
            return [Found(r.id, r.title, r.source, r.url, r.first_seen, r.text)
                    for r in self._search(conn, words, _filters(topic, since, until),
                                          limit, offset)]

    def _search(self, conn: Connection, words: Sequence[Sequence[str]], where: list[Any],
                limit: int, offset: int) -> Sequence[Any]:
        latest = (select(revisions.c.text).where(revisions.c.article_id == articles.c.id)
                  .order_by(revisions.c.id.desc()).limit(1).scalar_subquery())
        columns = (articles.c.id, articles.c.title, articles.c.source, articles.c.url,
                   articles.c.first_seen, latest.label("text"))
        if is_sqlite(conn):
            found = _fts_hits(words, None if where else (limit, offset))
            query = select(*columns).join(found, found.c.article_id == articles.c.id)
            if not where:       # the page was cut inside the FTS5 query already
                return conn.execute(query.order_by(articles.c.id.desc())).all()
        else:
            query = select(*columns).join(search_text,
                                          search_text.c.article_id == articles.c.id).where(
                _pg_match(words))
        query = query.where(*where).order_by(articles.c.id.desc())
        return conn.execute(query.limit(limit).offset(offset)).all()
