"""The daemon as a real subprocess: systemd notify protocol, schedule, delivery, digest,
SIGHUP reload (good and broken config), /metrics and /healthz, and a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import NewsSite, SmtpServer, free_port, write_config
from tests.newsroom import LAYOFFS, OTHER, Item, page, rss


class NotifyListener:
    """The systemd side of NOTIFY_SOCKET: a datagram socket read continuously, as systemd
    does (a full queue would make the daemon drop messages)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                continue

    def drain(self) -> None:
        time.sleep(0.1)

    def count(self, field: str) -> int:
        return sum(field in m.split("\n") for m in list(self.messages))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def feeds(site: NewsSite, *names: str) -> list[dict[str, object]]:
    return [{"name": n, "url": site.url(f"/{n}.xml"), "interval": "2s"} for n in names]


def test_daemon_lifecycle(site: NewsSite, smtp: SmtpServer, notify: NotifyListener,
                          tmp_path: Path) -> None:
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/a2", page(OTHER), "text/html; charset=utf-8")
    site.put("/kurier.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    site.put("/zweit.xml", rss(base, "Zweitblatt", [Item(OTHER.headline, "/a2", "Dax.")]))
    port = free_port()
    digest_at = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(seconds=20)
    extra = (f'[http]\nlisten = "127.0.0.1:{port}"\n'
             f'[digest]\ntime = "{digest_at:%H:%M:%S}"\n')
    config = write_config(tmp_path, feeds(site, "kurier"), smtp_port=smtp.port, extra=extra)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")},
           "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_for("READY=1", lambda: (notify.drain(), notify.count("READY=1"))[1] > 0)
        wait_for("the alert", lambda: len(smtp.inbox.messages) >= 1)
        alert = smtp.inbox.messages[0]
        assert alert["Subject"].startswith("[alibaba-russland] AliExpress Russland streicht")
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200, health.text
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'news_monitor_polls_total{feed="kurier"' in metrics
        # WATCHDOG_USEC=1 s: a ping every 0.5 s from the event loop, so two within a few seconds.
        wait_for("two watchdog pings", lambda: notify.count("WATCHDOG=1") >= 2, timeout=5)
        assert any(m.startswith("STATUS=") for m in notify.messages)
        wait_for("the digest", lambda: any("Tagesübersicht" in str(m["Subject"])
                                           for m in smtp.inbox.messages), timeout=60)
        # SIGHUP with a new feed: it gets polled, with the old one's state kept.
        write_config(tmp_path, feeds(site, "kurier", "zweit"), smtp_port=smtp.port, extra=extra)
        daemon.send_signal(signal.SIGHUP)
        wait_for("the new feed to be polled", lambda: bool(site.hits("/zweit.xml")))
        # SIGHUP with a broken config: refused, the running config keeps polling.
        config.write_text(config.read_text().replace('interval = "2s"', 'interval = "bald"'))
        daemon.send_signal(signal.SIGHUP)
        seen = len(site.hits("/zweit.xml"))
        wait_for("polling to go on", lambda: len(site.hits("/zweit.xml")) > seen + 1)
        assert daemon.poll() is None
        alerts = [m for m in smtp.inbox.messages if "AliExpress" in str(m["Subject"])]
        assert len(alerts) == 1                   # no alert twice across reloads
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, output
    notify.drain()
    assert notify.count("STOPPING=1") >= 1
    assert "reload status=refused" in output
    assert 'feeds[0] ("kurier").interval: not a duration' in output
    assert "Traceback" not in output
