"""Fixtures and German sample records shared by the store tests (no tests of its own).

The ``store_url`` fixture is a fresh SQLite file under tmp_path; test_store_pg.py overrides
it with a throwaway PostgreSQL database and re-runs the same tests there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select

from monitor.models import Delta, FeedEntry, Hit, MatchResult, OutgoingMail, WordDiff
from monitor.store import ArticleOutcome, NewEvent, Store, open_store
from monitor.store.schema import metadata

T0 = datetime(2024, 3, 4, 7, 30, tzinfo=UTC)
HB = "https://www.handelsblatt.com/unternehmen/handel"


@pytest.fixture
def store_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path}/data/monitor.db"


@pytest.fixture
def opener(store_url: str) -> Iterator[Callable[..., Store]]:
    opened: list[Store] = []

    def open_(**kw: object) -> Store:
        opened.append(open_store(store_url, **kw))  # type: ignore[arg-type]
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Callable[..., Store]) -> Store:
    return opener(owner="test-host:1")


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()


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


def alert_mail(delta: Delta, n: int = 0) -> OutgoingMail:
    return OutgoingMail(message_id=f"<alert.{delta.id}.{n}@news-monitor>", kind="alert",
                        recipients=("analyse@example.org",), subject=f"[Alibaba] {delta.title}",
                        raw=f"Subject: {delta.title}\r\n\r\n{delta.url}\r\n".encode())
