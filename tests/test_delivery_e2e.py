"""Delivery end to end: a poll against a local news site puts alerts into a real SMTP server on
127.0.0.1 (aiosmtpd), updates thread under the first alert, mail waits in the outbox while the
server is down and arrives once when it is back, also after the queueing process died."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.app import open_app
from monitor.cli import main
from monitor.config import Config, load_config
from monitor.notify.outbox import FlushReport
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
def _state_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    monkeypatch.delenv("NEWS_MONITOR_CONFIG", raising=False)


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

    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0, out
    digest = smtp.inbox.messages[2]
    assert "Tagesübersicht" in digest["Subject"]
    assert LAYOFFS.headline in parts(digest)[0] and LAYOFFS.headline in parts(digest)[1]
    assert len(list((tmp_path / "state" / "digests").glob("*.html"))) == 1

    code, out = cli(capsys, path, "outbox", "--json")
    rows = json.loads(out)
    assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [
        ("alert", "sent", 1), ("alert", "sent", 1), ("digest", "sent", 1)]
    assert len(smtp.inbox.envelopes) == 3
