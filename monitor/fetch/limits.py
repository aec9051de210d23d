"""What limits one fetch: the decompressed size cap, per-host politeness, Retry-After.

``CappedBody`` collects a raw response body and decompresses it step by step, so the size
cap holds for the decompressed bytes too (a gzip bomb stops at the cap, not in memory);
``Politeness`` keeps to a global and a per-host concurrency limit and a minimum delay
between request starts to one host; ``parse_retry_after`` reads a server's Retry-After.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from monitor.errors import ResponseTooLarge, TransportFailure

INFLATE_STEP = 256 * 1024  # most decompressed bytes produced per zlib call
_ENCODINGS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP-date), or None."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class CappedBody:
    """Collects a raw body, decompressing incrementally; never holds more than cap + 1 bytes."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self._cap, self._url, self._size = cap, url, 0
        self._parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding not in _ENCODINGS and encoding not in ("", "identity"):
            raise TransportFailure(f"unsupported content-encoding {encoding!r}", url=url)
        wbits = _ENCODINGS.get(encoding)
        self._inflater = zlib.decompressobj(wbits) if wbits is not None else None
        self._raw_deflate_fallback = encoding == "deflate"

    def feed(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._append(chunk)
            return
        try:
            self._inflate(chunk)
        except zlib.error as exc:
            if not (self._raw_deflate_fallback and self._size == 0):
                raise TransportFailure(f"corrupt compressed body: {exc}", url=self._url) from None
            self._raw_deflate_fallback = False  # servers that send raw deflate streams
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.feed(chunk)

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        while data and not self._inflater.eof:
            room = min(self._cap - self._size + 1, INFLATE_STEP)
            self._append(self._inflater.decompress(data, room))
            data = self._inflater.unconsumed_tail

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise ResponseTooLarge(f"response too large: more than {self._cap} bytes",
                                   url=self._url)
        self._parts.append(data)

    def finish(self) -> bytes:
        if self._inflater is not None:
            self._append(self._inflater.flush(self._cap - self._size + 1))
        return b"".join(self._parts)


class Politeness:
    """A global concurrency limit, a per-host one, and a minimum delay between starts per host."""

    def __init__(self, concurrency: int, per_host: int, delay: float) -> None:
        self._global = asyncio.Semaphore(concurrency)
        self._per_host, self._delay = per_host, delay
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        gate = self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))
        async with gate:
            await self._start_turn(host)
            try:
                yield
            finally:
                self._global.release()

    async def _start_turn(self, host: str) -> None:
        """Wait for this host's next start time, then hold a global slot (returned held)."""
        while True:
            await asyncio.sleep(max(0.0, self._next_start.get(host, 0.0) - time.monotonic()))
            await self._global.acquire()
            if time.monotonic() >= self._next_start.get(host, 0.0):
                self._next_start[host] = time.monotonic() + self._delay
                return
            self._global.release()  # another request to this host started meanwhile
