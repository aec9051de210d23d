"""Notifier against real AF_UNIX datagram sockets, as systemd would listen on them."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service.sdnotify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "n.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on ``sock``."""
    sock.setblocking(False)
    found = []
    while True:
        try:
            found.append(sock.recv(64))
        except BlockingIOError:
            return found


def test_ready_status_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier.from_env({"NOTIFY_SOCKET": path}) as notifier:
        assert notifier.ready(status="12 Feeds geladen")
        assert receive(sock) == {"READY": "1", "STATUS": "12 Feeds geladen"}
        notifier.status("Abruf läuft\nREADY=1")
        assert receive(sock) == {"STATUS": "Abruf läuft READY=1"}
        notifier.stopping()
        assert receive(sock) == {"STOPPING": "1"}


def test_reloading_carries_the_monotonic_clock(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    with Notifier.from_env({"NOTIFY_SOCKET": path}) as notifier:
        notifier.reloading()
    fields = receive(sock)
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= after


def test_abstract_socket_name() -> None:
    name = f"news-monitor-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        with Notifier.from_env({"NOTIFY_SOCKET": "@" + name}) as notifier:
            assert notifier.ready()
        assert receive(sock) == {"READY": "1"}
    finally:
        sock.close()


def test_watchdog_loop_repeats_until_stopped(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener

    async def run() -> None:
        stop = asyncio.Event()
        with Notifier.from_env({"NOTIFY_SOCKET": path}) as notifier:
            task = asyncio.create_task(notifier.watchdog_loop(0.02, stop))
            await asyncio.sleep(0.15)
            stop.set()
            await asyncio.wait_for(task, 1)

    asyncio.run(run())
    pings = drain(sock)
    assert len(pings) >= 3
    assert set(pings) == {b"WATCHDOG=1"}


def test_watchdog_loop_stops_pinging_when_the_loop_hangs(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener

    async def run() -> None:
        stop = asyncio.Event()
        with Notifier.from_env({"NOTIFY_SOCKET": path}) as notifier:
            task = asyncio.create_task(notifier.watchdog_loop(0.02, stop))
            await asyncio.sleep(0)       # first ping
            time.sleep(0.2)              # the loop hangs: no pings may be sent meanwhile
            stop.set()
            await task

    asyncio.run(run())
    pings = drain(sock)
    assert pings == [b"WATCHDOG=1"]


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled is False


def test_send_failure_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) as notifier,
          caplog.at_level(logging.WARNING, logger="monitor.service.sdnotify")):
        assert notifier.ready() is False
    assert "notify failed fields=READY" in caplog.text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "4243"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "sechzig"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert Notifier.watchdog_interval(env, pid=4242) == expected


def test_watchdog_interval_defaults_to_our_pid() -> None:
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier.watchdog_interval(env) == 1.0
