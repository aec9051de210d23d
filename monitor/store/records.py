"""Records the store hands out and takes in, beyond the pipeline records of monitor.models.

Frozen dataclasses only, plain values all: an ``ArticleOutcome`` carries what the store
needs to decide a new article's cluster (``ClusterQuery``) and which of its events are
mailed (``AlertPolicy``), so ``save_outcome`` takes no callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.models import Delta, DeltaKind, FeedEntry, Hit, MatchResult, OutgoingMail, WordDiff

__all__ = [
    "AlertMode", "AlertPolicy", "ArticleOutcome", "ArticleRef", "ClusterQuery", "DeadLetter",
    "DigestRow", "EntryChanges", "JobClaim", "JobStatus", "NewEvent", "RecheckItem",
    "SavedOutcome", "StoredText",
]

AlertMode = Literal["immediate", "hourly", "off"]
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


@dataclass(frozen=True)
class ClusterQuery:
    """Find a new article's cluster: the cluster of the most similar article first seen since
    ``since`` whose estimated similarity to ``signature`` is at least ``threshold``."""

    signature: bytes
    since: datetime
    threshold: float = 0.5


@dataclass(frozen=True)
class AlertPolicy:
    """Which new events are mailed: "immediate" queues an alert each until ``max_per_hour``
    alerts were queued in the last hour and folds the rest into the hourly summary; "hourly"
    folds every one; "off" mails none."""

    mode: AlertMode = "immediate"
    max_per_hour: int = 20


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
    alerts: AlertPolicy | None = None         # None: no mail for its events
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
