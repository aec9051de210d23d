"""The extract stage: article HTML we fetched ourselves -> main text and metadata (a Page).

``extract_html`` is pure and synchronous: it cuts the HTML to a byte cap, decodes and
parses it once, runs trafilatura (comments off, tables on, recall before precision),
reads canonical URL, language, date and byline (``monitor.pagemeta``), and lets ``monitor.walls`` decide
whether the text is a consent wall or paywall. It never raises: every problem becomes a
Page whose text is the feed summary, with a status and a detail saying why.
``Extractor`` runs it in a process pool (forkserver workers, preloaded with trafilatura)
with a time budget per page; a stuck or broken worker is replaced, not waited for.
trafilatura's own downloader is never used: HTML comes from our fetch stage.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import logging
import multiprocessing
import os
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.extract.pagemeta import head_language, head_url, page_metadata, parse_date
from monitor.extract.walls import detect_wall
from monitor.models import ExtractStatus, Page
from monitor.urls import canonical_url

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MAX_BYTES = 3_000_000
HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article|section|span|a|table)[\s>/]"
)
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# German reader comments and "more on this" boxes that trafilatura's English-only class
# rules miss inside <article>. Plural "kommentare" only: "Kommentar" marks opinion pieces.
PRUNE_TOKENS = ("kommentare", "leserkommentar", "leser-kommentar", "kommentarbereich",
                "leserstimme", "leserbrief", "lesermeinung", "mehr-zum-thema", "lesetipp",
                "related")
_LOWER = "translate(concat(@class, ' ', @id), 'KLMER', 'klmer')"
PRUNE_XPATH = ("//*[(" + " or ".join(f"contains({_LOWER}, '{t}')" for t in PRUNE_TOKENS)
               + ") and not(self::html or self::body or self::main or self::article)"
               " and not(.//h1)]")
WARM_PAGE = ("<html lang='de'><body><article><h1>Probe</h1><p>"
             + "Ein kurzer Absatz zum Aufwärmen der Extraktion. " * 20
             + "</p></article></body></html>")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How extraction runs: worker processes (0 = one thread), time and size limits."""

    workers: int = os.cpu_count() or 1
    budget_seconds: float = 15.0
    max_bytes: int = DEFAULT_MAX_BYTES


# ---------------------------------------------------------------- pure functions


def clean_url(url: str) -> str:
    """The canonical form of ``url`` (one definition: ``monitor.urls``), else ``url``."""
    try:
        return str(canonical_url(url)) or url
    except Exception:  # a URL the cleaner rejects is still the URL we fetched
        return url


def summary_page(url: str, title: str, summary: str, status: ExtractStatus,
                 detail: str = "") -> Page:
    """The marked fallback: the feed's title and summary stand in for the article."""
    return Page(url=url, canonical_url=clean_url(url), title=title, text=summary,
                status=status, detail=detail)


def looks_like_html(data: bytes) -> bool:
    """True when ``data`` starts like an HTML document or fragment rather than plain text."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and HTML_START.search(head) is not None


def text_page(text: str, *, url: str = "") -> Page:
    """A Page from plain text: the first non-empty line is the title, the rest the text."""
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return Page(url=url, canonical_url=url, title=title,
                text="\n".join(lines[1:]).strip(), status="ok")


def cap_html(html: bytes | str, max_bytes: int) -> bytes | str:
    """Cut the HTML to ``max_bytes`` before any parsing: cost grows with the page."""
    return html[:max_bytes] if max_bytes > 0 else html


def decode_html(data: bytes) -> str:
    """UTF-8 (a character cut by the byte cap is dropped), else the declared charset."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        pass
    declared = CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


def run_trafilatura(tree: Any, url: str) -> Any:
    """trafilatura's main text on a parsed tree, with news settings; a Document or None."""
    import trafilatura

    return trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
        favor_precision=False, include_images=False, include_links=False,
        prune_xpath=PRUNE_XPATH)


def parse_tree(html: bytes | str) -> Any:
    """The lxml tree of the page, or None when it is not HTML."""
    from trafilatura.utils import load_html

    text = decode_html(html) if isinstance(html, bytes) else html
    return load_html(text.replace("\x00", ""))


def extract_html(html: bytes | str, *, url: str, feed_title: str = "",
                 feed_summary: str = "", max_bytes: int = DEFAULT_MAX_BYTES) -> Page:
    """Main text and metadata of one article page; never raises (see module docstring)."""
    try:
        return _extract(cap_html(html, max_bytes), url, feed_title, feed_summary)
    except Exception as exc:  # trafilatura, lxml or htmldate on hostile input
        detail = f"extraction error: {type(exc).__name__}: {exc}"[:300]
        return summary_page(url, feed_title, feed_summary, "failed", detail)


def _extract(html: bytes | str, url: str, feed_title: str, feed_summary: str) -> Page:
    tree = parse_tree(html)
    if tree is None:
        return summary_page(url, feed_title, feed_summary, "failed", "not an HTML document")
    doc = run_trafilatura(tree, url)
    text = (doc.text or "").strip() if doc is not None else ""
    wall = detect_wall(text, summary=feed_summary, tree=tree)
    canonical = clean_url(head_url(tree, url))
    if wall is not None:   # only a title is wanted from a wall, and only without a feed title
        title = feed_title or (page_metadata(tree, url).title or "").strip()
        return Page(url=url, canonical_url=canonical, title=title, text=feed_summary,
                    status=wall.status, detail=wall.detail)
    info = page_metadata(tree, url)
    page_title = (info.title or "").strip()
    return Page(url=url, canonical_url=canonical, title=page_title or feed_title,
                text=text, status="ok", author=(info.author or "").strip(),
                date=parse_date(info.date), site_name=(info.sitename or "").strip(),
                language=head_language(tree))


# ---------------------------------------------------------------- the worker pool


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
            context.set_forkserver_preload(["monitor.extract.pages", "monitor.parse.feed", "trafilatura"])
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
        if pool is None or pool is not self._pool:
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
