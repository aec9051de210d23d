"""The extract stage's worker pool: ``extract_html`` off the event loop, within a budget.

``Extractor`` runs ``monitor.extract.html.extract_html`` in a process pool (forkserver
workers, preloaded with trafilatura) with a time budget per page; a stuck or broken
worker is replaced, not waited for. ``ExtractOptions`` sets the workers and the limits;
``Extractor.offload`` runs other CPU-heavy pure work (feed parsing) in the same workers.
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
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.extract.html import DEFAULT_MAX_BYTES, cap_html, extract_html, summary_page
from monitor.models import Page

log = logging.getLogger(__name__)
T = TypeVar("T")

WARM_PAGE = ("<html lang='de'><body><article><h1>Probe</h1><p>"
             + "Ein kurzer Absatz zum Aufwärmen der Extraktion. " * 20
             + "</p></article></body></html>")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How extraction runs: worker processes (0 = one thread), time and size limits."""

    workers: int = os.cpu_count() or 1
    budget_seconds: float = 15.0
    max_bytes: int = DEFAULT_MAX_BYTES


def _warm_worker() -> None:
    """Pool initializer: load trafilatura's lazy parts once, before the first page.

    Library log lines in a worker would reach stderr unformatted; what matters about a
    page is in its Page (status, detail), which the parent logs. A terminal's Ctrl-C reaches
    the whole process group; the parent stops the workers, so they ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    logging.getLogger().addHandler(logging.NullHandler())
    extract_html(WARM_PAGE, url="https://example.org/warm")


def _noop() -> None:
    """A task that only makes the pool start a worker."""


class Extractor:
    """Runs ``extract_html`` off the event loop, in worker processes, within a budget.

    At most ``workers`` pages are in the pool at once (more callers wait on a semaphore,
    so neither the pool's queue nor its budget clock holds waiting pages). A page past
    its budget gets a ``timeout`` Page and the pool is replaced, killing the stuck
    worker; a pool that broke is rebuilt and the page tried once more on the new one.
    With ``workers=0`` extraction runs in a thread (a stuck thread cannot be killed).
    """

    def __init__(self, options: ExtractOptions) -> None:
        self._options = options
        self._pool: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(max(1, options.workers))
        self._closed = False

    def start(self) -> None:
        """Create the pool and its workers now, while this process is still small."""
        if self._options.workers > 0 and self._pool is None:
            self._pool = self._new_pool()
            for _ in range(self._options.workers):
                self._pool.submit(_noop)

    def _new_pool(self) -> ProcessPoolExecutor:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
            else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["monitor.extract.html", "monitor.extract.pool",
                                            "monitor.parse.feed", "trafilatura"])
        log.info("extract_pool_start workers=%d method=%s", self._options.workers, method)
        return ProcessPoolExecutor(self._options.workers, mp_context=context,
                                   initializer=_warm_worker)

    async def extract(self, html: bytes, *, url: str, feed_title: str,
                      feed_summary: str) -> Page:
        """The Page for one fetched article; a fallback Page on timeout or pool failure."""
        job = functools.partial(extract_html, cap_html(html, self._options.max_bytes),
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
            pool = self._current_pool()
            try:
                return await asyncio.wait_for(self._submit(pool, job),
                                              self._options.budget_seconds)
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
            pool = self._current_pool()
            try:
                return await asyncio.wait_for(self._submit(pool, job), budget)
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

    def _current_pool(self) -> Executor | None:
        if self._options.workers <= 0:
            return None
        if self._closed:
            raise RuntimeError("Extractor is closed")
        if self._pool is None:
            self.start()
        return self._pool

    @staticmethod
    def _submit(pool: Executor | None, job: functools.partial[T]) -> asyncio.Future[T]:
        if pool is None:
            return asyncio.ensure_future(asyncio.to_thread(job))
        return asyncio.get_running_loop().run_in_executor(pool, job)

    def _recycle(self, pool: Executor | None, reason: str) -> None:
        """Replace ``pool`` (if still current), killing its workers; others retry."""
        if pool is not self._pool or pool is None:  # None second: ``is`` re-widens to Optional
            return
        log.warning("extract_pool_recycle reason=%s", reason)
        self._pool = None
        _kill(pool, join=False)  # the pool's own manager thread reaps them

    def close(self) -> None:
        """Stop the pool; a worker still busy is killed, not waited for."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            _kill(pool, join=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


def _kill(pool: Executor, *, join: bool) -> None:
    """Shut a process pool down without waiting for busy workers: they are killed."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=False)
    for proc in procs:
        proc.kill()
    for proc in procs if join else ():
        proc.join(timeout=5)
