"""A new user's first hour with the commands, through the real command line.

Quiet commands, one line when every feed fails the same way (in ``poll`` and in the
service's log) and short German words for it in the digest, exit 2 for a name that is not
configured, times with their zone, ``topics`` and ``recheck`` against a local news site and
mail server. A machine without DNS is simulated with ``tests/nodns`` (lookups fail in the
process; nothing but 127.0.0.1 is reached).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, NewsSite, SmtpServer, run_cli, write_config
from tests.newsroom import LAYOFFS, LAYOFFS_WITH_JV, OTHER, Item, page, rss

NO_DNS = {"PYTHONPATH": str(ROOT / "tests" / "nodns")}
UNRESOLVABLE = [{"name": "Tagesblatt", "url": "https://tagesblatt.example/rss"},
                {"name": "Abendpost", "url": "https://abendpost.example/feed"},
                {"name": "Börsenbrief", "url": "https://boersenbrief.example/atom"}]
INFO_LINE = re.compile(r"^\S+ INFO ", re.MULTILINE)


def publish(site: NewsSite) -> str:
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/a2", page(OTHER), "text/html; charset=utf-8")
    return site.put("/feed.xml", rss(base, "Kurier", [
        Item(LAYOFFS.headline, "/a1", "Das Gemeinschaftsunternehmen baut Personal ab.",
             guid="k-1"),
        Item(OTHER.headline, "/a2", "Anleger erleichtert.", guid="k-2")]))


def test_commands_other_than_run_log_warnings_only(site: NewsSite, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)}])
    for command in (["check-config"], ["feeds"], ["poll"], ["topics"]):
        result = run_cli(*command, config=config)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", (command, result.stderr)
    loud = run_cli("--log-level", "INFO", "check-config", config=config)
    assert INFO_LINE.search(loud.stderr) and "lemma_data_loading" in loud.stderr


def test_every_feed_failing_on_dns_is_one_line_and_german_in_the_digest(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, UNRESOLVABLE)
    result = run_cli("poll", config=config, env=NO_DNS)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("FAILED        every one of the 3 feeds: no host name could be "
                        "resolved (DNS): check this machine's network connection and its "
                        "name server (/etc/resolv.conf), or set [fetch] proxy if the "
                        "network needs one")
    assert lines[1].startswith("3 feeds: 0 ok, 0 not modified, 3 failed;")
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1, result.stderr
    assert "WARNING monitor.pipeline.feed: poll status=error feeds=3 cause=dns" in warnings[0]
    table = run_cli("feeds", config=config, env=NO_DNS)
    assert table.stdout.count("[Errno -2] Name or service not known") == 3   # the detail
    digest = run_cli("digest", "--text", config=config, env=NO_DNS)
    assert digest.returncode == 0, digest.stderr
    assert "Tagesblatt: Name nicht auflösbar (DNS) (1 Fehler in Folge" in digest.stdout
    assert "Errno" not in digest.stdout and "resolve" not in digest.stdout


def test_one_failing_feed_among_working_ones_keeps_its_own_line(site: NewsSite,
                                                               tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)},
                                     *UNRESOLVABLE[:1]])
    result = run_cli("poll", config=config, env=NO_DNS)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "Tagesblatt" in failed[0] and "cannot resolve host" in failed[0]
    assert "poll feed='Tagesblatt' status=error kind=transport" in result.stderr
    assert "every one of" not in result.stdout + result.stderr


def test_service_logs_one_line_when_no_feed_resolves_and_its_findings(tmp_path: Path) -> None:
    feeds = [{**feed, "interval": "2s"} for feed in UNRESOLVABLE]
    config = write_config(tmp_path, feeds)
    text = config.read_text(encoding="utf-8").replace("analyst@example.org", "analyst@localhost")
    config.write_text(text, encoding="utf-8")                 # the starter's placeholder
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEWS_MONITOR", "NOTIFY_SOCKET", "WATCHDOG"))}
    daemon = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                              cwd=tmp_path, env={**env, **NO_DNS}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        assert daemon.stdout is not None
        for line in daemon.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("cause=dns" in line for line in lines):
            time.sleep(0.2)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        reader.join(timeout=5)
    output = "".join(lines)
    assert "service status=ready" in output, output
    assert ("WARNING monitor.commands.service: config status=warning key=email.to problem="
            "\"'analyst@localhost' is the starter file's placeholder") in output
    cycles = re.findall(r"WARNING monitor.pipeline.feed: poll status=error feeds=(\d) "
                        r"cause=dns hint=.every feed failed: no host name could be resolved",
                        output)
    assert cycles and cycles[0] == "3", output
    assert "poll feed=" not in output                       # no line per feed


@pytest.mark.parametrize("command", [
    ["deltas", "--topic", "nope"],
    ["explain", "--topic", "nope", "--file", "seite.html"],
    ["explain", "--topic", "nope", "--stored"],
    ["poll", "--feed", "nope"],
])
def test_unknown_names_exit_2_with_a_message(tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": "https://kurier.example/f"}])
    result = run_cli(*command, config=config)
    assert result.returncode == 2, result.stdout + result.stderr
    kind = "topic" if "--topic" in command else "feed"
    configured = "'alibaba-russland'" if kind == "topic" else "'Kurier'"
    assert result.stderr.strip() == f"error: unknown {kind} 'nope'; configured: {configured}"


def test_a_disabled_feed_or_topic_is_named_as_disabled(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": "https://kurier.example/f",
                                      "enabled": False}])
    result = run_cli("poll", "--feed", "Kurier", config=config)
    assert result.returncode == 2
    assert "error: feed 'Kurier' is disabled (enabled = false in the config)" in result.stderr


def test_times_carry_their_zone_the_digest_zone_by_default(site: NewsSite, tmp_path: Path,
                                                          smtp: SmtpServer) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)}],
                          smtp_port=smtp.port, extra='[digest]\ntimezone = "Asia/Tokyo"\n')
    assert run_cli("poll", config=config).returncode == 0
    deltas = run_cli("deltas", config=config).stdout
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d JST  new", deltas, re.MULTILINE), deltas
    assert re.search(r"events since \d{4}-\d\d-\d\d \d\d:\d\d JST$", deltas, re.MULTILINE)
    in_utc = run_cli("--timezone", "UTC", "deltas", config=config).stdout
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC  new", in_utc, re.MULTILINE), in_utc
    table = run_cli("feeds", config=config).stdout
    assert table.count(" JST") == 2, table                  # last success and next poll
    outbox = run_cli("outbox", config=config).stdout
    assert re.search(r"^sent     \d{4}-\d\d-\d\d \d\d:\d\d JST ", outbox, re.MULTILINE), outbox
    bad = run_cli("--timezone", "Mars/Olympus", "deltas", config=config)
    assert bad.returncode == 2 and "unknown time zone: 'Mars/Olympus'" in bad.stderr


def test_topics_lists_query_recent_matches_and_the_last_match(site: NewsSite,
                                                             tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)}],
                          extra='[[topics]]\nname = "dax"\nquery = "dax"\nenabled = false\n')
    before = run_cli("topics", config=config).stdout
    assert "    last 7 days: 0 stories matched\n    last match:  never" in before
    assert run_cli("poll", config=config).returncode == 0
    listing = run_cli("topics", config=config).stdout
    first, second = listing.split("dax  (disabled)")
    assert first.startswith("alibaba-russland\n    query:       (@alibaba NEAR/15 @russland) OR")
    assert "    last 7 days: 1 story matched\n" in first
    assert re.search(r"    last match:  \d{4}-\d\d-\d\d \d\d:\d\d CES?T  "
                     + re.escape(LAYOFFS.headline), first), first
    assert site.url("/a1") in first
    assert "    query:       dax\n    last 7 days: 0 stories matched" in second


def test_recheck_fetches_a_story_now_and_alerts_on_the_edit(site: NewsSite, tmp_path: Path,
                                                           smtp: SmtpServer) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)}],
                          smtp_port=smtp.port)
    assert run_cli("poll", config=config).returncode == 0
    assert len(smtp.inbox.messages) == 1
    story = re.search(r"#(\d+)$", run_cli("deltas", config=config).stdout, re.MULTILINE)
    assert story is not None
    unchanged = run_cli("recheck", "--story", story.group(1), config=config)
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.startswith(f"not modified  {LAYOFFS.headline} <")
    site.put("/a1", page(LAYOFFS_WITH_JV), "text/html; charset=utf-8")   # the publisher edits
    edited = run_cli("recheck", "--url", site.url("/a1"), config=config)
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout.startswith("updated       ")
    assert "1 new event(s) for alibaba-russland" in edited.stdout
    assert "1 story re-checked: 1 updated" in edited.stdout
    assert "mail: 1 delivered" in edited.stdout
    assert len(smtp.inbox.messages) == 2
    assert str(smtp.inbox.messages[1]["Subject"]).startswith("[alibaba-russland] Aktualisiert:")
    again = run_cli("recheck", "--all-recent", config=config)
    assert again.returncode == 0 and "1 story re-checked" in again.stdout
    missing = run_cli("recheck", "--story", "999", config=config)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no story #999: `news-monitor deltas --since 30d`")


def test_recheck_keeps_its_stories_leased_while_it_works(site: NewsSite, tmp_path: Path) -> None:
    """A recheck that takes longer than a lease renews it, so no daemon takes the story
    over meanwhile; once done, the story is free again."""
    import sqlite3
    from datetime import UTC, datetime

    config = write_config(tmp_path, [{"name": "Kurier", "url": publish(site)}])
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[storage]\n", '[storage]\nlease = "2s"\nlease_renewal = "0.5s"\n', 1).replace(
        'timeout = "5s"\ndeadline = "10s"', 'timeout = "20s"\ndeadline = "40s"'),
        encoding="utf-8")
    assert run_cli("poll", config=config).returncode == 0
    site.delays["/a1"] = 4.0                       # the page answers after two leases
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    recheck = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                                "recheck", "--all-recent"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = sqlite3.connect(tmp_path / "state" / "monitor.db", timeout=10)
    held: list[tuple[datetime, datetime]] = []
    while recheck.poll() is None:
        for owner, until in db.execute("SELECT lease_owner, lease_until FROM articles "
                                       "WHERE next_check_at IS NOT NULL"):
            if owner is not None:
                lease_end = datetime.fromisoformat(until).replace(tzinfo=UTC)
                held.append((datetime.now(UTC), lease_end))
        time.sleep(0.1)
    out, err = recheck.communicate()
    assert recheck.returncode == 0, err
    assert "1 story re-checked" in out
    assert held and (held[-1][0] - held[0][0]).total_seconds() >= 3, held
    assert all(end > seen for seen, end in held), held     # never expired while in work
    assert db.execute("SELECT count(*) FROM articles WHERE lease_owner IS NOT NULL"
                      ).fetchone() == (0,)
