"""Two daemons on one SQLite file, as on one host: both run and share the polls, no feed is
fetched twice within its interval, a story two feeds carry is fetched once and alerted once,
and both stop cleanly. SQLite serialises their writes (``BEGIN IMMEDIATE``); why this stops
at one host is in docs/scaleout.md. Real ``news-monitor run`` subprocesses, a local news
site and a local SMTP server (``tests/scaleout_lab.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SmtpServer, write_config
from tests.scaleout_lab import Fleet, Site, running_site, shortest_gap, story, wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site() as news:
        yield news


def test_two_daemons_on_one_sqlite_file(site: Site, smtp: SmtpServer, tmp_path: Path) -> None:
    shared = story(21)
    site.feed("eins", [("/artikel/gemeinsam", shared)])
    site.feed("zwei", [("/artikel/gemeinsam", shared)])
    names = ["eins", "zwei", *[f"ruhig-{i}" for i in range(8)]]
    for name in names[2:]:
        site.feed(name)
    feeds = [{"name": n, "url": site.url(f"/{n}.xml"), "interval": "3s"} for n in names]
    config = write_config(tmp_path, feeds, smtp_port=smtp.port)
    fleet = Fleet()
    fleet.start(config, ["a", "b"], at=time.time() + 2)
    try:
        fleet.ready()
        wait_for("the alert", lambda: len(smtp.inbox.messages) >= 1, 40, fleet.daemons)
        time.sleep(12)
    finally:
        codes = fleet.stop()
    logs = "".join(d.text() for d in fleet.daemons)
    assert codes == [0, 0] and "Traceback" not in logs and "locked" not in logs
    [alert] = smtp.inbox.messages
    assert shared.headline in str(alert["Subject"])
    assert len(site.at("/artikel/gemeinsam")) == 1
    assert all(d.polls() > 0 for d in fleet.daemons)
    for name in names:
        assert shortest_gap(site.at(f"/{name}.xml")) >= 3 - 0.3, name
