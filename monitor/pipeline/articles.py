"""The article half of the pipeline: page → text → topic matches → deltas → store.

For each new feed entry (and each scheduled re-check of a matching article) this module
fetches the linked page (or keeps the feed summary), extracts it, evaluates every topic,
decides which events happen (``new``, or a material ``updated``) and hands the store one
``ArticleOutcome`` of plain values: the store writes revision, matches and events, finds a new
article's cluster from its signature (``ClusterQuery``) and queues or folds each route's
deliveries (the settings' ``RoutePolicy``s), all in one transaction. Matching runs on the
event loop; the article's row, the decision (which reads earlier revisions) and the outcome
then go to the store thread as one call. The store is reached
through the ``ArticleStore`` protocol of exactly the methods used here. A page is fetched by one
process at a time (``monitor.pipeline.claims``). Failures of one page fall back to the feed
summary, marked; they never stop the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeAlias

from monitor.deltas import diff as deltas
from monitor.errors import FetchError
from monitor.extract.html import summary_page
from monitor.extract.pool import Extractor
from monitor.fetch.client import Fetcher
from monitor.leasing import LeaseKeeper
from monitor.match import DocumentCache, Topic, article_document, page_document
from monitor.match.document import default_cache
from monitor.match.normalise import Normaliser
from monitor.models import FeedEntry, FeedState, MatchResult, Page, Revision
from monitor.pipeline.claims import PageClaims, holding
from monitor.pipeline.offload import story_signature, with_signature
from monitor.pipeline.offthread import StoreThread
from monitor.pipeline.settings import FeedSpec, PipelineSettings
from monitor.store.records import (
    ArticleOutcome,
    ArticleRef,
    ClusterQuery,
    NewEvent,
    RecheckItem,
    SavedOutcome,
)

log = logging.getLogger(__name__)


class HeldBack(Protocol):
    """Learning from the desk's verdicts (``pipeline.learning.VerdictJudge``)."""

    def held_back(self, topic: str, title: str, text: str, section: str = "") -> str: ...


class _Waited:
    """An entry that waited for another entry's page: link it once that one is stored."""


_WAITED = _Waited()
_NOT_STORED = ("error", "deferred", "tombstoned")
STORED_HINTS = 20_000     # links of pages stored lately, remembered to batch their links
DOCUMENTS_KEPT = 16       # prepared documents the article stage keeps


class ArticleStore(Protocol):
    """The store as the article stage uses it."""

    def pin_thread(self) -> None: ...

    def link_known_many(self, feed_id: int,
                        items: Sequence[tuple[str, str]]) -> dict[str, int]: ...

    def upsert_article(self, url: str, *, at: datetime, title: str, source: str,
                       site_name: str = "", entry: tuple[int, str] | None = None) -> ArticleRef: ...

    def entry_article(self, feed_id: int, key: str) -> int | None: ...

    def baseline_revision(self, article_id: int, topic: str) -> Revision | None: ...

    def check_schedule(self, article_id: int) -> tuple[datetime | None, int]: ...

    def set_recheck(self, article_id: int, *, next_check_at: datetime | None, stage: int,
                    etag: str | None = None, last_modified: str | None = None) -> None: ...

    def save_outcome(self, outcome: ArticleOutcome, *,
                     release_job: int | None = None) -> SavedOutcome: ...

    def claim_page_for(self, feed_id: int, key: str, url: str,
                       now: datetime) -> int | Literal["known"] | None: ...

    def drop_job(self, job_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class EntryResult:
    """What happened to one article: shown per feed by ``poll``."""

    key: str                     # the feed entry's key ('' for a re-check)
    title: str
    url: str
    status: str                  # the extract status, "known", "tombstoned", "deferred"
                                 # (its page is another process's now) or "error"
    matched: tuple[str, ...] = ()
    deltas: int = 0


_Result: TypeAlias = EntryResult | _Waited | None


@dataclass(frozen=True, slots=True)
class Source:
    """Where an article came from: the feed entry's view of it."""

    name: str
    url: str
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class _Assessed:
    """A page matched on the event loop, for the store thread to decide on and save."""

    source: Source
    page: Page
    title: str
    body: str
    results: tuple[MatchResult, ...]
    signature: bytes

    @property
    def url(self) -> str:
        return self.page.canonical_url or self.source.url


def _told(key: str, found: _Assessed, saved: SavedOutcome) -> EntryResult:
    """What ``poll`` shows of a saved outcome: the topics matched, the alerts raised."""
    matched = tuple(r.topic for r in found.results if r.matched)
    told = sum(d.kind != "margin" for d in saved.deltas)
    return EntryResult(key, found.title, found.url, found.page.status, matched, told)


class ArticleProcessor:
    """Turns entries and re-checks into stored revisions, matches and events."""

    def __init__(self, *, settings: PipelineSettings, store: ArticleStore, fetcher: Fetcher,
                 extractor: Extractor, topics: Sequence[Topic],
                 clock: Callable[[], datetime], keeper: LeaseKeeper | None = None,
                 judge: HeldBack | None = None, lemmas: Normaliser | None = None) -> None:
        self.settings, self.store, self.fetcher = settings, store, fetcher
        self.judge = judge
        self.extractor, self.topics, self.clock = extractor, topics, clock
        self.keeper = keeper
        self.db = StoreThread(store.pin_thread)      # the larger writes, off the event loop
        self.pages = PageClaims(store, clock, settings.page_wait, self.db)
        # Articles in flight at once (fetched page, extraction, matching): bounded, so a
        # first cycle over thousands of entries never holds thousands of pages in memory.
        self._slots = asyncio.Semaphore(settings.articles_in_flight)
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._stored: dict[str, None] = {}     # links of pages stored here lately, oldest first
        # Every topic evaluates a page right after it is prepared: a few documents suffice
        # (the default cache keeps 256, about 20 MB), with the one normaliser of the process.
        self._docs = DocumentCache(DOCUMENTS_KEPT,
                                   normaliser=lemmas or default_cache().normaliser)

    def close(self) -> None:
        """End the store thread (its last calls done); the app closes the store next."""
        self.db.close()

    async def process(self, feed: FeedSpec, state: FeedState, fresh: Sequence[FeedEntry],
                      changed: Sequence[FeedEntry]) -> list[EntryResult]:
        """New entries become articles; changed entries re-check their article. Entries
        whose page is stored already (another feed carried it) are linked to it in one
        transaction for the feed, before and after waiting for pages in flight here."""
        known, todo = await self._known(state, fresh)
        results: list[_Result] = [*known]
        first = await self._run([functools.partial(self._entry_once, feed, state, e)
                                 for e in todo], todo, slot=False)
        waited = [e for e, r in zip(todo, first, strict=True) if r is _WAITED]
        more, again = await self._known(state, waited)
        results += [*first, *more]
        results += await self._run([functools.partial(self._entry, feed, state, e)
                                    for e in again], again)
        done = {r.key: r for r in results if isinstance(r, EntryResult)}
        changes = await self._run([functools.partial(self._changed, feed, state, e)
                                   for e in changed], changed)
        return [done[e.key] for e in fresh if e.key in done] + \
            [r for r in changes if isinstance(r, EntryResult)]

    async def _known(self, state: FeedState, entries: Sequence[FeedEntry],
                     ) -> tuple[list[EntryResult], list[FeedEntry]]:
        """("known" results, the other entries): one transaction links the entries whose
        page is a stored, evaluated article."""
        items = [(e.key, e.link) for e in entries if e.link]
        linked = await self.db.run(self.store.link_known_many, state.id, items) if items else {}
        return ([EntryResult(e.key, e.title, e.link, "known") for e in entries if e.key in linked],
                [e for e in entries if e.key not in linked])

    async def _run(self, jobs: Sequence[Callable[[], Awaitable[_Result]]],
                   entries: Sequence[FeedEntry], *, slot: bool = True) -> list[_Result]:
        return list(await asyncio.gather(*(self._guarded(job, e, slot)
                                           for job, e in zip(jobs, entries, strict=True))))

    async def _guarded(self, job: Callable[[], Awaitable[_Result]],
                       entry: FeedEntry, slot: bool) -> _Result:
        """One article's unexpected failure costs that article this poll, not the feed; a
        job runs in one of the bounded slots unless it takes one itself (``slot``)."""
        try:
            async with self._slots if slot else contextlib.nullcontext():
                return await job()
        except Exception:
            log.exception("article url=%s status=error", entry.link)
            return EntryResult(entry.key, entry.title, entry.link, "error")

    async def _entry_once(self, feed: FeedSpec, state: FeedState,
                          entry: FeedEntry) -> _Result:
        """Entries of several feeds linking one page fetch and evaluate it once: the others
        wait for it, without holding a slot, and are then linked to it with the feed's
        others (``_WAITED``), as are entries whose page this process stored already."""
        while not await self._waited(entry.link):
            async with self._slots:
                if entry.link in self._in_flight:
                    continue                 # another entry took the page meanwhile
                if entry.link in self._stored:
                    return _WAITED
                return await self._entry_in_flight(feed, state, entry)
        return _WAITED

    async def _waited(self, link: str) -> bool:
        """True when ``link``'s page was stored by this process or is in flight here (and
        has been waited for)."""
        if not link:
            return False
        if link in self._stored:
            return True
        running = self._in_flight.get(link)
        if running is None:
            return False
        await asyncio.shield(running)
        return True

    async def _entry_in_flight(self, feed: FeedSpec, state: FeedState,
                               entry: FeedEntry) -> EntryResult | None:
        done = asyncio.get_running_loop().create_future()
        if entry.link:
            self._in_flight[entry.link] = done
        try:
            result = await self._entry(feed, state, entry)
            if entry.link and result is not None and result.status not in _NOT_STORED:
                self._remember(entry.link)
            return result
        finally:
            done.set_result(None)
            self._in_flight.pop(entry.link, None)

    def _remember(self, link: str) -> None:
        """A page stored here: a hint only (the store confirms it), so it is bounded."""
        self._stored[link] = None
        if len(self._stored) > STORED_HINTS:
            del self._stored[next(iter(self._stored))]

    async def recheck(self, item: RecheckItem) -> EntryResult:
        """A scheduled re-check of a matching article, with a conditional GET."""
        source = Source(item.source, item.url, item.title, item.summary, None)
        try:
            result = await self.fetcher.fetch(item.url, etag=item.etag,
                                              last_modified=item.last_modified,
                                              max_bytes=self.settings.page_max_bytes)
        except FetchError as exc:
            log.info("recheck url=%s status=error error=%r", item.url, str(exc))
            await self._advance(item.article_id, item.stage, item.etag, item.last_modified)
            return EntryResult("", item.title, item.url, "failed")
        if result.not_modified:
            await self._advance(item.article_id, item.stage, result.etag, result.last_modified)
            return EntryResult("", item.title, item.url, "not_modified")
        page = await self.extractor.extract(result.body, url=result.final_url,
                                            feed_title=item.title, feed_summary=item.summary,
                                            after=with_signature)
        return await self._evaluate(item.article_id, source, page, stage=item.stage + 1,
                              validators=(result.etag, result.last_modified))

    async def _entry(self, feed: FeedSpec, state: FeedState,
                     entry: FeedEntry) -> EntryResult | None:
        """A new entry: known already, or its page claimed (one process fetches a page
        however many feeds carry it), fetched and evaluated."""
        if not entry.link:
            return await self._first_look(feed, state, entry, None)
        claim = await self.pages.take(state.id, entry.key, entry.link)
        if isinstance(claim, str):
            return EntryResult(entry.key, entry.title, entry.link, claim)
        claims = [claim]     # emptied once the outcome that releases it is saved
        try:
            with holding(self.keeper, "jobs", [claim]):
                return await self._first_look(feed, state, entry, claims)
        finally:
            for left in claims:
                await self.db.run(self.store.drop_job, left)

    async def _first_look(self, feed: FeedSpec, state: FeedState, entry: FeedEntry,
                          claims: list[int] | None) -> EntryResult | None:
        """Fetch, extract and match the entry's page, then in one store call: its article
        (created, or known under the page's canonical URL), the events and the outcome."""
        source = Source(feed.name, entry.link, entry.title, entry.summary, entry.published)
        page, validators = await self._page(feed, entry)
        url = page.canonical_url or entry.link or f"urn:news-monitor:{state.id}:{entry.key}"
        found = await self._assess(source, page)
        article = functools.partial(self.store.upsert_article, url, at=self.clock(),
                                    title=page.title or entry.title, source=feed.name,
                                    site_name=page.site_name, entry=(state.id, entry.key))
        saved = await self.db.run(self._save_first, article, found, validators,
                                  claims[0] if claims else None)
        if saved is None:
            return EntryResult(entry.key, entry.title, url, "tombstoned")
        if claims:
            claims.clear()            # released with the outcome: nothing left to drop
        return _told(entry.key, found, saved)

    async def _changed(self, feed: FeedSpec, state: FeedState,
                       entry: FeedEntry) -> EntryResult | None:
        article_id = await self.db.run(self.store.entry_article, state.id, entry.key)
        if article_id is None:
            return None
        source = Source(feed.name, entry.link, entry.title, entry.summary, entry.published)
        page, validators = await self._page(feed, entry)
        return await self._evaluate(article_id, source, page, stage=None, validators=validators,
                              key=entry.key)

    async def _page(self, feed: FeedSpec,
                    entry: FeedEntry) -> tuple[Page, tuple[str | None, str | None]]:
        """The article's page, or the feed summary (marked) when it cannot or may not be had."""
        link = entry.link
        if not feed.full_text or not link.startswith(("http://", "https://")):
            return summary_page(link, entry.title, entry.summary, "summary_only"), (None, None)
        if not await self.fetcher.allowed_by_robots(link):
            return summary_page(link, entry.title, entry.summary, "robots",
                                "robots.txt disallows this page"), (None, None)
        try:
            result = await self.fetcher.fetch(link, max_bytes=self.settings.page_max_bytes)
        except FetchError as exc:
            return summary_page(link, entry.title, entry.summary, "failed", str(exc)), (None, None)
        page = await self.extractor.extract(result.body, url=result.final_url,
                                            feed_title=entry.title, feed_summary=entry.summary,
                                            after=with_signature)
        return page, (result.etag, result.last_modified)

    async def _evaluate(self, article_id: int, source: Source, page: Page, *, stage: int | None,
                        validators: tuple[str | None, str | None], key: str = "") -> EntryResult:
        """Match, decide the events and save it all at once, for a stored article. ``stage``
        is the re-check this is; None for an unscheduled look, which keeps the schedule."""
        found = await self._assess(source, page)
        saved = await self.db.run(self._save, article_id, found, validators, stage=stage)
        return _told(key, found, saved)

    async def _assess(self, source: Source, page: Page) -> _Assessed:
        """The page matched against every topic, with the text and signature to store."""
        doc = page_document(page, feed_title=source.title, feed_summary=source.summary,
                            cache=self._docs)
        results = tuple(topic.evaluate(doc) for topic in self.topics)
        body = (page.text if page.status == "ok" else "") or source.summary
        sig = page.signature if page.signature is not None else await self._signature(body)
        return _Assessed(source, page, page.title or source.title, body, results, sig)

    def _save_first(self, article: Callable[[], ArticleRef], found: _Assessed,
                    validators: tuple[str | None, str | None],
                    release_job: int | None) -> SavedOutcome | None:
        """In the store thread: the article (None when its URL is tombstoned), then its
        outcome. A ``fresh`` article (created just now) has no events to measure a change
        against; one known already but without a revision was cut short (a crash) before
        its first evaluation, and counts as first seen too."""
        ref = article()
        if ref.tombstoned:
            return None
        first = ref.created or not ref.evaluated
        return self._save(ref.id, found, validators, stage=0 if first else None, first=first,
                          fresh=ref.created, release_job=release_job)

    def _save(self, article_id: int, found: _Assessed,
              validators: tuple[str | None, str | None], *, stage: int | None,
              first: bool = False, fresh: bool = False,
              release_job: int | None = None) -> SavedOutcome:
        """In the store thread: the events and schedule decided and the outcome saved, the
        page claim ``release_job`` released with it."""
        events, (next_check, check_stage) = self._decide(
            article_id, found.results, found.title, found.body, found.source.name,
            fresh=fresh, first=first, stage=stage)
        page, source = found.page, found.source
        outcome = ArticleOutcome(
            article_id=article_id, fetched_at=self.clock(), title=found.title,
            text=found.body, text_hash=deltas.text_hash(found.title, found.body),
            extract_status=page.status, source=source.name, url=found.url,
            summary=source.summary, published=source.published or page.date,
            matches=found.results, events=events, signature=found.signature or None,
            next_check_at=next_check, check_stage=check_stage, etag=validators[0],
            last_modified=validators[1],
            cluster=self._cluster_query(found.signature) if first else None,
            routes=self.settings.routes, one_new_per_cluster=True)
        return self.store.save_outcome(outcome, release_job=release_job)

    async def _signature(self, body: str) -> bytes:
        """The story signature of a text the extraction worker did not sign (a feed
        summary), computed in a worker (datasketch stays out of this process); here when the
        pool cannot take it."""
        try:
            return await self.extractor.offload(story_signature, body)
        except (TimeoutError, BrokenProcessPool, RuntimeError):
            return story_signature(body)

    def _decide(self, article_id: int, results: Sequence[MatchResult], title: str, body: str,
                outlet: str, *, fresh: bool, first: bool, stage: int | None,
                ) -> tuple[tuple[NewEvent, ...], tuple[datetime | None, int]]:
        """The article's events and its re-check schedule. Run in the store thread (by
        ``_save``), not on the event loop: it reads the store (the baseline revisions, the
        schedule), compares
        texts word by word and asks the verdict judge, whose model is refitted (and
        scikit-learn imported) when a topic's verdicts changed."""
        events = tuple(e for r in results if r.matched
                       for e in self._events(article_id, r, title, body, fresh, outlet))
        if first:    # below the threshold with the query holding: for the digest only
            events += tuple(NewEvent("margin", r.topic, r.score, r.hits)
                            for r in results if r.margin)
        return events, self._schedule(article_id, results, stage)

    def _events(self, article_id: int, result: MatchResult, title: str,
                text: str, fresh: bool, outlet: str = "") -> list[NewEvent]:
        """``new`` on the first match (the store drops it for wire copy of an alerted story),
        ``updated`` on a material change since the last alerted revision (for attached wire
        copy: since the revision it attached with)."""
        previous = None if fresh else self.store.baseline_revision(article_id, result.topic)
        if previous is None:
            held = self.judge.held_back(result.topic, title, text, outlet) if self.judge else ""
            return [NewEvent("new", result.topic, result.score, result.hits, held=held)]
        if previous.text_hash == deltas.text_hash(title, text):
            return []
        diff = deltas.word_diff(previous.title, previous.text, title, text)
        material = deltas.is_material(diff, min_words=self.settings.min_changed_words)
        if not (material or self._hit_in_changed(result.topic, previous, text)):
            return []
        return [NewEvent("updated", result.topic, result.score, result.hits, diff, previous.id)]

    def _hit_in_changed(self, topic_name: str, previous: Revision, text: str) -> bool:
        sentences = " ".join(deltas.changed_sentences(previous.text, text))
        topic = next((t for t in self.topics if t.name == topic_name), None)
        if not sentences or topic is None:
            return False
        return bool(topic.evaluate(article_document(title="", text=sentences,
                                                    cache=self._docs)).hits)

    def _cluster_query(self, sig: bytes) -> ClusterQuery | None:
        """How the store finds a new article's cluster, inside its write transaction: two
        copies of a story saved in one cycle (or by two processes) cannot both miss."""
        if not sig:
            return None
        return ClusterQuery(signature=sig, since=self.clock() - self.settings.cluster_window)

    def _schedule(self, article_id: int, results: Sequence[MatchResult],
                  stage: int | None) -> tuple[datetime | None, int]:
        """Matching articles are re-checked at the configured offsets after first seen; an
        unscheduled look (feed entry changed) keeps a schedule already running."""
        if stage is None:
            next_check, done = self.store.check_schedule(article_id)
            if next_check is not None or done:
                return next_check, done
            stage = 0
        if not any(r.matched for r in results):
            return None, stage
        wait = self._wait_before(stage)
        return (self.clock() + wait if wait is not None else None), stage

    def _wait_before(self, stage: int) -> timedelta | None:
        """The time from re-check ``stage - 1`` (or first seen) to re-check ``stage``."""
        offsets = self.settings.recheck
        if stage >= len(offsets):
            return None
        return offsets[stage] - (offsets[stage - 1] if stage else timedelta(0))

    async def _advance(self, article_id: int, stage: int, etag: str | None,
                       modified: str | None) -> None:
        wait = self._wait_before(stage + 1)
        await self.db.run(self.store.set_recheck, article_id,
                          next_check_at=self.clock() + wait if wait else None,
                          stage=stage + 1, etag=etag, last_modified=modified)
