"""The demo scenario: the real pipeline against the local news site and mail server.

``run_demo`` makes a state directory (a temporary one, removed at the end, or ``keep``),
starts the site (``server``) and the SMTP sink (``smtp``), writes a config for them with
the shipped default topic, and then: polls both feeds (every item is recent, so the
relevant ones alert), delivers; lets the publisher edit one story and polls again (an
``updated`` alert in the first alert's thread); sends the digest. ``narrate`` tells the
user what happened. Each step checks its result: a step that did not happen as expected
ends the demo with exit code 1 and the reason. Both servers stop in every case.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO

from monitor.app.wiring import App, open_app
from monitor.commands.demo import narrate
from monitor.commands.demo.server import LocalSite
from monitor.commands.demo.site import DATA, feeds, load_manifest, render_site, updated_article
from monitor.commands.demo.smtp import SmtpSink, smtp_sink
from monitor.config.model import Config, load_config
from monitor.errors import MonitorError
from monitor.models import Delta
from monitor.pipeline.feed import FeedOutcome

TOPIC = "alibaba-russland"
TOPIC_FILE = "topic-alibaba-russland.toml"


class DemoFailed(MonitorError):
    """A step of the demo did not have the result it shows a new user."""


@dataclass
class Demo:
    """The running demo: its parts and what the steps produced so far."""

    out: TextIO
    state: Path
    manifest: dict[str, Any]
    now: datetime
    site: LocalSite
    sink: SmtpSink
    alerts: list[EmailMessage] = field(default_factory=list)

    def publish(self, *, updated: bool) -> None:
        self.site.publish(render_site(self.manifest, base=self.site.base_url, now=self.now,
                                      updated=updated))

    def arrived_since(self, count: int) -> list[EmailMessage]:
        return self.sink.received[count:]


async def run_demo(out: TextIO, *, keep: Path | None = None) -> int:
    """Run the whole scenario, narrating to ``out``; 0 when every step did what it shows."""
    try:
        state = _state_directory(keep)
    except DemoFailed as exc:
        print(f"error: {exc}", file=out)
        return 2
    try:
        await _scenario(out, state, kept=keep is not None)
        return 0
    except (DemoFailed, MonitorError) as exc:
        print(f"\nDEMO FAILED: {exc}", file=out)
        return 1
    finally:
        if keep is None:
            shutil.rmtree(state, ignore_errors=True)


def _state_directory(keep: Path | None) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="news-monitor-demo-"))
    if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise DemoFailed(f"--keep {keep}: must be a new or empty directory (the demo starts "
                         "from an empty state)")
    keep.mkdir(parents=True, exist_ok=True)
    return keep.resolve()


async def _scenario(out: TextIO, state: Path, *, kept: bool) -> None:
    manifest = load_manifest()
    async with contextlib.AsyncExitStack() as stack:
        site = stack.enter_context(LocalSite())
        sink = await stack.enter_async_context(smtp_sink(state / "inbox"))
        demo = Demo(out, state, manifest, datetime.now(UTC), site, sink)
        demo.publish(updated=False)
        config = demo_config(state, site.base_url, sink.port, manifest)
        narrate.intro(out, demo, config)
        app = await stack.enter_async_context(open_app(config))
        await _first_poll(demo, app)
        await _publisher_edits(demo, app)
        digest_path = await _digest(demo, app)
    narrate.where(out, state=state, inbox=sink.path, digest=digest_path,
                  mails=len(sink.received), kept=kept)


async def _first_poll(demo: Demo, app: App) -> None:
    narrate.step(demo.out, 1, "First poll: every feed fetched, new articles extracted and "
                 "matched against the topic")
    deltas, mails = await _poll(demo, app)
    demo.alerts = [m for m in mails if str(m["Subject"]).startswith(f"[{TOPIC}]")]
    if not any(d.kind == "new" for d in deltas):
        raise DemoFailed("the first poll found no new matching article")
    if not demo.alerts:
        raise DemoFailed("no alert mail arrived at the local SMTP server after the first poll")


async def _publisher_edits(demo: Demo, app: App) -> None:
    article = updated_article(demo.manifest)
    narrate.step(demo.out, 2, f"The publisher edits a story: {article['title']!r} gains a "
                 "paragraph on the joint venture with MegaFon and RDIF; its feed entry "
                 "shows the new date and lead")
    demo.publish(updated=True)
    deltas, mails = await _poll(demo, app)
    if not any(d.kind == "updated" for d in deltas):
        raise DemoFailed("the edited article raised no 'updated' event on the second poll")
    roots = {str(m["Message-ID"]) for m in demo.alerts}
    threaded = [m for m in mails if str(m.get("In-Reply-To", "")) in roots]
    if not threaded:
        raise DemoFailed("no update alert arrived in the thread of the first alert")
    narrate.threads(demo.out, threaded, demo.alerts)


async def _poll(demo: Demo, app: App) -> tuple[list[Delta], list[EmailMessage]]:
    """Every feed once, one after the other: the first outlet's story is the one that alerts,
    and another outlet's wire copy of it joins that story."""
    started, count = app.clock(), len(demo.sink.received)
    outcomes: list[FeedOutcome] = []
    for feed in app.config.enabled_feeds:
        outcomes += await app.pipeline.run_cycle(due_only=False, names=[feed.name])
    narrate.feeds(demo.out, outcomes)
    failed = [f"{o.feed}: {o.error}" for o in outcomes if o.status == "error"]
    if failed:
        raise DemoFailed("a feed of the local news site failed: " + "; ".join(failed))
    deltas = app.store.events(since=started)
    narrate.deltas(demo.out, deltas)
    report = await app.delivery.flush()
    mails = demo.arrived_since(count)
    narrate.mails(demo.out, mails, errors=report.errors)
    return deltas, mails


async def _digest(demo: Demo, app: App) -> Path:
    narrate.step(demo.out, 3, "The daily digest (normally at 07:00 Europe/Berlin), sent now")
    count = len(demo.sink.received)
    result = await app.send_digest(force=True)
    report = await app.delivery.flush()
    mails = demo.arrived_since(count)
    if result is None or not result.html_path.is_file():
        raise DemoFailed("no digest was created")
    narrate.digest(demo.out, result.subject, result.events, result.html_path)
    narrate.mails(demo.out, mails, errors=report.errors)
    if not mails:
        raise DemoFailed("the digest mail did not arrive at the local SMTP server")
    return result.html_path


def demo_config(state: Path, base_url: str, smtp_port: int,
                manifest: dict[str, Any]) -> Config:
    """A config for the local site and mail server, with the shipped default topic."""
    path = state / "demo.toml"
    path.write_text(config_text(base_url, smtp_port, manifest), encoding="utf-8")
    return load_config(path, env={"STATE_DIRECTORY": str(state)})


def config_text(base_url: str, smtp_port: int, manifest: dict[str, Any]) -> str:
    feed_tables = [f'[[feeds]]\nname = "{f.name}"\nurl = "{base_url}{f.path}"\n'
                   for f in feeds(manifest)]
    return "\n".join([
        "# Written by `news-monitor demo`: a local news site and mail server on 127.0.0.1.\n",
        '[fetch]\nallow_private_hosts = ["127.0.0.1"]\nper_host_delay = "0s"\n'
        'extract_workers = 0\ntimeout = "10s"\ndeadline = "20s"\n',
        *feed_tables,
        '[email]\nfrom = "news-monitor@demo.localhost"\nto = ["analyst@demo.localhost"]\n',
        f'[email.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
        'timeout = "10s"\n',
        '[logging]\nlevel = "WARNING"\n',
        (DATA / TOPIC_FILE).read_text(encoding="utf-8"),
    ])
