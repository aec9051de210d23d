"""Fixtures and German sample records shared by the store tests (no tests of its own).

The ``store_url`` fixture is a fresh SQLite file under tmp_path; test_store_pg.py overrides
it with a throwaway PostgreSQL database and re-runs the same tests there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select

from monitor.models import FeedEntry
from monitor.store import Store, open_store
from monitor.store.schema import metadata

T0 = datetime(2024, 3, 4, 7, 30, tzinfo=timezone.utc)
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
