"""The local news site the benchmarks poll: a threaded HTTP server on 127.0.0.1.

Owns serving the generated corpus: one thread per connection (HTTP/1.1 keep-alive), a
strong ETag per resource and ``304 Not Modified`` when ``If-None-Match`` carries it, an
optional delay before every response to imitate network latency, and request counters
by status (0 counts connections the client dropped). ``publish`` swaps the whole site at
once (a new version of the feeds), so a scenario can move from one version to the next
between cycles.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site:
    """The resources on offer and what was asked for; shared by the handler threads."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._resources: dict[str, tuple[bytes, str, str]] = {}
        self._lock = threading.Lock()
        self.counts: Counter[int] = Counter()

    def publish(self, resources: Mapping[str, tuple[bytes, str]]) -> None:
        """Serve exactly ``resources`` (path -> body, content type) from now on."""
        tagged = {path: (body, ctype, '"' + hashlib.blake2b(body, digest_size=8).hexdigest()
                         + '"') for path, (body, ctype) in resources.items()}
        with self._lock:
            self._resources = tagged

    def lookup(self, path: str) -> tuple[bytes, str, str] | None:
        with self._lock:
            return self._resources.get(path)

    def count(self, status: int) -> None:
        with self._lock:
            self.counts[status] += 1

    def reset_counts(self) -> Counter[int]:
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD with conditional requests; quiet (no per-request log lines)."""

    protocol_version = "HTTP/1.1"
    server: SiteServer

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, *, with_body: bool) -> None:
        site = self.server.site
        if site.delay:
            time.sleep(site.delay)
        found = site.lookup(self.path.split("?", 1)[0])
        if found is None:
            self._send(404, b"nicht gefunden", "text/plain; charset=utf-8", None, with_body)
        elif self.headers.get("If-None-Match") == found[2]:
            self._send(304, b"", None, found[2], with_body)
        else:
            self._send(200, found[0], found[1], found[2], with_body)

    def _send(self, status: int, body: bytes, ctype: str | None, etag: str | None,
              with_body: bool) -> None:
        self.server.site.count(status)
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body) if status != 304 else 0))
        self.end_headers()
        if with_body and status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.site = site

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (a cancelled cycle) is not worth a traceback."""
        self.site.count(0)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serve(site: Site) -> Iterator[SiteServer]:
    """Serve ``site`` on a free port of 127.0.0.1 in a background thread."""
    server = SiteServer(site)
    thread = threading.Thread(target=server.serve_forever, name="bench-site", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
