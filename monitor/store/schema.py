"""The tables of the store, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL.

Owns the column types (``UTCDateTime`` stores UTC and hands back aware UTC datetimes on
every backend) and the current shape of every table. A fresh database is created from this
metadata; an existing one is brought here by the numbered steps in ``migrations.py``.
Ids use AUTOINCREMENT on SQLite so that a pruned id is never handed out again (ids end up
in Message-IDs and cluster numbers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()
_AUTO: dict[str, Any] = {"sqlite_autoincrement": True}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _lease() -> list[Column[Any]]:
    return [Column("lease_owner", String(200)), Column("lease_until", UTCDateTime)]


schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

feeds = Table(
    "feeds", metadata, _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("etag", Text), Column("last_modified", Text),
    Column("next_poll_at", UTCDateTime),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("last_status", String(50)), Column("last_error", Text),
    Column("last_success_at", UTCDateTime), Column("last_polled_at", UTCDateTime),
    Column("last_new_at", UTCDateTime),
    Column("baseline_done", Boolean, nullable=False, default=False),
    Column("guid_unstable", Boolean, nullable=False, default=False),
    *_lease(), **_AUTO,
)

articles = Table(
    "articles", metadata, _id(),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("source", String(200), nullable=False, default=""),
    Column("site_name", String(200), nullable=False, default=""),
    Column("published", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("cluster_id", Integer), Column("signature", LargeBinary),
    Column("next_check_at", UTCDateTime),
    Column("check_stage", Integer, nullable=False, default=0),
    Column("etag", Text), Column("last_modified", Text), *_lease(),
    Index("ix_articles_first_seen", "first_seen"),
    Index("ix_articles_cluster", "cluster_id"),
    Index("ix_articles_next_check", "next_check_at"),
    **_AUTO,
)

entries = Table(
    "entries", metadata, _id(),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("guid", Text), Column("link", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime), Column("updated", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("has_date", Boolean, nullable=False, default=True),
    # True from the poll that found the entry until its article was processed: an entry
    # whose processing was cut short (crash, bug) is processed again on the next poll.
    Column("pending", Boolean, nullable=False, default=False),
    UniqueConstraint("feed_id", "key", name="uq_entries_feed_key"),
    Index("ix_entries_feed_link", "feed_id", "link"),
    Index("ix_entries_article", "article_id"),
    **_AUTO,
)

revisions = Table(
    "revisions", metadata, _id(),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("title", Text, nullable=False), Column("text", Text, nullable=False),
    Column("text_hash", String(128), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("extract_status", String(50), nullable=False),
    # the digest's count of pages that fell back to the summary, by why (migration 5)
    Index("ix_revisions_status_fetched", "extract_status", "fetched_at"),
    **_AUTO,
)

matches = Table(
    "matches", metadata, _id(),
    Column("revision_id", Integer, ForeignKey("revisions.id", ondelete="CASCADE"),
           nullable=False),
    Column("topic", String(200), nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("score", Float, nullable=False),
    Column("hits", Text, nullable=False, default="[]"),
    UniqueConstraint("revision_id", "topic", name="uq_matches_revision_topic"),
    **_AUTO,
)

outbox = Table(
    "outbox", metadata, _id(),
    Column("message_id", String(300), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("recipients", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime), Column("last_error", Text),
    Column("response", Text),
    Column("created_at", UTCDateTime, nullable=False), Column("sent_at", UTCDateTime),
    *_lease(),
    # An alert's event: the mail is rendered from it when it is first sent (``raw`` empty
    # until then). Added by migration 2.
    Column("event_id", Integer, ForeignKey("events.id", ondelete="SET NULL")),
    # The route a delivery goes to and that route's channel (added by migration 4).
    Column("route", String(100), nullable=False, server_default="default"),
    Column("channel", String(20), nullable=False, server_default="email"),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_event", "event_id"),
    **_AUTO,
)

digests = Table(
    "digests", metadata, _id(),
    Column("period_start", UTCDateTime), Column("period_end", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("html_path", Text, nullable=False, default=""),
    Column("message_id", String(300), nullable=False),
    # The digest's identity (added by migration 3): a route and a period (the local day of
    # the digest, or day and time for an extra one sent by hand); NULL for older digests.
    Column("route", String(100), nullable=False, server_default="default"),
    Column("period", String(40)),
    Index("uq_digests_route_period", "route", "period", unique=True),
    **_AUTO,
)

events = Table(
    "events", metadata, _id(),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("revision_id", Integer, ForeignKey("revisions.id", ondelete="SET NULL")),
    Column("prev_revision_id", Integer),
    Column("topic", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("score", Float, nullable=False),
    Column("hits", Text, nullable=False, default="[]"),
    Column("diff", Text),
    Column("url", Text, nullable=False), Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("source", String(200), nullable=False),
    Column("published", UTCDateTime),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("thread_id", String(300), nullable=False),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="SET NULL")),
    # Why learning from the desk's verdicts held it back from alerts (migration 6).
    Column("held", Text),
    # Found by a backfill over stored articles (migration 5): digest only, never an alert.
    Column("backfill", Boolean, nullable=False, server_default="0", default=False),
    UniqueConstraint("article_id", "topic", "revision_id", "kind", name="uq_events_identity"),
    Index("ix_events_detected", "detected_at"),
    Index("ix_events_digest", "digest_id"),
    **_AUTO,
)

# A delta folded into a route's hourly summary (over the route's cap, or hourly mode); the
# summary's Message-ID once one was queued for it. Replaced ``alert_folds`` (migration 4).
folds = Table(
    "folds", metadata,
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("route", String(100), primary_key=True),
    Column("folded_at", UTCDateTime, nullable=False),
    Column("summary_message_id", String(300)),
    Index("ix_folds_summary", "summary_message_id"),
)

# Which of a route's digests covers an event (added by migration 4; it replaced
# ``events.digest_id``, which is no longer written): one row per route and event, so each
# route's digest lists an event once and different routes each list it.
digest_items = Table(
    "digest_items", metadata,
    Column("route", String(100), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Index("ix_digest_items_digest", "digest_id"),
)

# Facts of this installation (added by migration 4): its random id, which makes its
# Message-IDs differ from every other installation's.
meta = Table(
    "meta", metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Singleton work under a lease (added by migration 3): a job of a period ("digest default
# 2026-05-21", "summary 2026-05-21T10", "housekeeping ..."), done once ``done_at`` is set;
# a claim on an article page ("page <sha256 of the URL>"), deleted when released; and a
# running daemon's presence ("process <owner>"), renewed while it lives.
jobs = Table(
    "jobs", metadata, _id(),
    Column("name", String(300), nullable=False, unique=True),
    *_lease(),
    Column("done_at", UTCDateTime),
    **_AUTO,
)

tombstones = Table(
    "tombstones", metadata,
    Column("kind", String(10), primary_key=True),      # "url" or "entry"
    Column("feed_id", Integer, primary_key=True, autoincrement=False),  # 0 for urls
    Column("value", Text, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# The desk's verdicts on a story for a topic (migration 5): "relevant", "not_relevant",
# "mute" (the story alerts no more) or "mute_outlet" (``outlet`` alerts no more for the
# topic); with who said so and when. Recording one twice keeps the first.
verdicts = Table(
    "verdicts", metadata, _id(),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"),
           nullable=False),
    Column("topic", String(200), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("outlet", String(200), nullable=False, server_default=""),
    Column("user_name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "topic", "verdict", name="uq_verdicts_identity"),
    Index("ix_verdicts_topic_outlet", "topic", "verdict", "outlet"),
    **_AUTO,
)

# The searchable text of each article's latest revision (migration 5): its words as the
# matcher normalises them (folded lemmas). SQLite searches it through the FTS5 table
# ``search_fts`` kept in step by triggers; PostgreSQL through a tsvector index.
search_text = Table(
    "search_text", metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"),
           primary_key=True, autoincrement=False),
    Column("revision_id", Integer, nullable=False),
    Column("lemmas", Text, nullable=False),
)
