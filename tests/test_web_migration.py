"""Migration 5 brings a store of the version before the desk to the desk's tables: the
verdicts, the search index with its FTS5 table and triggers, ``events.backfill`` and the
index for the digest's extraction problems; the data already there is kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from monitor.store import open_store
from monitor.store.desk import StoryFilter


def test_a_version_3_store_gets_the_desks_tables(store_url: str) -> None:
    store = open_store(store_url)
    store.upsert_article("https://kurier.example/a.html", at=datetime(2026, 3, 1, tzinfo=UTC),
                         title="Werk schließt", source="Kurier")
    store.close()
    path = store_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    with conn:                                   # back to the shape before migration 5
        for trigger in ("search_text_ai", "search_text_ad", "search_text_au"):
            conn.execute(f"DROP TRIGGER {trigger}")
        for table in ("search_fts", "search_text", "verdicts"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP INDEX ix_revisions_status_fetched")
        conn.execute("ALTER TABLE events DROP COLUMN backfill")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 5")
    conn.close()
    store = open_store(store_url)
    try:
        article = store.story(1)
        assert article is not None and article.title == "Werk schließt"
        assert store.record_verdict(1, "werke", "not_relevant", user="anna",
                                    at=datetime(2026, 3, 2, tzinfo=UTC))
        store.save_search_text([(1, 1, "werk schliessen")])
        assert [f.article_id for f in store.search([["werk"]])] == [1]
        assert store.stories(StoryFilter()) == []
    finally:
        store.close()
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    conn.close()
    assert {"verdicts", "search_text", "search_fts", "search_text_ai",
            "ix_revisions_status_fetched"} <= names
    assert "backfill" in columns and versions[-1] == 6
