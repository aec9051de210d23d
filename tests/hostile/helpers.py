"""Shared parts of the hostile-input suites: configs with our own fetch limits, one poll cycle
through the real wiring (``open_app`` → ``Pipeline.run_cycle``), raw-socket servers that
misbehave on purpose, peak-memory probes, and the figures we publish.

Everything runs against 127.0.0.1; the configs are written by the top-level
``write_config`` and only their ``[fetch]`` limits and allow list are changed here.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.app.wiring import open_app
from monitor.config.model import load_config
from monitor.models import FeedState
from monitor.pipeline.feed import FeedOutcome
from tests.conftest import write_config
from tests.test_fetch_limits import peak_rss_kib, peak_rss_reset

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
DEFAULT_ALLOW = ("127.0.0.1", "localhost")


def full_run() -> bool:
    """The large runs (``NEWS_MONITOR_FULL=1``): >= 10,000 mutations, >= 50 kills."""
    return os.environ.get("NEWS_MONITOR_FULL") == "1"


def hostile_config(tmp_path: Path, feeds: list[dict[str, Any]], *,
                   allow: Sequence[str] = DEFAULT_ALLOW, timeout: str = "5s",
                   deadline: str = "10s", max_bytes: str | None = None,
                   smtp_port: int | None = None, extra: str = "") -> Path:
    """``write_config`` with our own allow list, timeouts and body cap."""
    path = write_config(tmp_path, feeds, smtp_port=smtp_port, extra=extra)
    allowed = ", ".join(f'"{host}"' for host in allow)
    fetch = (f"allow_private_hosts = [{allowed}]\n" + 'per_host_delay = "0s"\n'
             f'timeout = "{timeout}"\ndeadline = "{deadline}"\n'
             + (f'max_bytes = "{max_bytes}"\n' if max_bytes else ""))
    text, count = re.subn(r"\[fetch\]\n(?:[^\[\n][^\n]*\n)*",
                          lambda _: "[fetch]\nextract_workers = 0\n" + fetch,
                          path.read_text(encoding="utf-8"), count=1)
    assert count == 1, "tests/conftest.py write_config no longer writes a [fetch] table"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Cycle:
    """One poll cycle: outcomes and store rows by feed name, and its duration."""

    outcomes: dict[str, FeedOutcome]
    states: dict[str, FeedState]
    seconds: float
    peak_growth_mib: float      # peak RSS during the cycle above the RSS before it


async def poll_cycle_async(config_path: Path, names: Sequence[str] | None = None) -> Cycle:
    config = load_config(config_path)
    async with open_app(config) as app:  # compiling the topics takes seconds: not timed
        peak_rss_reset()
        before = peak_rss_kib()
        started = time.monotonic()
        outcomes = await app.pipeline.run_cycle(due_only=False, names=names)
        seconds = time.monotonic() - started
        growth = (peak_rss_kib() - before) / 1024
        states = {state.name: state for state in app.store.feed_states()}
    return Cycle({o.feed: o for o in outcomes}, states, seconds, growth)


def poll_cycle(config_path: Path, names: Sequence[str] | None = None) -> Cycle:
    """One cycle of every (or the named) feed through the real wiring."""
    return asyncio.run(poll_cycle_async(config_path, names))


def assert_recorded(outcome: FeedOutcome, state: FeedState) -> None:
    """A failed poll is on the feed's store row, word for word, and is not a bug of ours."""
    assert outcome.status == "error", outcome
    assert outcome.error_kind != "internal", f"{outcome.feed}: {outcome.error}"
    assert state.last_status == outcome.error_kind, (state, outcome)
    assert state.last_error == outcome.error and state.last_error
    assert state.consecutive_errors >= 1


class RawServer:
    """An asyncio TCP server on 127.0.0.1 in its own thread; routes by request path."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.sent: dict[str, int] = {}
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> RawServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._dispatch, "127.0.0.1", 0), self._loop)
        self._server = future.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _dispatch(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1")
            handler = self.routes.get(path)
            if handler is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                await handler(reader, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, IndexError):
            pass
        finally:
            writer.close()


@dataclass
class Figures:
    """Numbers for RELIABILITY.md: appended as JSON lines to $NEWS_MONITOR_FIGURES if set."""

    path: str | None = field(default_factory=lambda: os.environ.get("NEWS_MONITOR_FIGURES"))

    def record(self, suite: str, **numbers: Any) -> None:
        line = json.dumps({"suite": suite, "full": full_run(), **numbers}, sort_keys=True)
        print(f"figures {line}")
        if self.path:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
