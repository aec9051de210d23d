"""The demo's bundled news site and its local HTTP and SMTP servers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx

from monitor.commands.demo.server import LocalSite
from monitor.commands.demo.site import DATA, load_manifest, render_site
from monitor.commands.demo.smtp import smtp_sink
from monitor.extract.html import extract_html
from monitor.match import Topic, compile_topic, prepare_document
from monitor.parse.feed import parse_feed
from tests.conftest import ROOT

BASE = "http://127.0.0.1:8000"
RELEVANT = {"aliexpress-russland-stellenabbau", "alibaba-russland-tochter-personal",
            "megafon-aliexpress-anteil"}


def read_maildir(path: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(path, create=False)
    return [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)  # type: ignore[misc]
            for key in box.iterkeys()]


def _topic() -> Topic:
    raw = tomllib.loads((DATA / "topic-alibaba-russland.toml").read_text(encoding="utf-8"))
    spec = raw["topics"][0]
    return compile_topic(spec["name"], spec["query"], min_score=spec["min_score"],
                         aliases={k: list(v) for k, v in raw["aliases"].items()})


def _site(updated: bool, now: datetime) -> dict[str, Any]:
    return render_site(load_manifest(), base=BASE, now=now, updated=updated)


# --- the bundled data -------------------------------------------------------------------

def test_bundled_topic_is_the_shipped_default_topic() -> None:
    bundled = tomllib.loads((DATA / "topic-alibaba-russland.toml").read_text(encoding="utf-8"))
    shipped = tomllib.loads((ROOT / "config" / "monitor.toml").read_text(encoding="utf-8"))
    assert bundled["aliases"] == shipped["aliases"]
    assert bundled["topics"] == shipped["topics"]


def test_feeds_parse_with_recent_entries_that_link_to_served_pages() -> None:
    now = datetime.now(UTC)
    site = _site(False, now)
    manifest = load_manifest()
    for outlet in manifest["outlets"]:
        feed = site[outlet["feed_path"]]
        parsed = parse_feed(feed.body, url=BASE + outlet["feed_path"],
                            headers={"content-type": feed.content_type}, fetched_at=now)
        assert parsed.warning is None
        assert len(parsed.entries) == 4
        for entry in parsed.entries:
            assert entry.has_date and now - timedelta(hours=24) < entry.published <= now
            assert entry.link.removeprefix(BASE) in site, entry.link


def test_the_edit_changes_only_the_story_and_its_feed() -> None:
    now = datetime.now(UTC)
    before, after = _site(False, now), _site(True, now)
    changed = {path for path in before if before[path].etag != after[path].etag}
    assert changed == {"/wirtschaftskurier/unternehmen.atom.xml",
                       "/wirtschaftskurier/artikel/aliexpress-russland-stellenabbau.html"}


def test_only_the_relevant_pages_match_the_default_topic() -> None:
    topic, matched = _topic(), set()
    for path, resource in _site(True, datetime.now(UTC)).items():
        if path.endswith(".html"):
            page = extract_html(resource.body, url=BASE + path)
            doc = prepare_document(title=page.title, summary="", text=page.text)
            if topic.evaluate(doc).matched:
                matched.add(path.rsplit("/", 1)[1].removesuffix(".html"))
    assert matched == RELEVANT


def test_a_sidebar_mentioning_alibaba_in_russland_does_not_match() -> None:
    page = _site(False, datetime.now(UTC))["/wirtschaftskurier/artikel/maschinenbau-prognose.html"]
    assert b"Alibaba in Russland" in page.body            # in the sidebar of the raw page
    extracted = extract_html(page.body, url=BASE)
    assert "Alibaba" not in extracted.text
    doc = prepare_document(title=extracted.title, summary="", text=extracted.text)
    assert not _topic().evaluate(doc).matched


# --- the local servers ------------------------------------------------------------------

def test_local_site_serves_with_etags_and_stops_its_threads() -> None:
    before = set(threading.enumerate())
    with LocalSite() as site:
        site.publish(render_site(load_manifest(), base="http://x", now=datetime.now(UTC),
                                 updated=False))
        url = site.base_url + "/ostmarkt/wirtschaft.rss.xml"
        first = httpx.get(url)
        again = httpx.get(url, headers={"If-None-Match": first.headers["ETag"]})
        missing = httpx.get(site.base_url + "/nirgends.html")
    assert first.status_code == 200 and first.headers["Content-Type"].startswith(
        "application/rss+xml")
    assert again.status_code == 304 and again.content == b""
    assert missing.status_code == 404
    assert site.requests == [("/ostmarkt/wirtschaft.rss.xml", 200),
                             ("/ostmarkt/wirtschaft.rss.xml", 304), ("/nirgends.html", 404)]
    assert set(threading.enumerate()) == before


def test_smtp_sink_files_messages_in_a_maildir(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"], message["To"] = "a@demo.localhost", "b@demo.localhost"
    message["Subject"] = "Grüße aus dem Test"
    message.set_content("Hallo")

    async def deliver() -> int:
        async with smtp_sink(tmp_path / "inbox") as sink:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port)
            return len(sink.received)

    assert asyncio.run(deliver()) == 1
    assert [str(m["Subject"]) for m in read_maildir(tmp_path / "inbox")] == ["Grüße aus dem Test"]


def test_every_data_file_ships_with_the_package() -> None:
    """setuptools ships package data only from packages and only by pyproject's globs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["*"]
    root = Path(str(DATA))
    for path in root.rglob("*"):
        if path.is_dir() and path.name != "__pycache__":
            assert (path / "__init__.py").is_file(), f"{path} is not a package"
        elif path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            assert any(path.match(g) for g in globs), f"{path} is not package data"
