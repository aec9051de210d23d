"""Links from messages into the review desk: every alert and digest entry carries "Ansehen"
and a signed "Nicht relevant" link, and so does a webhook's story. Followed from the mail the
local SMTP server received, in a real Chromium against ``news-monitor web``: the GET alone
changes nothing, the confirmation records the verdict, and the story leaves the next digest
(``test_mail_links_browser.py``). Backfilled stories come in the digest under their own heading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.links import read_verdict_link
from monitor.web.passwords import hash_password
from tests.conftest import NewsSite, SmtpServer, free_port, write_config
from tests.receivers import Receiver
from tests.test_delivery_e2e import _state_here, cli, load, poll, publish  # noqa: F401

SECRET = "ein-langes-geheimnis-fuer-die-links"
PASSWORD = "lange-genug-2026"


def desk_config(tmp_path: Path, site: NewsSite, smtp: SmtpServer, port: int,
                extra: str = "") -> Path:
    (tmp_path / "web-secret").write_text(SECRET, encoding="utf-8")
    web = (f'[web]\nlisten = "127.0.0.1:{port}"\nbase_url = "http://127.0.0.1:{port}"\n'
           f'secret_file = "web-secret"\n[[web.users]]\nname = "anna"\n'
           f'password_hash = "{hash_password(PASSWORD)}"\n')
    return write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}],
                        smtp_port=smtp.port, extra=web + extra)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def plain(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")



def test_alert_digest_and_webhook_carry_the_desk_links(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    port = free_port()
    (tmp_path / "hook-secret").write_text("hook", encoding="utf-8")
    path = desk_config(tmp_path, site, smtp, port, extra=f'''
[[routes]]
name = "desk"
to = ["desk@example.org"]

[[routes]]
name = "hook"
channel = "webhook"
url = "{receiver.url('/hook')}"
secret_file = "hook-secret"
''')
    assert poll(load(path)).sent == 2
    [alert] = smtp.inbox.messages
    text = plain(alert)
    base = f"http://127.0.0.1:{port}"
    view = re.search(r"^Ansehen: (\S+)$", text, re.MULTILINE)
    dismiss = re.search(r"^Nicht relevant: (\S+)$", text, re.MULTILINE)
    assert view and dismiss, text
    assert re.fullmatch(re.escape(base) + r"/stories/\d+", view.group(1))
    html = str(alert.get_body(("html",)).get_content())
    assert f'href="{view.group(1)}">Ansehen</a>' in html
    story = receiver.on("/hook")[0].json()["story"]
    assert story["review_url"] == view.group(1)
    assert story["not_relevant_url"].startswith(base + "/v/")
    article_id = int(view.group(1).rsplit("/", 1)[1])
    token = dismiss.group(1).rsplit("/", 1)[1]
    asked = read_verdict_link(SECRET, token, alert_time(alert))
    assert (asked.article_id, asked.topic) == (article_id, "alibaba-russland")  # type: ignore[union-attr]

    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0, out
    digest = plain(smtp.inbox.messages[-1])
    assert f"Ansehen: {view.group(1)}" in digest and "Nicht relevant: " + base in digest


def alert_time(message: Any) -> Any:
    return message["Date"].datetime


def test_backfilled_stories_come_under_their_own_heading(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}],
                        smtp_port=smtp.port, extra='''
[[topics]]
name = "wasserstoff"
query = "Wasserstoff"
enabled = false
''')
    poll(load(path))
    config = path.read_text(encoding="utf-8").replace("enabled = false", "enabled = true")
    path.write_text(config, encoding="utf-8")
    code, out = cli(capsys, path, "backfill", "--topic", "wasserstoff")
    assert code == 0, out
    assert poll(load(path)).sent == 0                        # backfill never alerts
    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0, out
    digest = plain(smtp.inbox.messages[-1])
    heading = digest.index("Nachträglich gefunden (1")
    assert "Mittelständler setzen auf Wasserstoff" in digest[heading:]
    assert "1 nachträglich gefunden" in digest
