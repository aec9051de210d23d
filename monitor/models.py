"""Plain immutable records passed between the stages of the pipeline.

Data flows one way: fetch → parse → extract → match → store deltas → notify. Every stage
takes and returns these records (never a library's objects), so stages can be tested alone
and the store never sees an httpx response or a feedparser dict. All datetimes are aware
and in UTC. This module also owns every Message-ID news-monitor sets (``message_id`` and the
alert, update and summary ids built on it), so the store, which gives an alert its id when
it queues it, and notify, which renders and threads the mails, agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DeltaKind = Literal["new", "updated", "margin"]   # margin: listed in the digest, never alerted
ExtractStatus = Literal[
    "ok",            # main text extracted from the page
    "consent_wall",  # a cookie/consent wall; the feed summary is the text
    "paywall",       # a subscription teaser; the feed summary is the text
    "failed",        # fetch or extraction failed; the feed summary is the text
    "timeout",       # extraction ran past its budget; the feed summary is the text
    "robots",        # robots.txt forbids the page; the feed summary is the text
    "summary_only",  # the feed is configured with full_text = false
]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP response we read ourselves. A 304 has ``status == 304`` and an empty body."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    elapsed_ms: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as parse produced it."""

    key: str                 # stable identity within the feed (guid, canonical link or hash)
    guid: str | None
    link: str                # canonical URL ('' when the entry has no usable link)
    raw_link: str
    title: str
    summary: str             # plain text, markup removed
    published: datetime      # the entry's date, clamped to the fetch time; fetch time if none
    updated: datetime | None
    has_date: bool           # False when ``published`` is the fetch time because none was given


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str
    entries: tuple[FeedEntry, ...]
    warning: str | None = None   # a tolerated problem (feedparser's bozo with entries)


@dataclass(frozen=True, slots=True)
class Page:
    """The text of one article and its metadata, or the feed summary as a marked fallback."""

    url: str                 # the URL fetched (after redirects)
    canonical_url: str       # rel=canonical / og:url when present and sane, else cleaned url
    title: str
    text: str
    status: ExtractStatus
    author: str = ""
    date: datetime | None = None
    site_name: str = ""
    language: str = ""
    detail: str = ""         # why a fallback was used
    signature: bytes | None = None   # the story signature of ``text``, if the worker made it


@dataclass(frozen=True, slots=True)
class Hit:
    """One clause of a query that hit, where, and a snippet with the hit marked.

    ``marks`` are (start, end) character offsets into ``snippet``.
    """

    clause: str
    field: str               # "title", "summary" or "text"
    term: str                # the words of the text that hit
    snippet: str
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class MatchResult:
    topic: str
    matched: bool
    score: float
    hits: tuple[Hit, ...] = ()
    margin: bool = False     # the query holds, the score falls short: "Am Rande erwähnt"


DiffOp = Literal["=", "+", "-"]


@dataclass(frozen=True, slots=True)
class WordDiff:
    """A word-level diff: segments of equal, added and removed words, in order."""

    segments: tuple[tuple[DiffOp, str], ...]
    added_words: int
    removed_words: int
    title_changed: bool = False


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store knows of one feed: schedule, validators and health."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime | None
    consecutive_errors: int
    last_status: str | None
    last_error: str | None
    last_success_at: datetime | None
    last_polled_at: datetime | None
    last_new_at: datetime | None
    baseline_done: bool
    guid_unstable: bool
    entries_count: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """An event the users hear about: a new matching article, or a material update to one."""

    id: int
    kind: DeltaKind
    topic: str
    url: str
    title: str
    source: str
    published: datetime | None
    detected_at: datetime
    score: float
    hits: tuple[Hit, ...]
    summary: str = ""
    diff: WordDiff | None = None
    also_reported_by: tuple[str, ...] = ()
    cluster_size: int = 1
    thread_id: str = ""      # Message-ID of the first alert for this article and topic
    article_id: int | None = None   # the story, for links into the review desk
    backfill: bool = False   # found by applying a new or edited topic to stored articles
    held: str = ""           # why the desk's verdicts held it back from alerts


MESSAGE_ID_DOMAIN = "news-monitor"
DEFAULT_ROUTE = "default"   # the route built from [email] and [digest] when none is configured
Channel = Literal["email", "webhook", "apprise"]


def message_id(*parts: object) -> str:
    """The one form of every Message-ID news-monitor sets: ``<part.part@news-monitor>``.

    Deterministic from its parts, so the store (thread roots), delivery and the digest agree.
    """
    return "<" + ".".join(str(p) for p in parts) + f"@{MESSAGE_ID_DOMAIN}>"


def alert_thread_id(article_id: int, topic: str, kind: str, revision_id: int) -> str:
    """The thread root of an article's alerts for a topic: the Message-ID of its first alert
    (the store keeps it as the event's ``thread_id``); the same inputs give the same id."""
    tag = hashlib.sha1(topic.encode("utf-8")).hexdigest()[:8]
    return message_id("alert", article_id, tag, kind, revision_id)


def update_message_id(event_id: int) -> str:
    """The Message-ID of the alert for an update: its own id in the article's thread."""
    return message_id("update", event_id)


def alert_message_id(kind: DeltaKind, thread_id: str, event_id: int) -> str:
    """The Message-ID of an event's alert: a new story's alert is the thread root, an update
    gets its own id in that thread."""
    if kind == "new" and thread_id:
        return thread_id
    return update_message_id(event_id)


def summary_message_id(event_ids: Sequence[int], route: str = DEFAULT_ROUTE) -> str:
    """The Message-ID of a route's hourly summary listing these events."""
    key = hashlib.sha1(",".join(map(str, event_ids)).encode()).hexdigest()[:16]
    return route_scoped(message_id("summary", key), route)


def route_scoped(internal_id: str, route: str) -> str:
    """A message's key in the outbox for ``route``: the default route keeps the bare id (so
    older stores go on threading), every other route adds its name, so one event told to
    three routes is three deliveries with three keys."""
    if route == DEFAULT_ROUTE:
        return internal_id
    return internal_id.replace(f"@{MESSAGE_ID_DOMAIN}>", f".r-{route}@{MESSAGE_ID_DOMAIN}>")


def public_message_id(internal_id: str, installation: str, domain: str) -> str:
    """The Message-ID a receiver sees: the outbox key made unique across installations by
    this installation's random id and the sender's domain (``<alert...@news-monitor>`` →
    ``<alert....k3j9x2@example.org>``). Deterministic, so an update's ``In-Reply-To``
    names the same id its thread root was sent with."""
    if not installation:
        return internal_id
    local = internal_id.strip("<>").removesuffix(f"@{MESSAGE_ID_DOMAIN}")
    return f"<{local}.{installation}@{domain or MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A rendered message, ready for the outbox: a mail, a webhook's JSON body or a chat
    text (``channel``) for one route; ``raw`` is exactly what is sent, so every retry sends
    the same bytes (a webhook's signature covers them)."""

    message_id: str
    kind: Literal["alert", "summary", "digest", "test"]
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    route: str = DEFAULT_ROUTE
    channel: Channel = "email"


@dataclass(frozen=True, slots=True)
class FeedHealth:
    name: str
    url: str
    last_status: str | None
    last_error: str | None
    consecutive_errors: int
    last_success_at: datetime | None
    last_new_at: datetime | None


@dataclass(frozen=True, slots=True)
class TopicDigest:
    topic: str
    new: tuple[Delta, ...] = ()
    updated: tuple[Delta, ...] = ()
    held: tuple[Delta, ...] = ()     # "Wahrscheinlich nicht relevant": held back, not alerted
    margin: tuple[Delta, ...] = ()   # "Am Rande erwähnt": the query held, the score fell short


@dataclass(frozen=True, slots=True)
class DigestData:
    period_start: datetime | None
    period_end: datetime
    timezone: str
    topics: tuple[TopicDigest, ...]
    health: tuple[FeedHealth, ...] = ()
    extraction_problems: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Revision:
    """One stored version of an article's extracted text."""

    id: int
    article_id: int
    title: str
    text: str
    text_hash: str
    fetched_at: datetime
    extract_status: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting in (or done with) the outbox."""

    id: int
    message_id: str
    kind: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    status: Literal["pending", "sent", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    event_id: int | None = None  # an alert: the event it tells of
    delta: Delta | None = None   # that event, handed out with a claimed alert not yet rendered
    route: str = DEFAULT_ROUTE   # the route it goes to, and that route's channel
    channel: str = "email"
