"""Delivery end to end: a poll against a local news site puts alerts into a real SMTP server on
127.0.0.1 (aiosmtpd), updates thread under the first alert, mail waits in the outbox while the
server is down and arrives once when it is back, also after the queueing process died."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.app.wiring import open_app
from monitor.cli import main
from monitor.config.model import Config, load_config
from monitor.notify.outbox import FlushReport
from monitor.service.logs import _MonitorHandler
from tests.conftest import NewsSite, SmtpServer, write_config
from tests.newsroom import JV_PARAGRAPH, LAYOFFS, OTHER, TRAP, Item, Story, page, rss

HTML = "text/html; charset=utf-8"
SUBJECT = ("[alibaba-russland] AliExpress Russland streicht bis zu 40 Prozent der Stellen"
           " — Wirtschaftskurier")


def publish(site: NewsSite, *, update: bool = False, now: datetime | None = None) -> None:
    """The Wirtschaftskurier with one relevant story among two others; ``update`` adds the
    paragraph on the joint venture's partners and a new feed summary (so it is re-checked)."""
    story = Story(LAYOFFS.headline, LAYOFFS.paragraphs + ([JV_PARAGRAPH] if update else []),
                  LAYOFFS.sidebar, LAYOFFS.comments)
    site.put("/artikel/aliexpress-stellen", page(story), HTML)
    site.put("/artikel/wasserstoff", page(TRAP), HTML)
    site.put("/artikel/dax", page(OTHER), HTML)
    summary = ("Das Gemeinschaftsunternehmen baut Personal ab; die Partner MegaFon, VK und RDIF "
               "schweigen." if update else "Das Gemeinschaftsunternehmen baut Personal ab.")
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/aliexpress-stellen", summary, guid="wk-1"),
        Item(TRAP.headline, "/artikel/wasserstoff", "Industrie stellt Öfen um.", guid="wk-2"),
        Item(OTHER.headline, "/artikel/dax", "Anleger erleichtert.", guid="wk-3"),
    ], now=now))


def config_file(tmp_path: Path, site: NewsSite, port: int, extra: str = "") -> Path:
    return write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}],
                        smtp_port=port, extra=extra)


def load(path: Path) -> Config:
    return load_config(path, env={"STATE_DIRECTORY": str(path.parent / "state")})


def poll(config: Config, clock: Callable[[], datetime] | None = None,
         include_waiting: bool = True) -> FlushReport:
    """What ``news-monitor poll`` does, in this process, with an optional clock."""
    async def run() -> FlushReport:
        async with open_app(config, **({"clock": clock} if clock else {})) as app:
            await app.pipeline.run_cycle(due_only=False)
            return await app.delivery.flush(include_waiting=include_waiting)
    return asyncio.run(run())


def cli(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str]:
    """The real command line, run in this process (a subprocess costs seconds): exit code and
    what it printed (stdout; the log lines on stderr are not part of it)."""
    code = main(["--config", str(path), *args])
    return code, capsys.readouterr().out


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.fixture(autouse=True)
def _state_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """State under tmp_path, no stray environment, and the root logger as it was (the
    in-process command line installs its own handler on capsys's stderr, so it is removed
    before capsys closes that)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    for name in ("NEWS_MONITOR_CONFIG", "NEWS_MONITOR_SMTP_PASSWORD", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, _MonitorHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def test_poll_mails_one_alert_then_the_update_threads_under_it_and_the_digest_lists_it(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    code, out = cli(capsys, path, "poll")
    assert code == 0, out
    assert "mail: 1 delivered, 0 to retry, 0 dead" in out
    [first] = smtp.inbox.messages
    assert smtp.inbox.envelopes[0][:2] == ("monitor@example.org", ["analyst@example.org"])
    assert first["Subject"] == SUBJECT
    assert first["Auto-Submitted"] == "auto-generated" and "news-monitor" in first["List-Id"]
    assert first["Message-ID"].startswith("<alert.") and first["In-Reply-To"] is None
    assert first.get_content_type() == "multipart/alternative"
    text, html = parts(first)
    for body in (text, html):
        assert "Wirtschaftskurier" in body and site.url("/artikel/aliexpress-stellen") in body
    assert "<mark>" in html and "AliExpress" in text

    publish(site, update=True)
    code, out = cli(capsys, path, "poll")
    assert code == 0 and "mail: 1 delivered" in out, out
    second = smtp.inbox.messages[1]
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]
    assert second["Message-ID"] != first["Message-ID"]
    assert "Aktualisiert" in second["Subject"] and "MegaFon" in parts(second)[0]

    code, out = cli(capsys, path, "digest", "--text")
    assert code == 0 and "1 neu, 0 aktualisiert" in out, out   # new and updated: one entry
    assert out.count(LAYOFFS.headline) == 1 and "seitdem aktualisiert" in out, out
    code, out = cli(capsys, path, "digest", "--preview", str(tmp_path / "vorschau.html"))
    assert code == 0 and "(2 events)" in out, out
    assert LAYOFFS.headline in (tmp_path / "vorschau.html").read_text(encoding="utf-8")
    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0 and "2 events" in out, out
    digest = smtp.inbox.messages[2]
    assert "Tagesübersicht" in digest["Subject"]
    assert LAYOFFS.headline in parts(digest)[0] and LAYOFFS.headline in parts(digest)[1]
    assert len(list((tmp_path / "state" / "digests").glob("*.html"))) == 1

    code, out = cli(capsys, path, "outbox", "--json")
    rows = json.loads(out)
    assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [
        ("alert", "sent", 1), ("alert", "sent", 1), ("digest", "sent", 1)]
    assert len(smtp.inbox.envelopes) == 3


def test_server_down_mail_waits_in_the_outbox_then_arrives_once(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    smtp.stop()
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    code, out = cli(capsys, path, "poll")
    assert code == 0 and "mail: 0 delivered, 1 to retry, 0 dead" in out, out
    assert f"127.0.0.1:{smtp.port}: cannot connect" in out
    code, out = cli(capsys, path, "outbox")
    assert out.startswith("pending") and "attempts=1" in out and "last error:" in out
    assert "cannot connect" in out and "1 pending, 0 sent, 0 dead" in out, out

    later = datetime.now(UTC) + timedelta(hours=1)
    assert poll(load(path), include_waiting=False) == FlushReport()   # still backing off
    smtp.start()
    report = poll(load(path), clock=lambda: later, include_waiting=False)
    assert (report.sent, report.failed, report.dead) == (1, 0, 0)
    assert poll(load(path), clock=lambda: later + timedelta(hours=1)) == FlushReport()
    [alert] = smtp.inbox.messages
    assert alert["Subject"] == SUBJECT
    code, out = cli(capsys, path, "outbox")
    assert "0 pending, 1 sent, 0 dead" in out and "attempts=2" in out


def test_outbox_flush_tries_waiting_mail_now(site: NewsSite, smtp: SmtpServer, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    smtp.stop()
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    assert poll(load(path)).failed == 1
    smtp.start()
    code, out = cli(capsys, path, "outbox", "--flush")
    assert code == 0 and "1 delivered, 0 to retry, 0 dead" in out, out
    code, out = cli(capsys, path, "outbox", "--flush")
    assert code == 0 and "nothing to deliver" in out, out
    assert len(smtp.inbox.envelopes) == 1


class Hang:
    """An SMTP server that takes the message and never answers it."""

    def __init__(self) -> None:
        self.data_seen = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_seen += 1
        await asyncio.sleep(3600)
        return "250 too late"


def test_process_killed_while_sending_the_mail_is_delivered_once_after_restart(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path) -> None:
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    smtp.stop()
    hang = Hang()
    hanging = Controller(hang, hostname="127.0.0.1", port=smtp.port)
    hanging.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "poll"],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not hang.data_seen and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert hang.data_seen == 1          # queued, committed, and in the middle of DATA
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        hanging.stop()
    smtp.start()
    # The restarted process frees the dead one's lease (same host, pid gone) and delivers.
    assert poll(load(path)).sent == 1
    later = datetime.now(UTC) + timedelta(hours=1)
    assert poll(load(path), clock=lambda: later) == FlushReport()
    [alert] = smtp.inbox.messages
    assert alert["Subject"] == SUBJECT


def publish_two(site: NewsSite) -> None:
    """Two relevant stories: the layoffs and a follow-up on the partners."""
    publish(site)
    follow_up = Story("MegaFon und VK prüfen Zukunft bei AliExpress Russland",
                      [JV_PARAGRAPH, "Alibaba äußerte sich nicht zu den Gesprächen in Moskau."])
    site.put("/artikel/partner", page(follow_up), HTML)
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/aliexpress-stellen", "Personalabbau.", guid="wk-1"),
        Item(follow_up.headline, "/artikel/partner", "Die Partner beraten.", guid="wk-4"),
    ]))


def summary_run(config: Config, clock: Callable[[], datetime]) -> FlushReport:
    async def run() -> FlushReport:
        async with open_app(config, clock=clock) as app:
            return await app.delivery.send_hourly_summary()
    return asyncio.run(run())


@pytest.mark.parametrize(("alerts", "immediate"), [("max_per_hour = 1", 1),
                                                   ('mode = "hourly"', 0)])
def test_past_the_cap_or_in_hourly_mode_alerts_fold_into_one_summary_an_hour(
        alerts: str, immediate: int, site: NewsSite, smtp: SmtpServer, tmp_path: Path) -> None:
    publish_two(site)
    config = load(config_file(tmp_path, site, smtp.port, extra=f"[alerts]\n{alerts}\n"))
    poll(config)
    assert len(smtp.inbox.envelopes) == immediate            # nothing summarised yet
    now = datetime.now(UTC)
    report = summary_run(config, lambda: now)
    assert report.sent == 1
    summary = smtp.inbox.messages[-1]
    assert "Sammelmeldung" in summary["Subject"] and summary["Auto-Submitted"]
    listed = parts(summary)[0]
    # The two stories are checked concurrently: either may be the one under the cap.
    stories = {"layoffs": LAYOFFS.headline, "partners": "MegaFon und VK prüfen Zukunft"}
    alerted = {key for key, headline in stories.items()
               if any(headline in parts(mail)[0] for mail in smtp.inbox.messages[:-1])}
    summarised = {key for key, headline in stories.items() if headline in listed}
    assert len(alerted) == immediate and summarised == set(stories) - alerted, listed
    assert summary_run(config, lambda: now + timedelta(minutes=20)) == FlushReport()
    assert summary_run(config, lambda: now + timedelta(hours=2)) == FlushReport()  # none left
    assert len(smtp.inbox.envelopes) == immediate + 1


def test_a_mail_that_cannot_be_built_is_dead_with_its_reason_and_the_delta_is_kept(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'to = ["analyst@example.org"]', "to = []"), encoding="utf-8")
    code, out = cli(capsys, path, "poll")
    assert code == 0 and "match alibaba-russland" in out, out
    code, out = cli(capsys, path, "outbox")
    assert out.startswith("dead") and "no recipients configured" in out, out
    assert "0 pending, 0 sent, 1 dead" in out
    code, out = cli(capsys, path, "outbox", "--retry-dead")
    assert "requeued 0 dead mails" in out        # nothing to resend: it was never built
    code, out = cli(capsys, path, "deltas")
    assert LAYOFFS.headline in out, out
    assert smtp.inbox.envelopes == []
