"""A local HTTP receiver for webhooks and Apprise's json:// and ntfy:// targets.

A real HTTP server on 127.0.0.1 (``http.server`` in a thread) that records every request
(path, headers, body) and answers with the statuses it is told to, one per request, 200 when
the list is used up; ``hang`` keeps the next requests waiting (a receiver that never
acknowledges), ``stop`` takes it down (a receiver that is away).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether the X-News-Monitor-Signature header is the HMAC-SHA256 of the raw body."""
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        given = self.headers.get("x-news-monitor-signature", "")
        return hmac.compare_digest(given, f"sha256={expected}")


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: dict[str, list[tuple[int, str]]] = {}
        self.hang = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def answer(self, path: str, *statuses: tuple[int, str]) -> None:
        """The next requests to ``path`` get these statuses and first lines, in order."""
        self.statuses.setdefault(path, []).extend(statuses)

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, path: str) -> tuple[int, str]:
        with self._lock:
            waiting = self.statuses.get(path)
            return waiting.pop(0) if waiting else (200, "ok")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body))
                if receiver.hang.is_set():
                    receiver.released.wait(120)
                    return
                status, text = receiver._next(self.path)
                payload = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
