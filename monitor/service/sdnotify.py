"""The systemd notify protocol, spoken directly: readiness, reload, status, stop, watchdog.

Owns one AF_UNIX datagram socket to ``$NOTIFY_SOCKET`` (a file system path or an abstract
``@name``) and the ``KEY=VALUE`` lines of sd_notify(3), so the daemon needs no python-systemd.
Without ``NOTIFY_SOCKET`` the notifier does nothing, so the same code runs in a terminal.
The watchdog is pinged from a coroutine on the event loop itself: when the loop hangs, the
pings stop and systemd restarts the service. A failed send is logged and never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify(3) messages; ``address=None`` makes every call a no-op."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Notifier:
        """A notifier for ``NOTIFY_SOCKET`` in ``env``; a no-op one when it is unset or unusable."""
        raw = env.get("NOTIFY_SOCKET", "")
        if not raw:
            return cls(None)
        if raw.startswith("@"):
            return cls("\0" + raw[1:])
        if raw.startswith("/"):
            return cls(raw)
        log.warning("notify socket unsupported address=%r", raw)
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ready(self, status: str | None = None) -> bool:
        """Start-up (or a reload) is complete."""
        return self._send("READY=1", *_status_field(status))

    def reloading(self) -> bool:
        """A reload starts; send ``ready()`` when it is done (Type=notify-reload semantics)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self._send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self._send(*_status_field(text))

    def watchdog(self) -> bool:
        return self._send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self._send("STOPPING=1", *_status_field(status))

    @staticmethod
    def watchdog_interval(env: Mapping[str, str], pid: int | None = None) -> float | None:
        """Seconds between pings (half of ``WATCHDOG_USEC``), or None when no watchdog is ours."""
        usec = env.get("WATCHDOG_USEC", "")
        owner = env.get("WATCHDOG_PID", "")
        if not usec:
            return None
        if owner and owner != str(os.getpid() if pid is None else pid):
            return None
        try:
            value = int(usec)
        except ValueError:
            log.warning("watchdog ignored reason=bad_usec value=%r", usec)
            return None
        return value / 2_000_000 if value > 0 else None

    async def watchdog_loop(self, interval: float, stop: asyncio.Event) -> None:
        """Send ``WATCHDOG=1`` every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.watchdog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, *fields: str) -> bool:
        if self.address is None or not fields:
            return False
        payload = "\n".join(fields).encode("utf-8")
        try:
            self._socket().sendto(payload, self.address)
        except OSError as exc:
            log.warning("notify failed fields=%s error=%s", _keys(fields), exc)
            return False
        return True

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            sock.setblocking(False)  # a full queue must not stall the event loop
            self._sock = sock
        return self._sock


def _status_field(text: str | None) -> tuple[str, ...]:
    """``STATUS=`` on one line: a newline would start a forged field."""
    if text is None:
        return ()
    return ("STATUS=" + " ".join(text.splitlines()),)


def _keys(fields: tuple[str, ...]) -> str:
    return ",".join(f.split("=", 1)[0] for f in fields)
