"""The parts of the many-processes tests (``test_scaleout.py``): daemons as real subprocesses
on one PostgreSQL database, a threaded local news site that remembers when each path was
requested and can hold a request back, an SMTP server that can hold the first mail back,
distinct matching stories, and a config writer. Everything listens on 127.0.0.1 or a unix
socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from tests.conftest import Inbox, NewsSite, write_config
from tests.newsroom import Item, Story, page, rss

HTML = "text/html; charset=utf-8"
# Start every daemon of a trial at one instant: imports first, then wait for the moment.
AT_ONCE = ("import sys, time\n"
           "import monitor.app.wiring, monitor.service.daemon\n"
           "from monitor.cli import main\n"
           "at = float(sys.argv.pop(1))\n"
           "time.sleep(max(0.0, at - time.time()))\n"
           "raise SystemExit(main(sys.argv[1:]))\n")
WORDS = ["Aktie", "Bilanz", "Cloud", "Dividende", "Export", "Fabrik", "Gewinn", "Hafen",
         "Import", "Kredit", "Lager", "Markt", "Netz", "Preis", "Quote", "Rohstoff", "Strom",
         "Tarif", "Umsatz", "Verlust", "Wachstum", "Zoll", "Anleger", "Bank", "Container",
         "Dienst", "Energie", "Filiale", "Gutschein", "Handel", "Investor", "Kunde",
         "Lieferung", "Miete", "Nachfrage", "Paket", "Rabatt", "Sparte", "Termin", "Versand"]


def story(n: int) -> Story:
    """A story of its own (no wire copy of another) that the shipped topic matches."""
    rng = random.Random(n)
    filler = [" ".join(rng.choice(WORDS) for _ in range(40)) + "." for _ in range(3)]
    lead = (f"Moskau. Alibaba ordnet nach Angaben aus Russland sein Geschäft neu, Schritt "
            f"{n}: AliExpress Russland meldet neue Zahlen zum Geschäftsjahr.")
    return Story(f"AliExpress Russland: Meldung Nummer {n} zu {rng.choice(WORDS)}",
                 [lead, *filler])


class Site(NewsSite):
    """A news site whose server handles requests in threads; remembers each request's
    time and can hold the first ``count`` requests of a path back for ``seconds``."""

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.times: list[tuple[float, str]] = []
        self.holds: dict[str, tuple[int, float]] = {}
        self.released = threading.Event()

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.times.append((time.monotonic(), request.path))
            count, seconds = self.holds.get(request.path, (0, 0.0))
            if count:
                self.holds[request.path] = (count - 1, seconds)
        if count:
            self.released.wait(seconds)
        return super()._handle(request)

    def at(self, path: str) -> list[float]:
        with self._lock:
            return [t for t, p in self.times if p == path]

    def feed(self, name: str, items: Sequence[tuple[str, Story]] = ()) -> str:
        """Publishes the feed /<name>.xml linking the given (path, story) pages."""
        base = self.url("").rstrip("/")
        for path, text in items:
            self.put(path, page(text), HTML)
        entries = [Item(text.headline, path, text.paragraphs[0][:120], guid=f"{name}{path}",
                        age=timedelta(minutes=5)) for path, text in items]
        return self.put(f"/{name}.xml", rss(base, name, entries))


@contextlib.contextmanager
def running_site() -> Iterator[Site]:
    """A ``Site`` on a threaded server on 127.0.0.1; held requests are let go at the end."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    news = Site(server)
    try:
        yield news
    finally:
        news.released.set()
        server.clear()
        server.stop()


def shortest_gap(times: Sequence[float]) -> float:
    ordered = sorted(times)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=1e9)


class HeldInbox(Inbox):
    """Keeps every message and when it arrived; with ``hold`` the first DATA is held back
    that many seconds (or until ``release``) and then refused, as a hanging server would,
    so someone must send that mail again."""

    def __init__(self, hold: float = 0.0) -> None:
        super().__init__()
        self.hold = hold
        self.held_at: float | None = None
        self.held_id = ""
        self.arrived: dict[str, float] = {}
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = re.search(rb"^Message-ID: *(<[^>]+>)", envelope.content, re.MULTILINE)
        message_id = found.group(1).decode() if found else ""
        if self.hold and self.held_at is None:
            self.held_at, self.held_id = time.monotonic(), message_id
            while time.monotonic() - self.held_at < self.hold and not self.release.is_set():
                await asyncio.sleep(0.1)
            return "451 4.3.0 held back by the test"
        self.arrived.setdefault(message_id, time.monotonic())
        return await super().handle_DATA(server, session, envelope)

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def pg_config(folder: Path, url: str, feeds: list[dict[str, Any]], *, smtp_port: int | None,
              lease: str = "30s", renewal: str = "10s", timeout: str = "5s",
              extra: str = "", topics: bool = True) -> Path:
    """A test config (``conftest.write_config``) on the PostgreSQL database ``url``; without
    ``topics`` a daemon starts faster (no lemma data) and matches nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, feeds, smtp_port=smtp_port, extra=extra, topics=topics)
    text = re.sub(r'^url = "sqlite:///[^"]*"$',
                  f'url = "{url}"\nlease = "{lease}"\nlease_renewal = "{renewal}"',
                  path.read_text(encoding="utf-8"), count=1, flags=re.MULTILINE)
    text = text.replace('timeout = "5s"\ndeadline = "10s"',
                        f'timeout = "{timeout}"\ndeadline = "120s"')
    path.write_text(text, encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("NEWS_MONITOR", "NOTIFY_SOCKET", "WATCHDOG"))}


@dataclass
class Daemon:
    """``news-monitor run`` in a subprocess, its output in a file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, config: Path, name: str, *, at: float | None = None) -> Daemon:
        log = config.parent / f"{name}.log"
        command = ([sys.executable, "-c", AT_ONCE, str(at)] if at is not None
                   else [sys.executable, "-m", "monitor"]) + ["--config", str(config), "run"]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=config.parent, env=clean_env(),
                                    stdout=out, stderr=subprocess.STDOUT)
        return cls(name, proc, log)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    def polls(self) -> int:
        return len(re.findall(r"^.* poll feed=.* status=(ok|not_modified) ", self.text(),
                              re.MULTILINE))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60,
             daemons: Sequence[Daemon] = ()) -> float:
    """Seconds until ``check`` held; fails when it never did or a daemon died meanwhile."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        dead = [d for d in daemons if not d.alive()]
        if dead:
            raise AssertionError(f"{dead[0].name} died while waiting for {what}:\n"
                                 + dead[0].text()[-3000:])
        time.sleep(0.2)
    tails = "".join(f"\n--- {d.name}:\n{d.text()[-1500:]}" for d in daemons)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tails}")


@dataclass
class Fleet:
    """Daemons started together; every one stopped (or killed) at the end."""

    daemons: list[Daemon] = field(default_factory=list)

    def start(self, config: Path, names: Sequence[str], *, at: float | None = None) -> None:
        self.daemons += [Daemon.start(config, name, at=at) for name in names]

    def ready(self, timeout: float = 60) -> None:
        wait_for("every daemon to be ready",
                 lambda: all(d.count("service status=ready") for d in self.daemons),
                 timeout, self.daemons)

    def each(self, sig: signal.Signals) -> None:
        for daemon in self.daemons:
            if daemon.alive():
                daemon.signal(sig)

    def stop(self) -> list[int]:
        self.each(signal.SIGCONT)
        return [d.stop() for d in self.daemons]


def first_after(times: Sequence[float], moment: float) -> float | None:
    return next((t for t in sorted(times) if t > moment), None)
