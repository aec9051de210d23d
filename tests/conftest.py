"""Shared test parts: a local news site (feeds and pages over real HTTP on 127.0.0.1), a
local SMTP server (aiosmtpd), a config writer and a runner for the real command line.

No test reaches the internet: every URL points at 127.0.0.1, which configs written here
allow explicitly through ``fetch.allow_private_hosts``.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.store_fixtures", "tests.browser"]

# aiosmtpd's server threads log connection ends after a test's captured stderr has closed;
# keep their lines out of the handlers tests install ("--- Logging error ---" noise).
logging.getLogger("mail.log").propagate = False
logging.getLogger("mail.log").addHandler(logging.NullHandler())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true",
                     help="run the large hostile-input and crash suites (10,000 mutations, "
                          "50 kills); same as NEWS_MONITOR_FULL=1")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--full", default=False):
        os.environ["NEWS_MONITOR_FULL"] = "1"   # read by tests/hostile/helpers.full_run


@dataclass
class Resource:
    body: bytes
    content_type: str
    etag: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class NewsSite:
    """Feeds and article pages served with ETag support; every request is remembered."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.resources: dict[str, Resource] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.delays: dict[str, float] = {}     # seconds a path's answer waits (a slow site)
        self._version = 0
        self._lock = threading.Lock()
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._handle)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def put(self, path: str, body: str | bytes, content_type: str = "application/rss+xml; "
            "charset=utf-8", status: int = 200, headers: dict[str, str] | None = None) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self._version += 1
            self.resources[path] = Resource(data, content_type, f'"v{self._version}"', status,
                                            headers or {})
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.path, dict(request.headers)))
            resource = self.resources.get(request.path)
            delay = self.delays.get(request.path, 0.0)
        time.sleep(delay)
        if resource is None:
            return Response("nicht gefunden", status=404)
        if request.headers.get("If-None-Match") == resource.etag and resource.status == 200:
            return Response(status=304, headers={"ETag": resource.etag})
        return Response(resource.body, status=resource.status,
                        headers={"Content-Type": resource.content_type, "ETag": resource.etag,
                                 **resource.headers})


@pytest.fixture
def site(httpserver: HTTPServer) -> NewsSite:
    return NewsSite(httpserver)


class Inbox:
    """aiosmtpd handler keeping every message that arrives."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
                for _, _, raw in self.envelopes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Inbox(), free_port())
    server.start()
    yield server
    server.stop()


def write_config(tmp_path: Path, feeds: list[dict[str, Any]], *, smtp_port: int | None = None,
                 extra: str = "", topics: bool = True) -> Path:
    """A config for tests: local feeds, the shipped default topic, state under tmp_path."""
    lines = [f'[storage]\nurl = "sqlite:///{tmp_path / "state" / "monitor.db"}"\n',
             '[fetch]\nallow_private_hosts = ["127.0.0.1", "localhost"]\nper_host_delay = "0s"\n'
             'extract_workers = 0\ntimeout = "5s"\ndeadline = "10s"\n']
    for feed in feeds:
        body = "\n".join(f"{k} = {_toml(v)}" for k, v in feed.items())
        lines.append(f"[[feeds]]\n{body}\n")
    lines.append('[email]\nfrom = "monitor@example.org"\nto = ["analyst@example.org"]\n')
    if smtp_port is not None:
        lines.append(f'[email.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\n'
                     'security = "none"\n')
    if topics:
        lines.append(default_topic_toml())
    lines.append(extra)
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def default_topic_toml() -> str:
    """The [aliases] and [[topics]] tables of the shipped config, as they are."""
    text = (ROOT / "config" / "monitor.toml").read_text(encoding="utf-8")
    found = re.search(r"^\[aliases\]", text, re.MULTILINE)
    return text[found.start():] if found else ""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def run_cli(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess, as a user would run it.

    It runs in the config's folder, so the default state directory ./var/ is the test's own.
    """
    command = [sys.executable, "-m", "monitor"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("NEWS_MONITOR", "NOTIFY_SOCKET", "WATCHDOG"))}
    full_env.update(env or {})
    return subprocess.run(command + list(args), capture_output=True, text=True, env=full_env,
                          cwd=cwd or (config.parent if config else ROOT), timeout=timeout,
                          check=False)
