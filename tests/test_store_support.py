"""German sample records and helpers shared by the store tests (no tests, no fixtures).

The fixtures (``store_url``, ``opener``, ``store``) are in tests/store_fixtures.py. ``rows``
reads what a store wrote straight from its database (SQLite or PostgreSQL), so tests assert
on the rows stored rather than on store methods only tests would call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Executable, Row, create_engine, func, select

from monitor.models import FeedEntry, FeedState, Hit, MatchResult, OutgoingMail, WordDiff
from monitor.store import ArticleOutcome, NewEvent, RoutePolicy, Store
from monitor.store.outbox import insert_mails
from monitor.store.schema import metadata

T0 = datetime(2024, 3, 4, 7, 30, tzinfo=UTC)
HB = "https://www.handelsblatt.com/unternehmen/handel"


IMMEDIATE = RoutePolicy(mode="immediate", max_per_hour=20)


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()


def rows(url: str, query: Executable) -> list[Row[Any]]:
    """The rows ``query`` finds in the database at ``url``, read outside the store."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def feed_state(store: Store, name: str) -> FeedState:
    """The stored state of the feed ``name`` (active or not)."""
    [state] = [f for f in store.feed_states(include_inactive=True) if f.name == name]
    return state


def queue_mails(store: Store, mails: Sequence[OutgoingMail], *, at: datetime) -> int:
    """Queues rendered mails the way a digest or summary does (``insert_mails``)."""
    with store._db.write() as conn:
        return insert_mails(conn, mails, at=at)


def entry(n: int, *, title: str | None = None, key: str | None = None,
          link: str | None = None, summary: str = "", updated: datetime | None = None) -> FeedEntry:
    url = link if link is not None else f"{HB}/aliexpress-russland-{n}.html"
    return FeedEntry(
        key=key or f"urn:hb:{n}", guid=key or f"urn:hb:{n}", link=url, raw_link=url,
        title=title or f"AliExpress Russland: Meldung {n} zum Gemeinschaftsunternehmen mit VK",
        summary=summary or "Der Onlinehändler ordnet sein Russlandgeschäft neu.",
        published=T0 - timedelta(hours=n), updated=updated, has_date=True)


TOPIC = "alibaba-russland"
TEXT_V1 = ("Moskau. Das Gemeinschaftsunternehmen AliExpress Russland, an dem neben Alibaba auch "
           "VK, MegaFon und der Staatsfonds RDIF beteiligt sind, ordnet sein Geschäft neu.")
TEXT_V2 = TEXT_V1 + " Nach Angaben aus Unternehmenskreisen fallen rund 40 Prozent der Stellen weg."


def hits() -> tuple[Hit, ...]:
    snippet = "… an dem neben Alibaba auch VK, MegaFon und der Staatsfonds RDIF beteiligt …"
    return (Hit(clause="@alibaba", field="text", term="Alibaba", snippet=snippet,
                marks=((16, 23),)),
            Hit(clause='"russland"', field="title", term="Russland",
                snippet="AliExpress Russland ordnet Geschäft neu", marks=((11, 19),)))


def word_diff() -> WordDiff:
    return WordDiff(segments=(("=", "ordnet sein Geschäft neu."), ("+", "fallen rund 40 Prozent"),
                              ("-", "weiter")), added_words=4, removed_words=1,
                    title_changed=True)


def outcome(article_id: int, *, url: str, text: str = TEXT_V1, at: datetime = T0,
            kind: str = "new", source: str = "Handelsblatt", events: bool = True,
            **kw: object) -> ArticleOutcome:
    digest = hashlib.sha256(text.encode()).hexdigest()
    evs = (NewEvent(kind=kind, topic=TOPIC, score=2.5, hits=hits(),  # type: ignore[arg-type]
                    diff=word_diff() if kind == "updated" else None),) if events else ()
    return ArticleOutcome(
        article_id=article_id, fetched_at=at, title="AliExpress Russland ordnet Geschäft neu",
        text=text, text_hash=digest, extract_status="ok", source=source, url=url,
        summary="Das Joint Venture mit VK und MegaFon baut um.", published=at - timedelta(hours=1),
        matches=(MatchResult(TOPIC, True, 2.5, hits()), MatchResult("sanktionen", False, 0.0)),
        events=evs, **kw)  # type: ignore[arg-type]
