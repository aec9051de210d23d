"""The one worker pool: ``extract_html`` and other heavy pure work off the event loop.

``Extractor`` runs ``monitor.extract.html.extract_html`` in a process pool
(``monitor.extract.workers``: forkserver workers fed over pipes by the event loop; the
forkserver is preloaded with trafilatura and feedparser, so the main process never imports
them) with a time budget per page; a stuck or broken worker is replaced, not
waited for. ``Extractor.offload`` runs other CPU-heavy pure work (feed parsing, story
signatures) in the same workers. The pool starts on the first task (its workers are
spawned in a thread, since the first spawn waits for the forkserver's imports), is
replaced after ``tasks_per_worker`` tasks a worker (what lxml and trafilatura grew is
returned), and stops after ``idle_seconds`` without work, so an idle daemon is one process.
``ExtractOptions`` sets the workers and the limits.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.extract.html import DEFAULT_MAX_BYTES, cap_html, extract_html, summary_page
from monitor.extract.workers import WorkerPool
from monitor.models import Page

log = logging.getLogger(__name__)
T = TypeVar("T")
JOIN_SECONDS = 5.0      # how long closing waits for killed workers to exit

WARM_PAGE = ("<html lang='de'><head><link rel='canonical' href='https://www.example.org/warm'>"
             "</head><body><article><h1>Probe</h1><p>"
             + "Ein kurzer Absatz zum Aufwärmen der Extraktion. " * 20
             + "</p></article></body></html>")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How extraction runs: worker processes (0 = one thread), time and size limits."""

    workers: int = os.cpu_count() or 1
    budget_seconds: float = 15.0
    max_bytes: int = DEFAULT_MAX_BYTES
    tasks_per_worker: int = 200     # then the pool is replaced, once it is not busy
    idle_seconds: float = 5.0       # the pool stops after this long without a task
    preload: tuple[str, ...] = ()   # more modules the forkserver imports once for all workers


def _warm_worker() -> None:
    """Pool initializer: load trafilatura's lazy parts once, before the first page.

    Library log lines in a worker would reach stderr unformatted; what matters about a
    page is in its Page (status, detail), which the parent logs. A terminal's Ctrl-C reaches
    the whole process group; the parent stops the workers, so they ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    logging.getLogger().addHandler(logging.NullHandler())
    warm_up()


def warm_up() -> None:
    """One extraction of a small page: trafilatura's lazy parts and the public-suffix list
    (read on the first canonical link, about 50 ms) are loaded. Run by the forkserver
    preload, every worker forked after it starts with them (its own run is then cheap)."""
    extract_html(WARM_PAGE, url="https://www.example.org/warm")


def _extract_then(after: Callable[[Page], Page] | None, html: bytes | str,
                  **options: Any) -> Page:
    """``extract_html``, then ``after`` on its Page in the same task (it must not raise)."""
    page = extract_html(html, **options)
    return after(page) if after is not None else page


class Extractor:
    """Runs ``extract_html`` off the event loop, in worker processes, within a budget.

    At most ``workers`` tasks are in the pool at once (more callers wait on a semaphore,
    so neither the pool's queue nor its budget clock holds waiting pages). A page past
    its budget gets a ``timeout`` Page and the pool is replaced, killing the stuck
    worker; a pool that broke is rebuilt and the page tried once more on the new one.
    With ``workers=0`` extraction runs in a thread (a stuck thread cannot be killed).
    """

    def __init__(self, options: ExtractOptions) -> None:
        self._options = options
        self._pool: WorkerPool | None = None
        self._slots = asyncio.Semaphore(max(1, options.workers))
        self._closed = False
        self._busy = 0                  # tasks in the pool now
        self._tasks = 0                 # tasks given to the current pool
        self._last_used = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._starting: asyncio.Future[None] | None = None   # a pool's workers being spawned

    def start(self) -> None:
        """Create the pool and its workers now rather than on the first task. This waits
        for the forkserver on the calling thread; a task starts the pool off the loop."""
        if self._options.workers > 0 and self._pool is None:
            self._pool = self._new_pool()
            _spawn_workers(self._pool, self._options.workers)

    @property
    def running(self) -> bool:
        """Whether worker processes are up (the pool starts on demand, stops when idle)."""
        return self._pool is not None

    def _new_pool(self) -> WorkerPool:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
            else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["monitor.extract.html", "monitor.extract.pool",
                                            "monitor.parse.feed", "trafilatura", "feedparser",
                                            *self._options.preload])
        log.info("extract_pool_start workers=%d method=%s", self._options.workers, method)
        self._tasks = 0
        return WorkerPool(context, initializer=_warm_worker)

    async def extract(self, html: bytes, *, url: str, feed_title: str,
                      feed_summary: str, after: Callable[[Page], Page] | None = None) -> Page:
        """The Page for one fetched article; a fallback Page on timeout or pool failure.
        ``after`` (a module-level function, so it pickles) further works on the Page in the
        same worker task (the pipeline adds the story signature so)."""
        job = functools.partial(_extract_then, after, cap_html(html, self._options.max_bytes),
                                url=url, feed_title=feed_title, feed_summary=feed_summary,
                                max_bytes=self._options.max_bytes)
        async with self._slots:
            started = time.perf_counter()
            page = await self._run(job, url, feed_title, feed_summary)
        log.info("extracted url=%s status=%s took_ms=%d chars=%d detail=%s", url, page.status,
                 (time.perf_counter() - started) * 1000, len(page.text), page.detail or "-")
        return page

    async def offload(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Other CPU-heavy pure work (feed parsing) in the same workers and budget, so it
        never holds the event loop. ``fn``'s exceptions propagate; a budget overrun raises
        TimeoutError (and replaces the pool), a broken pool BrokenProcessPool."""
        job = functools.partial(fn, *args, **kwargs)
        async with self._slots:
            pool = await self._current_pool()
            try:
                return await self._call(pool, job)
            except TimeoutError:
                self._recycle(pool, "timeout")
                raise
            except BrokenProcessPool:
                self._recycle(pool, "broken")
                raise

    async def _run(self, job: functools.partial[Page], url: str, title: str,
                   summary: str) -> Page:
        budget = self._options.budget_seconds
        for _attempt in range(2):
            pool = await self._current_pool()
            try:
                return await self._call(pool, job)
            except TimeoutError:
                self._recycle(pool, "timeout")
                return summary_page(url, title, summary, "timeout",
                                    f"extraction ran past its budget of {budget:g} s")
            except BrokenProcessPool:
                self._recycle(pool, "broken")
            except Exception as exc:  # pickling or pool shutdown: a failed page, not a crash
                return summary_page(url, title, summary, "failed",
                                    f"extraction error: {type(exc).__name__}: {exc}"[:300])
        return summary_page(url, title, summary, "failed", "extraction worker pool broke twice")

    async def _call(self, pool: WorkerPool | None, job: functools.partial[T]) -> T:
        """One task within the budget, counted for recycling and for the idle stop."""
        self._busy += 1
        self._tasks += 1
        try:
            return await asyncio.wait_for(self._submit(pool, job),
                                          self._options.budget_seconds)
        finally:
            self._busy -= 1
            self._last_used = time.monotonic()
            self._after_task()

    def _after_task(self) -> None:
        """Replace a pool that did its share of tasks, once it is not busy (so old and new
        workers seldom run side by side; at twice its share at once); watch for idleness."""
        if self._pool is None:
            return
        share = self._options.tasks_per_worker * max(1, self._options.workers)
        if (self._busy == 0 and self._tasks >= share) or self._tasks >= 2 * share:
            self._stop_pool("recycled")     # busy workers still finish their task
            return
        if self._idle_timer is None and self._options.idle_seconds > 0:
            self._idle_timer = asyncio.get_running_loop().call_later(
                self._options.idle_seconds, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self._pool is None:
            return
        left = self._last_used + self._options.idle_seconds - time.monotonic()
        if self._busy == 0 and left <= 0:
            self._stop_pool("idle")
        else:
            self._idle_timer = asyncio.get_running_loop().call_later(
                max(left, 0.05), self._idle_check)

    def _stop_pool(self, reason: str) -> None:
        """Let the current pool's workers exit (they are idle); the next task starts a new
        pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            log.info("extract_pool_stop reason=%s tasks=%d", reason, self._tasks)
            pool.shutdown()

    async def _current_pool(self) -> WorkerPool | None:
        """The pool to run a task in, started if there is none. Its workers are spawned in
        a thread: the first spawn waits for the forkserver to import and warm what the
        workers need (about 0.3 s) and must not hold the event loop that long; tasks that
        come meanwhile wait for the same start."""
        if self._options.workers <= 0:
            return None
        if self._pool is None and self._starting is None and not self._closed:
            self._starting = asyncio.ensure_future(self._start_pool())
        if self._starting is not None:
            await asyncio.shield(self._starting)   # a cancelled caller leaves the start be
        if self._closed or self._pool is None:
            raise RuntimeError("Extractor is closed")
        return self._pool

    async def _start_pool(self) -> None:
        """A new pool with its workers spawned off the loop; made current unless the
        extractor was closed meanwhile (then its workers are stopped again)."""
        pool = self._new_pool()
        try:
            await asyncio.to_thread(_spawn_workers, pool, self._options.workers)
        except BaseException:
            _kill(pool, join=False)
            raise
        finally:
            self._starting = None
        if self._closed:
            _kill(pool, join=False)
        else:
            self._pool = pool

    @staticmethod
    def _submit(pool: WorkerPool | None, job: functools.partial[T]) -> asyncio.Future[T]:
        if pool is None:
            return asyncio.ensure_future(asyncio.to_thread(job))
        return asyncio.ensure_future(pool.run(job))

    def _recycle(self, pool: WorkerPool | None, reason: str) -> None:
        """Replace ``pool`` (if still current), killing its workers; others retry."""
        if pool is not self._pool or pool is None:  # None second: ``is`` re-widens to Optional
            return
        log.warning("extract_pool_recycle reason=%s", reason)
        self._pool = None
        _kill(pool, join=False)  # reaped by the loop when they exit

    def close(self) -> None:
        """Stop the pool and wait for its workers to exit (on the event loop's thread); a
        worker still busy is killed, not waited for."""
        pool = self._detach()
        if pool is not None:
            _kill(pool, join=True)

    async def aclose(self) -> None:
        """``close``, with the wait for the workers' exit off the event loop."""
        pool = self._detach()
        if pool is not None:
            _kill(pool, join=False)
            await asyncio.to_thread(pool.join, JOIN_SECONDS)

    def _detach(self) -> WorkerPool | None:
        self._closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        pool, self._pool = self._pool, None
        return pool


def _spawn_workers(pool: WorkerPool, workers: int) -> None:
    """Start the pool's worker processes (blocking: the forkserver may still be importing)."""
    pool.spawn(workers)


def _kill(pool: WorkerPool, *, join: bool) -> None:
    """Stop a pool without waiting for busy workers: they are killed."""
    pool.kill()
    if join:
        pool.join(JOIN_SECONDS)
