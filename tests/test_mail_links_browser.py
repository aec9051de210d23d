"""The signed "Nicht relevant" link followed from the mail the local SMTP server received,
in a real Chromium against ``news-monitor web``: the GET alone changes nothing, the
confirmation records the verdict, and the story leaves the next digest mail. (A module of
its own: while Playwright runs, no test in its module can call ``asyncio.run`` directly.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import expect

from monitor.store import open_store
from tests.conftest import NewsSite, SmtpServer, free_port
from tests.test_delivery_e2e import _state_here, cli, load, poll, publish  # noqa: F401
from tests.test_mail_links import desk_config, plain
from tests.test_web_config import _wait_for

T = TypeVar("T")


def in_thread(work: Callable[[], T]) -> T:
    """Runs ``work`` (which calls asyncio.run) in a thread: while Playwright is started, this
    thread counts as running an event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def test_not_relevant_from_the_mail_confirms_then_records_and_the_story_leaves_the_digest(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path, page: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    port = free_port()
    path = desk_config(tmp_path, site, smtp, port)
    assert in_thread(lambda: poll(load(path))).sent == 1
    dismiss = re.search(r"^Nicht relevant: (\S+)$", plain(smtp.inbox.messages[0]), re.MULTILINE)
    assert dismiss
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env["STATE_DIRECTORY"] = str(tmp_path / "state")
    desk = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "web"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        page.goto(dismiss.group(1))                           # what a prefetcher would do too
        assert "Nicht relevant" in page.content()
        assert verdicts(path) == []                           # the GET alone changed nothing
        page.locator("form button[type=submit]").first.click()
        expect(page.locator("h1")).to_have_text("Gespeichert")   # the POST's answer is shown
        assert verdicts(path) == [("alibaba-russland", "not_relevant")]
    finally:
        desk.send_signal(signal.SIGTERM)
        desk.communicate(timeout=20)
    code, out = in_thread(lambda: cli(capsys, path, "digest", "--send", "--empty"))
    assert code == 0, out
    digest = plain(smtp.inbox.messages[-1])
    assert "AliExpress Russland streicht" not in digest and "Keine neuen Meldungen" in digest


def verdicts(path: Path) -> list[tuple[str, str]]:
    store = open_store(load(path).storage.url)
    try:
        with store._db.read() as conn:
            rows = conn.exec_driver_sql("SELECT topic, verdict FROM verdicts").all()
    finally:
        store.close()
    return [(str(t), str(v)) for t, v in rows]
