"""Routes end to end: two topics and three routes (email to aiosmtpd, a signed webhook and an
Apprise json:// target on a local HTTP receiver); each receiver gets exactly its topics'
events, a receiver that is down gets its message once when it is back, also after the
sending process was killed, and ``test-notify`` explains each channel."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import open_store
from tests.conftest import NewsSite, SmtpServer, write_config
from tests.receivers import Receiver
from tests.test_delivery_e2e import _state_here, cli, load, poll, publish  # noqa: F401

SECRET = "geheim-und-lang-genug"
SECOND_TOPIC = '''
[[topics]]
name = "wasserstoff"
query = "Wasserstoff"
'''


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def routes_toml(tmp_path: Path, receiver: Receiver, *, chat: str = "") -> str:
    (tmp_path / "webhook-secret").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "apprise-url").write_text(
        chat or f"json://127.0.0.1:{receiver.port}/chat", encoding="utf-8")
    return f'''
[[routes]]
name = "desk-russland"
channel = "email"
to = ["desk@example.org"]
topics = ["alibaba-russland"]

[[routes]]
name = "integration"
channel = "webhook"
url = "{receiver.url('/hook')}"
secret_file = "webhook-secret"
topics = ["wasserstoff"]
timeout = "3s"

[[routes]]
name = "chat"
channel = "apprise"
url_file = "apprise-url"
events = ["new", "updated"]
'''


def config_with_routes(tmp_path: Path, site: NewsSite, smtp: SmtpServer, receiver: Receiver,
                       *, chat: str = "") -> Path:
    return write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}],
                        smtp_port=smtp.port,
                        extra=SECOND_TOPIC + routes_toml(tmp_path, receiver, chat=chat))


def test_each_route_gets_exactly_its_topics_events(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_with_routes(tmp_path, site, smtp, receiver)
    report = poll(load(path))
    assert (report.sent, report.failed, report.dead) == (4, 0, 0)

    [mail] = smtp.inbox.messages                             # email: the Alibaba story only
    assert smtp.inbox.envelopes[0][1] == ["desk@example.org"]
    assert "AliExpress Russland streicht" in mail["Subject"]

    [hook] = receiver.on("/hook")                            # webhook: the hydrogen story only
    document = hook.json()
    assert hook.signed_with(SECRET) and not hook.signed_with("falsch")
    assert hook.headers["x-news-monitor-event"] == "new" == document["event"]
    assert document["schema"] == 1 and document["topic"] == "wasserstoff"
    assert document["story"]["title"] == "Mittelständler setzen auf Wasserstoff in der Produktion"
    assert document["story"]["url"] == site.url("/artikel/wasserstoff")
    assert document["story"]["outlet"] == "Wirtschaftskurier"
    assert document["story"]["explanation"] and document["story"]["relevance"] in (
        "stark", "mittel", "schwach")
    assert hook.headers["x-news-monitor-delivery"] == document["id"]

    chat = sorted(r.json()["title"] for r in receiver.on("/chat"))   # Apprise: both topics
    assert chat == ["Neu: AliExpress Russland streicht bis zu 40 Prozent der Stellen",
                    "Neu: Mittelständler setzen auf Wasserstoff in der Produktion"]
    assert all("Wirtschaftskurier" in r.json()["message"] for r in receiver.on("/chat"))

    code, out = cli(capsys, path, "check-config")
    assert code == 0, out
    assert ("route:    desk-russland (email) alibaba-russland; new, updated, digest; immediate "
            "-> desk@example.org") in out
    assert f"route:    integration (webhook) wasserstoff; new, updated, digest; immediate -> " \
           f"http://127.0.0.1:{receiver.port}/hook" in out
    assert "route:    chat (apprise) all topics; new, updated; immediate -> Apprise json://" in out
    assert SECRET not in out

    code, out = cli(capsys, path, "outbox")
    assert code == 0
    assert "route desk-russland (email): 0 pending, 1 sent, 0 dead" in out
    assert "route integration (webhook): 0 pending, 1 sent, 0 dead" in out
    assert "route chat (apprise): 0 pending, 2 sent, 0 dead" in out


def test_the_digest_goes_per_route_and_covers_that_routes_topics(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_with_routes(tmp_path, site, smtp, receiver)
    poll(load(path))
    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0, out
    assert "route desk-russland: digest" in out and "route integration: digest" in out
    assert "route chat" not in out                           # its events leave out "digest"
    digest_mail = smtp.inbox.messages[-1]
    assert "Tagesübersicht" in digest_mail["Subject"]
    text = digest_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "AliExpress Russland streicht" in text and "Wasserstoff" not in text
    digest = receiver.on("/hook")[-1]
    assert digest.headers["x-news-monitor-event"] == "digest" and digest.signed_with(SECRET)
    topics = digest.json()["topics"]
    assert [t["topic"] for t in topics] == ["wasserstoff"]
    assert [s["title"] for s in topics[0]["new"]] == [
        "Mittelständler setzen auf Wasserstoff in der Produktion"]


def test_a_receiver_that_is_down_gets_its_message_once_when_it_is_back(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path) -> None:
    publish(site)
    path = config_with_routes(tmp_path, site, smtp, receiver)
    receiver.answer("/hook", (503, "Wartung"))
    receiver.answer("/chat", (503, "Wartung"))              # one of the two chat messages
    first = poll(load(path))
    assert first.failed == 2 and first.sent == 2
    assert any("/hook: HTTP 503: Wartung" in e for e in first.errors), first.errors
    assert any("Apprise json://127.0.0.1: " in e and "503" in e for e in first.errors)
    second = poll(load(path))                                 # receivers back: everything once
    assert (second.sent, second.failed, second.dead) == (2, 0, 0)
    assert poll(load(path)).sent == 0
    hooks = receiver.on("/hook")
    assert len(hooks) == 2 and hooks[0].body == hooks[1].body    # the same bytes, resent
    assert len({r.headers["x-news-monitor-delivery"] for r in hooks}) == 1
    assert len({r.json()["title"] for r in receiver.on("/chat")}) == 2


def test_a_refusing_webhook_is_dead_with_its_answer_and_the_others_go_out(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_with_routes(tmp_path, site, smtp, receiver)
    receiver.answer("/hook", (400, "Schema unbekannt\nZeile zwei"))
    report = poll(load(path))
    assert (report.sent, report.dead) == (3, 1)
    code, out = cli(capsys, path, "outbox", "--route", "integration")
    assert code == 0
    assert "last error: webhook http://127.0.0.1:" in out
    assert "/hook: HTTP 400: Schema unbekannt" in out and "Zeile zwei" not in out


@pytest.mark.parametrize("path", ["/hook", "/chat"], ids=["webhook", "apprise"])
def test_process_killed_while_sending_delivers_after_restart(
        path: str, site: NewsSite, smtp: SmtpServer, receiver: Receiver,
        tmp_path: Path) -> None:
    publish(site)
    config = config_with_routes(tmp_path, site, smtp, receiver)
    receiver.hang.set()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                                "poll"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (not receiver.on(path) and time.monotonic() < deadline
               and process.poll() is None):
            time.sleep(0.05)
        assert len(receiver.on(path)) == 1          # queued, committed, and being sent
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    receiver.hang.clear()
    receiver.released.set()
    unanswered = receiver.on(path)[0].body
    later = poll(load(config))                      # the dead process's lease is freed
    assert later.failed == 0 and later.dead == 0
    bodies = [r.body for r in receiver.on(path)]
    assert bodies.count(unanswered) == 2            # the unacknowledged one, once more
    assert len(bodies) == len(set(bodies)) + 1      # and nothing else twice
    assert poll(load(config)).sent == 0


def test_two_installations_give_the_same_story_different_message_ids(
        site: NewsSite, tmp_path: Path) -> None:
    publish(site)
    ids = []
    for name in ("eins", "zwei"):
        folder = tmp_path / name
        folder.mkdir()
        path = write_config(folder, [{"name": "Wirtschaftskurier",
                                      "url": site.url("/feed.xml")}])
        config = load(path)
        assert poll(config).sent == 1
        [raw] = [bytes(m) for m in mailbox.Maildir(config.state_dir / "mail").values()]
        ids.append(message_from_bytes(raw, policy=policy.default)["Message-ID"])
        store = open_store(config.storage.url)
        try:
            assert ids[-1].endswith(f".{store.installation_id()}@example.org>")
        finally:
            store.close()
    assert ids[0] != ids[1] and all(i.startswith("<alert.") for i in ids)


def test_test_notify_sends_through_each_channel_and_explains_a_failure(
        site: NewsSite, smtp: SmtpServer, receiver: Receiver, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = config_with_routes(tmp_path, site, smtp, receiver,
                              chat=f"ntfy://127.0.0.1:{receiver.port}/nachrichten")
    code, out = cli(capsys, path, "test-notify", "--route", "integration")
    assert code == 0 and "sent a test message through route integration (webhook)" in out, out
    [hook] = receiver.on("/hook")
    assert hook.json()["event"] == "test" and hook.signed_with(SECRET)

    code, out = cli(capsys, path, "test-notify", "--route", "chat")
    assert code == 0 and "route chat (apprise) to Apprise ntfy://127.0.0.1" in out, out
    [ntfy] = [r for r in receiver.requests if r.path != "/hook"]
    assert b"news-monitor" in ntfy.body and b"Testnachricht" in ntfy.body

    code, out = cli(capsys, path, "test-notify", "--route", "desk-russland")
    assert code == 0 and "sent to desk@example.org" in out, out
    assert smtp.inbox.envelopes[-1][1] == ["desk@example.org"]

    receiver.stop()
    code, out = cli(capsys, path, "test-notify", "--route", "integration")
    assert code == 1 and "FAILED: route integration (webhook)" in out
    assert "cannot connect" in out, out
    assert cli(capsys, path, "test-notify", "--route", "nirgends")[0] == 2


def test_route_mistakes_are_config_errors_with_their_key_paths(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, [{"name": "Wirtschaftskurier",
                                    "url": "http://127.0.0.1:9/feed.xml"}], extra='''
[[routes]]
name = "desk"
channel = "email"
topics = ["alibaba-russland", "gibtsnicht"]

[[routes]]
name = "hook"
channel = "webhook"
secret = "im-klartext"

[[routes]]
name = "matrix"
channel = "apprise"
url = "matrixs://token@example.org/!raum"
''')
    code = main(["--config", str(path), "check-config"])
    assert code == 2
    captured = capsys.readouterr()
    err = captured.err + captured.out
    for line in ('routes[0] ("desk").to: an email route needs recipients',
                 "routes[0] (\"desk\").topics: unknown topic 'gibtsnicht'",
                 'routes[1] ("hook").secret: secrets never live in the config file',
                 'routes[1] ("hook").url: a webhook route needs the address to POST to',
                 'routes[2] ("matrix").url: an Apprise URL holds tokens'):
        assert line in err, err
    assert "im-klartext" not in err and "token@" not in err
