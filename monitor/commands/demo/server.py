"""The demo's local HTTP server: serves the rendered news site on 127.0.0.1 from a thread.

A ``ThreadingHTTPServer`` on a free port answers GET and HEAD from an in-memory mapping of
paths to resources, with a strong ETag and ``304 Not Modified`` for a matching
``If-None-Match``, so the pipeline's conditional GETs behave as against a real publisher.
``publish`` swaps the whole site at once (the publisher editing a story). Each response is
remembered as (path, status) so the demo can tell what was fetched. HTTP/1.0, one request
per connection: when the server stops, no handler thread is left behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from monitor.commands.demo.site import Resource

log = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    daemon_threads = False      # server_close() joins every handler thread
    block_on_close = True
    site: LocalSite


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "Ostmarkt-Demo/1.0"
    timeout = 10

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        resource = self.server.site.get(path)
        if resource is None:
            self._send(HTTPStatus.NOT_FOUND, b"nicht gefunden\n", "text/plain; charset=utf-8",
                       None, head=head)
        elif resource.etag in _etags(self.headers.get("If-None-Match", "")):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, resource.etag, head=True)
        else:
            self._send(HTTPStatus.OK, resource.body, resource.content_type, resource.etag,
                       head=head)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str | None,
              etag: str | None, *, head: bool) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self.server.site.remember(self.path, int(status))

    def log_message(self, format: str, *args: object) -> None:
        log.debug("demo_http " + format, *args)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


class LocalSite:
    """The news site on ``http://127.0.0.1:<free port>``; a context manager that stops it."""

    def __init__(self) -> None:
        self._resources: dict[str, Resource] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, int]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="demo-http-server")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, resources: Mapping[str, Resource]) -> None:
        with self._lock:
            self._resources = dict(resources)

    def get(self, path: str) -> Resource | None:
        with self._lock:
            return self._resources.get(path)

    def remember(self, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((path, status))

    def start(self) -> LocalSite:
        self._thread.start()
        log.info("demo_http_started url=%s", self.base_url)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
