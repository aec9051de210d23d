"""Records the store hands out and takes in, beyond the pipeline records of monitor.models.

Frozen dataclasses only, plain values all: an ``ArticleOutcome`` carries what the store
needs to decide a new article's cluster (``ClusterQuery``) and which routes are told of its
events, and how (``RoutePolicy``), so ``save_outcome`` takes no callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.models import (
    DEFAULT_ROUTE,
    Delta,
    DeltaKind,
    FeedEntry,
    Hit,
    MatchResult,
    OutgoingMail,
    WordDiff,
)

__all__ = [
    "ArticleOutcome", "ArticleRef", "ClusterQuery", "DeadLetter",
    "DigestRow", "EntryChanges", "JobClaim", "JobStatus", "NewEvent", "RecheckItem",
    "RouteMode", "RoutePolicy", "SavedOutcome", "StoredText",
]

RouteMode = Literal["immediate", "hourly", "digest", "off"]
ALL_EVENTS: frozenset[str] = frozenset({"new", "updated", "digest"})
JobStatus = Literal["claimed", "held", "done"]


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
    held: str = ""     # why the desk's verdicts hold it back from alerts ("" alerts as usual)


@dataclass(frozen=True)
class ClusterQuery:
    """Find a new article's cluster: the cluster of the most similar article first seen since
    ``since`` whose estimated similarity to ``signature`` is at least ``threshold``."""

    signature: bytes
    since: datetime
    threshold: float = 0.5


@dataclass(frozen=True)
class RoutePolicy:
    """Which events a route is told of, and how: the route's topics (None: every topic) and
    event kinds; mode "immediate" queues a delivery per event until ``max_per_hour`` were
    queued for the route in the last hour and folds the rest into its hourly summary,
    "hourly" folds every one, "digest" and "off" queue none (a "digest" route gets only the
    digest)."""

    name: str = DEFAULT_ROUTE
    channel: str = "email"
    mode: RouteMode = "immediate"
    max_per_hour: int = 20
    topics: frozenset[str] | None = None
    events: frozenset[str] = ALL_EVENTS

    def takes(self, topic: str, kind: str) -> bool:
        """Whether an event of ``kind`` ("new", "updated", "digest") on ``topic`` is this
        route's."""
        return kind in self.events and (self.topics is None or topic in self.topics)

    @property
    def alerts(self) -> bool:
        """Whether events are queued or folded as they happen (not only in the digest)."""
        return self.mode in ("immediate", "hourly")


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
    cluster: ClusterQuery | None = None       # set on an article's first evaluation
    routes: tuple[RoutePolicy, ...] = ()     # who is told of its events; none: nobody
    one_new_per_cluster: bool = False         # wire copy of an alerted story raises no "new"


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


@dataclass(frozen=True, slots=True)
class JobClaim:
    """The answer to claiming a job: this process holds it now ("claimed"), another process
    does ("held", by ``owner``), or it was done (at ``done_at``)."""

    id: int
    name: str
    status: JobStatus
    owner: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter(OutgoingMail):
    """A mail that could not be built: kept in the outbox as dead, with the reason."""

    error: str = ""
