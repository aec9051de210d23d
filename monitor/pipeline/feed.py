"""Runs one feed through the stages: fetch → parse → store entries → articles (extract, match,
deltas). Every failure becomes a recorded outcome, never the end of a cycle.

This is the thin orchestrator: it calls each stage in order, turns
``FetchError`` and ``ParseError`` into data (counted, backed off, shown in ``feeds`` and the
digest), and hands the new entries to the article stage in ``monitor.pipeline.articles``.
Feeds and re-checks are claimed a bounded batch at a time, so live processes share them,
and each claim's lease is renewed while its work runs (``monitor.leasing``). The store is
reached through the ``FeedStore`` protocol of exactly the methods used here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor import backoff
from monitor.errors import FetchError, ParseError
from monitor.extract.pool import Extractor
from monitor.fetch.causes import NETWORK_HINTS, shared_network_cause
from monitor.fetch.client import Fetcher
from monitor.leasing import LeaseKeeper
from monitor.models import FeedEntry, FeedState, FetchResult, ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.pipeline.articles import ArticleProcessor, EntryResult
from monitor.pipeline.claims import holding
from monitor.pipeline.offthread import return_free_memory
from monitor.pipeline.settings import FeedSpec, PipelineSettings
from monitor.store.feeds import PollSuccess
from monitor.store.records import EntryChanges, RecheckItem

log = logging.getLogger(__name__)


class FeedStore(Protocol):
    """The store as one feed's poll uses it."""

    def claim_due_feeds(self, now: datetime, *, names: Sequence[str] | None = None,
                        due_only: bool = True, lease_seconds: float | None = None,
                        limit: int | None = None) -> list[FeedState]: ...

    def record_entries(self, feed_id: int, entries: Sequence[FeedEntry], *,
                       at: datetime) -> EntryChanges: ...

    def mark_guid_unstable(self, feed_id: int) -> None: ...

    def take_pending(self, feed_id: int, *, baseline_before: datetime | None,
                     inserted: Sequence[FeedEntry] = ()) -> list[FeedEntry]: ...

    def record_polls(self, polls: Sequence[PollSuccess]) -> None: ...

    def record_poll_failure(self, feed_id: int, *, at: datetime, status: str, error: str,
                            next_poll_at: datetime) -> int: ...

    def due_rechecks(self, now: datetime, *, limit: int = 50) -> list[RecheckItem]: ...


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one poll of one feed did: shown by ``poll``, logged, counted in metrics."""

    feed: str
    status: str                  # "ok", "not_modified" or "error"
    new_entries: int = 0
    matches: int = 0
    deltas: int = 0
    took_ms: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    next_poll_at: datetime | None = None
    articles: tuple[EntryResult, ...] = field(default=())
    record: PollSuccess | None = field(default=None, repr=False, compare=False)


@dataclass
class Pipeline:
    """The stages and their shared parts, handed in by the wiring in ``monitor.app``."""

    settings: PipelineSettings
    store: FeedStore
    fetcher: Fetcher
    extractor: Extractor
    articles: ArticleProcessor
    clock: Callable[[], datetime]
    rng: random.Random = field(default_factory=random.Random)
    keeper: LeaseKeeper | None = None       # renews the leases of polls in progress

    async def recheck_due(self) -> list[EntryResult]:
        """Every scheduled re-check of a matching article that is due now, in turn; claimed
        a bounded batch at a time, each batch's leases renewed until it is done."""
        limit, results = self.settings.claim_batch, []
        while batch := await self.articles.db.run(self.store.due_rechecks, self.clock(),
                                                  limit=limit):
            with holding(self.keeper, "articles", [item.article_id for item in batch]):
                results += [await self.articles.recheck(item) for item in batch]
            if len(batch) < limit:
                break
        return results

    async def run_cycle(self, *, due_only: bool = True,
                        names: Sequence[str] | None = None) -> list[FeedOutcome]:
        """Poll the feeds that are due concurrently: a bounded batch is claimed, and more as
        its polls finish, until none is left (``due_only=False``: every enabled feed)."""
        enabled = set(self.settings.enabled_names)
        wanted = [n for n in (names or enabled) if n in enabled]
        outcomes = sorted(await self._poll_claimed(wanted, due_only), key=lambda o: o.feed)
        _log_cycle(outcomes)
        return_free_memory()
        return outcomes

    async def _poll_claimed(self, wanted: Sequence[str], due_only: bool) -> list[FeedOutcome]:
        """Claims and polls until nothing is left: more feeds are claimed once half of the
        batch in flight is done (a bounded batch each time, so other processes get theirs,
        and one process never holds every feed's entries and pages at once); a feed is
        claimed once a cycle."""
        batch = self.settings.claim_batch
        left = list(wanted)
        running: set[asyncio.Future[FeedOutcome]] = set()
        outcomes: list[FeedOutcome] = []
        more = bool(left)
        try:
            while more or running:
                if more and len(running) <= batch // 2:
                    limit = batch - len(running)
                    states = await self.articles.db.run(
                        self.store.claim_due_feeds, self.clock(), names=left,
                        due_only=due_only, limit=limit)
                    taken = {s.name for s in states}
                    left = [n for n in left if n not in taken]
                    more = len(states) == limit and bool(left)
                    running |= {asyncio.ensure_future(self._poll_one(s)) for s in states}
                if running:
                    done, running = await asyncio.wait(running,
                                                       return_when=asyncio.FIRST_COMPLETED)
                    finished = [task.result() for task in done]
                    await self._record(finished)
                    outcomes += finished
        finally:
            for task in running:
                task.cancel()
        return outcomes

    async def _record(self, outcomes: Sequence[FeedOutcome]) -> None:
        """The successful polls among ``outcomes``, written in one transaction."""
        polls = [o.record for o in outcomes if o.record is not None]
        if polls:
            await self.articles.db.run(self.store.record_polls, polls)

    async def poll_feed(self, state: FeedState) -> FeedOutcome:
        """One feed, start to end, its lease renewed meanwhile, its result recorded. Never
        raises for a feed's own problems."""
        outcome = await self._poll_one(state)
        await self._record([outcome])
        return outcome

    async def _poll_one(self, state: FeedState) -> FeedOutcome:
        """``poll_feed`` but a success is left to record (``FeedOutcome.record``), so the
        cycle writes the polls that ended together at once."""
        with holding(self.keeper, "feeds", [state.id]):
            return await self._poll_held(state)

    async def _poll_held(self, state: FeedState) -> FeedOutcome:
        feed = self.settings.feed(state.name)
        started = time.perf_counter()
        if feed is None:
            return FeedOutcome(state.name, "error", error="not configured")
        try:
            outcome = await self._poll(feed, state)
        except (FetchError, ParseError) as exc:
            outcome = await self._record_failure(feed, state, exc)
        except Exception as exc:  # a bug must cost one feed one cycle, never the others
            log.exception("poll feed=%r status=internal_error", feed.name)
            outcome = await self._record_failure(feed, state, exc)
        return _with_time(outcome, started)

    async def _poll(self, feed: FeedSpec, state: FeedState) -> FeedOutcome:
        result = await self.fetcher.fetch(feed.url, etag=state.etag,
                                          last_modified=state.last_modified)
        if result.not_modified:
            return self._record_success(feed, state, result, "not_modified")
        parsed = await self._parse(result, state)
        changes = await self.articles.db.run(self.store.record_entries, state.id,
                                             parsed.entries, at=result.fetched_at)
        if changes.guid_changes and not state.guid_unstable:
            await self.articles.db.run(self.store.mark_guid_unstable, state.id)
        fresh, results = await self._process_pending(feed, state, result.fetched_at,
                                                     changes.new, changes.changed)
        keys = {e.key for e in fresh}
        done = tuple(r.key for r in results if r.key in keys
                     and r.status not in ("error", "deferred"))
        return self._record_success(feed, state, result, "ok", results, new=len(fresh),
                                    done=done)

    async def _process_pending(self, feed: FeedSpec, state: FeedState, now: datetime,
                               inserted: Sequence[FeedEntry], changed: Sequence[FeedEntry],
                               ) -> tuple[list[FeedEntry], list[EntryResult]]:
        """New entries (and any a crash left unprocessed) become articles; an entry is marked
        done (with the poll's record) only once its article is stored, so nothing found is
        ever lost. On a feed's first poll only recent, dated entries count as new: the rest
        is baseline. The entries this poll stored (``inserted``) are not read back."""
        since = None if state.baseline_done else now - self.settings.first_poll_window
        fresh = await self.articles.db.run(self.store.take_pending, state.id,
                                           baseline_before=since, inserted=inserted)
        return fresh, await self.articles.process(feed, state, fresh, changed)

    async def _parse(self, result: FetchResult, state: FeedState) -> ParsedFeed:
        """feedparser in the worker processes: it holds the GIL for tens of milliseconds a
        feed, which in a thread would stall the event loop."""
        identity = "link" if state.guid_unstable else "auto"
        try:
            return await self.extractor.offload(
                parse_feed, result.body, url=result.final_url, headers=dict(result.headers),
                fetched_at=result.fetched_at, identity=identity)
        except TimeoutError:
            raise ParseError("parsing ran past its time budget") from None
        except BrokenProcessPool:
            raise ParseError("the parsing worker died") from None

    def _record_success(self, feed: FeedSpec, state: FeedState, result: FetchResult,
                        status: str, results: Sequence[EntryResult] = (),
                        new: int = 0, done: tuple[str, ...] = ()) -> FeedOutcome:
        next_poll = backoff.after_success(result.fetched_at, feed.interval, self.rng)
        record = PollSuccess(state.id, result.fetched_at, status, result.etag,
                             result.last_modified, next_poll, new, done)
        return FeedOutcome(feed.name, status, new_entries=new,
                           matches=sum(bool(r.matched) for r in results),
                           deltas=sum(r.deltas for r in results),
                           next_poll_at=next_poll, articles=tuple(results), record=record)

    async def _record_failure(self, feed: FeedSpec, state: FeedState,
                              exc: Exception) -> FeedOutcome:
        now = self.clock()
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        kind = _error_kind(exc)
        next_poll = backoff.after_failure(now, feed.interval, state.consecutive_errors + 1,
                                          self.rng, retry_after=retry_after)
        text = str(exc) if kind != "internal" else f"internal error: {type(exc).__name__}: {exc}"
        await self.articles.db.run(self.store.record_poll_failure, state.id, at=now,
                                   status=kind, error=text, next_poll_at=next_poll)
        return FeedOutcome(feed.name, "error", error=text, error_kind=kind,
                           next_poll_at=next_poll)


def _error_kind(exc: Exception) -> str:
    if isinstance(exc, FetchError):
        return exc.kind
    return "parse" if isinstance(exc, ParseError) else "internal"


def _with_time(outcome: FeedOutcome, started: float) -> FeedOutcome:
    return dataclasses.replace(outcome, took_ms=(time.perf_counter() - started) * 1000)


def _log_cycle(outcomes: Sequence[FeedOutcome]) -> None:
    """One line per feed; one line in all when every feed failed with one network cause."""
    failed = [(o.error_kind, o.error) for o in outcomes if o.status == "error"]
    cause = shared_network_cause(failed, len(outcomes))
    if cause is None:
        for outcome in outcomes:
            _log_outcome(outcome)
        return
    log.warning("poll status=error feeds=%d cause=%s hint=%r", len(outcomes), cause,
                f"every feed failed: {NETWORK_HINTS[cause]}")


def _log_outcome(outcome: FeedOutcome) -> None:
    if outcome.status == "error":
        log.warning("poll feed=%r status=error kind=%s took_ms=%d error=%r", outcome.feed,
                    outcome.error_kind, outcome.took_ms, outcome.error)
    else:
        log.info("poll feed=%r status=%s new=%d matches=%d deltas=%d took_ms=%d", outcome.feed,
                 outcome.status, outcome.new_entries, outcome.matches, outcome.deltas,
                 outcome.took_ms)
