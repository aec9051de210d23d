"""Many daemons, one PostgreSQL: real ``news-monitor run`` subprocesses on a throwaway cluster
(``tests/pg.py``), a local news site and a local SMTP server (``tests/scaleout_lab.py``).

Started at one instant on a fresh database, again and again, none dies; reloaded at once
after feeds were added, none dies and the new feeds are polled once per interval; stalled
across the digest time next to two ``digest --send`` at once, one digest is made and each
story is in it once; killed while holding feed, page and mail leases, its work is taken
over within a minute with no fetch twice within an interval and no mail lost or sent twice;
two live daemons share the polls. Skipped, with the reason, without PostgreSQL.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from monitor.store.schema import digest_items, digests, feeds, schema_migrations
from tests.conftest import SmtpServer, free_port
from tests.pg import Cluster, cluster_or_skip
from tests.scaleout_lab import (
    Fleet,
    HeldInbox,
    Site,
    clean_env,
    first_after,
    pg_config,
    running_site,
    shortest_gap,
    story,
    wait_for,
)
from tests.test_store_support import rows

pytestmark = pytest.mark.timeout(300)
SLACK = 0.3          # seconds: the poll tick and clocks between a fetch and its record


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    yield from cluster_or_skip()


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site() as news:
        yield news


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    daemons = Fleet()
    yield daemons
    daemons.stop()


def smtp_server(hold: float = 0.0) -> SmtpServer:
    server = SmtpServer(HeldInbox(hold), free_port())
    server.start()
    return server


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    server = smtp_server()
    yield server
    server.stop()


def feed_list(site: Site, names: list[str], interval: str) -> list[dict[str, Any]]:
    return [{"name": n, "url": site.url(f"/{n}.xml"), "interval": interval} for n in names]


def test_three_daemons_started_at_one_instant_on_a_fresh_database_all_run(
        pg: Cluster, site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"blatt-{i:02d}" for i in range(60)]
    for name in names:
        site.feed(name)
    for trial in range(10):
        url = pg.database()
        config = pg_config(tmp_path / f"trial-{trial}", url, feed_list(site, names, "60s"),
                           smtp_port=None, topics=False)
        fleet = Fleet()
        fleet.start(config, ["a", "b", "c"], at=time.time() + 2)
        try:
            fleet.ready()
        finally:
            codes = fleet.stop()
        outputs = "\n".join(d.text() for d in fleet.daemons)
        assert codes == [0, 0, 0], outputs[-4000:]
        assert "Traceback" not in outputs and "duplicate key" not in outputs
        assert sorted(r.name for r in rows(url, select(feeds.c.name))) == names
        versions = [r.version for r in rows(url, select(schema_migrations.c.version))]
        assert versions == [1, 2, 3, 4, 5, 6]
    with capsys.disabled():
        print("\n10 starts of 3 daemons at one instant on a fresh database: 30 ran, none died")


def test_sighup_to_three_daemons_after_feeds_were_added(
        pg: Cluster, site: Site, tmp_path: Path, fleet: Fleet) -> None:
    old = [f"alt-{i}" for i in range(6)]
    new = ["neu-a", "neu-b", "neu-c"]
    for name in old + new:
        site.feed(name)
    url = pg.database()
    config = pg_config(tmp_path, url, feed_list(site, old, "4s"), smtp_port=None, topics=False)
    fleet.start(config, ["a", "b", "c"])
    fleet.ready()
    wait_for("every old feed polled", lambda: all(site.at(f"/{n}.xml") for n in old))
    pg_config(tmp_path, url, feed_list(site, old + new, "4s"), smtp_port=None, topics=False)
    reloaded_at = time.monotonic()
    fleet.each(signal.SIGHUP)
    wait_for("three reloads", lambda: all(d.count("service status=ready") == 2
                                          for d in fleet.daemons), 60, fleet.daemons)
    wait_for("three polls of each new feed",
             lambda: all(len(site.at(f"/{n}.xml")) >= 3 for n in new), 40, fleet.daemons)
    assert all(d.count("reload status=ok") == 1 for d in fleet.daemons)
    for name in old + new:
        assert shortest_gap(site.at(f"/{name}.xml")) >= 4 - SLACK, name
    assert min(site.at(f"/{new[0]}.xml")) > reloaded_at
    assert fleet.stop() == [0, 0, 0]
    assert "Traceback" not in "".join(d.text() for d in fleet.daemons)


def berlin_time(moment: float) -> str:
    return (datetime.now(ZoneInfo("Europe/Berlin"))
            + timedelta(seconds=moment - time.monotonic())).strftime("%H:%M:%S")


def digest_send(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                             "digest", "--send"], cwd=config.parent, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_daemons_stalled_across_the_digest_time_and_two_sends_make_one_digest(
        pg: Cluster, site: Site, mail: SmtpServer, tmp_path: Path, fleet: Fleet) -> None:
    stories = [story(1), story(2)]
    site.feed("kurier", [(f"/artikel/{i}", s) for i, s in enumerate(stories)])
    url = pg.database()
    digest_at = time.monotonic() + 20
    config = pg_config(tmp_path, url, feed_list(site, ["kurier"], "4s"), smtp_port=mail.port,
                       extra=f'[digest]\ntime = "{berlin_time(digest_at)}"\n')
    fleet.start(config, ["a", "b", "c"])
    fleet.ready(timeout=digest_at - 2 - time.monotonic())
    wait_for("both alerts", lambda: len(mail.inbox.messages) >= 2,
             digest_at - 2 - time.monotonic(), fleet.daemons)
    fleet.each(signal.SIGSTOP)                      # stalled across the digest time
    time.sleep(max(0.0, digest_at + 1.5 - time.monotonic()))
    sends = [digest_send(config), digest_send(config)]
    answers = [(p.wait(90), *p.communicate()) for p in sends]
    fleet.each(signal.SIGCONT)
    wait_for("every daemon to find the day's digest made",
             lambda: all(d.count("digest status=done") for d in fleet.daemons), 40,
             fleet.daemons)
    assert sorted(code for code, _, _ in answers) == [0, 0], answers
    outs = sorted(out for _, out, _ in answers)
    assert "2 events" in outs[0] and "nothing new since the digest of" in outs[1], outs
    sent = [m for m in mail.inbox.messages if "Tagesübersicht" in str(m["Subject"])]
    assert len(sent) == 1
    text = str(sent[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert all(text.count(s.headline) == 1 for s in stories)
    [made] = rows(url, select(digests.c.id, digests.c.route, digests.c.period))
    assert (made.route, made.period) == ("default", datetime.now(
        ZoneInfo("Europe/Berlin")).date().isoformat())
    assert {r.digest_id for r in rows(url, select(digest_items.c.digest_id))} == {made.id}
    alerts = [m for m in mail.inbox.messages if "Tagesübersicht" not in str(m["Subject"])]
    assert len(alerts) == 2 and len({m["Message-ID"] for m in alerts}) == 2
    assert fleet.stop() == [0, 0, 0]


def test_a_killed_daemons_feed_page_and_mail_leases_are_taken_over_within_a_minute(
        pg: Cluster, site: Site, tmp_path: Path, fleet: Fleet,
        capsys: pytest.CaptureFixture[str]) -> None:
    slow, fast = story(11), story(12)
    site.holds["/artikel/langsam"] = (1, 90.0)       # the first fetch of this page hangs
    site.feed("eins", [("/artikel/langsam", slow)])
    site.feed("zwei", [("/artikel/langsam", slow), ("/artikel/schnell", fast)])
    fillers = [f"ruhig-{i}" for i in range(6)]
    for name in fillers:
        site.feed(name)
    smtp = smtp_server(hold=45.0)                    # the first mail hangs, then is refused
    inbox: HeldInbox = smtp.inbox                    # type: ignore[assignment]
    try:
        url = pg.database()
        config = pg_config(tmp_path, url,
                           feed_list(site, ["eins", "zwei", *fillers], "10s"),
                           smtp_port=smtp.port, timeout="100s")
        fleet.start(config, ["opfer"])
        victim = fleet.daemons[0]
        wait_for("the victim to fetch the slow page", lambda: bool(site.at("/artikel/langsam")),
                 40, fleet.daemons)
        wait_for("the victim to be sending a mail", lambda: inbox.held_at is not None, 40,
                 fleet.daemons)
        fleet.start(config, ["b", "c"])
        fleet.ready()
        leased = {r.lease_owner for r in rows(url, select(feeds.c.lease_owner)
                                              .where(feeds.c.name.in_(["eins", "zwei"])))}
        assert leased == {f"{socket.gethostname()}:{victim.proc.pid}"}, (leased, victim.text())
        victim.proc.kill()
        killed = time.monotonic()
        victim.proc.wait()
        page_after = wait_for("the slow page fetched again",
                              lambda: len(site.at("/artikel/langsam")) >= 2, 60, fleet.daemons[1:])
        wait_for("both alerts delivered", lambda: len(inbox.messages) >= 2, 60 - page_after,
                 fleet.daemons[1:])
        time.sleep(3)                                # anything duplicated would arrive now
        mail_after = inbox.arrived.get(inbox.held_id, 1e9) - killed
        feed_after = {n: (first_after(site.at(f"/{n}.xml"), killed) or 1e9) - killed
                      for n in ["eins", "zwei", *fillers]}
        with capsys.disabled():
            print(f"\ntakeover after SIGKILL: page {page_after:.1f} s, mail {mail_after:.1f} s, "
                  f"feeds {max(feed_after.values()):.1f} s at most")
        seen = {n: [round(t - killed, 1) for t in site.at(f"/{n}.xml")] for n in feed_after}
        assert page_after < 60 and mail_after < 60 and max(feed_after.values()) < 60, seen
        pages = [round(t - killed, 1) for t in site.at("/artikel/langsam")]
        assert len(pages) == 2, pages                    # one fetch by one process each time
        ids = inbox.message_ids()
        assert len(ids) == 2 and len(set(ids)) == 2, ids  # both alerts, none twice, none lost
        subjects = sorted(str(m["Subject"]) for m in inbox.messages)
        assert [slow.headline in subjects[0], fast.headline in subjects[1]] == [True, True]
        for name in ["eins", "zwei", *fillers]:
            assert shortest_gap(site.at(f"/{name}.xml")) >= 10 - SLACK, (name, seen)
        codes = [d.stop() for d in fleet.daemons[1:]]
        assert codes == [0, 0], [d.text()[-2000:] for d in fleet.daemons[1:]]
    finally:
        inbox.release.set()
        time.sleep(0.5)                              # the held session ends before the server
        smtp.stop()


def test_two_live_daemons_share_the_polls(pg: Cluster, site: Site, tmp_path: Path,
                                           fleet: Fleet,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    names = [f"quelle-{i:02d}" for i in range(30)]
    for name in names:
        site.feed(name)
    config = pg_config(tmp_path, pg.database(), feed_list(site, names, "3s"), smtp_port=None,
                       topics=False)
    fleet.start(config, ["a", "b"], at=time.time() + 2)
    fleet.ready()
    time.sleep(20)
    assert fleet.stop() == [0, 0]
    polls = [d.polls() for d in fleet.daemons]
    with capsys.disabled():
        print("\npolls of two daemons over 30 feeds in 20 s: "
              + ", ".join(f"{p} ({p / sum(polls):.0%})" for p in polls))
    assert sum(polls) >= 120 and max(polls) <= 0.7 * sum(polls), polls
    for name in names:
        assert shortest_gap(site.at(f"/{name}.xml")) >= 3 - SLACK, name
