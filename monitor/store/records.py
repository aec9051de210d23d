"""Records the store hands out and takes in, beyond the pipeline records of monitor.models.

Frozen dataclasses only, plus ``message_id_for``: the deterministic Message-ID of an alert
mail, built here so that the store (which fills ``Delta.thread_id`` with the Message-ID of
the first alert for an article and topic) and notify (which renders the mails) agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from monitor.models import Delta, DeltaKind, FeedEntry, Hit, MatchResult, WordDiff, message_id

__all__ = [
    "ArticleOutcome", "ArticleRef", "DigestRow", "EntryChanges", "NewEvent", "RecheckItem",
    "SavedOutcome", "StoredText", "message_id_for",
]


@dataclass(frozen=True)
class EntryChanges:
    """What ``record_entries`` found: entries never seen, entries whose text changed."""

    new: tuple[FeedEntry, ...] = ()
    changed: tuple[FeedEntry, ...] = ()
    guid_changes: int = 0


@dataclass(frozen=True)
class ArticleRef:
    id: int
    created: bool
    tombstoned: bool
    evaluated: bool = False      # it has a revision (a crash can leave a row without one)


@dataclass(frozen=True)
class NewEvent:
    kind: DeltaKind
    topic: str
    score: float
    hits: tuple[Hit, ...]
    diff: WordDiff | None = None
    prev_revision_id: int | None = None


@dataclass(frozen=True)
class ArticleOutcome:
    article_id: int
    fetched_at: datetime
    title: str
    text: str
    text_hash: str
    extract_status: str
    source: str
    url: str
    summary: str
    published: datetime | None
    matches: tuple[MatchResult, ...]
    events: tuple[NewEvent, ...]
    signature: bytes | None = None
    cluster_id: int | None = None
    next_check_at: datetime | None = None
    check_stage: int = 0
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SavedOutcome:
    revision_id: int
    revision_created: bool
    deltas: tuple[Delta, ...]
    mails_queued: int


@dataclass(frozen=True)
class RecheckItem:
    article_id: int
    url: str
    etag: str | None
    last_modified: str | None
    stage: int
    title: str
    summary: str
    source: str


@dataclass(frozen=True)
class StoredText:
    article_id: int
    url: str
    title: str
    summary: str
    text: str
    source: str
    first_seen: datetime
    extract_status: str = "ok"


@dataclass(frozen=True)
class DigestRow:
    id: int
    period_start: datetime | None
    period_end: datetime
    created_at: datetime
    sent_at: datetime | None
    html_path: str


def _topic_tag(topic: str) -> str:
    return hashlib.sha1(topic.encode("utf-8")).hexdigest()[:8]


def message_id_for(article_id: int, topic: str, kind: str, revision_id: int) -> str:
    """The Message-ID of the alert for one event; the same inputs always give the same id."""
    return message_id("alert", article_id, _topic_tag(topic), kind, revision_id)

