"""Learning from verdicts end to end: a story the query rightly catches but the desk does not
want (consumer advice on ordering from AliExpress in Russia) alerts; it is marked not
relevant through the desk's JSON API (``news-monitor web``); a different story of the same
kind, written differently and polled later, does not alert and is listed in the digest under
"Wahrscheinlich nicht relevant" with the rejected story named; a story on the joint venture
polled after it still alerts. ``topics suggest`` proposes query changes from the verdicts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor.store import open_store
from tests.conftest import NewsSite, SmtpServer, free_port, write_config
from tests.newsroom import Item, Story, page, rss
from tests.test_delivery_e2e import _state_here, cli, load, poll  # noqa: F401
from tests.test_mail_links import plain
from tests.test_web_config import _wait_for

HTML = "text/html; charset=utf-8"
TOKEN = "token-fuer-die-integration-2026"

ADVICE = Story(
    headline="Bestellen bei AliExpress: Was Kunden in Russland jetzt beachten müssen",
    paragraphs=[
        "Wer in Russland bei AliExpress bestellt, muss sich auf längere Lieferzeiten "
        "einstellen. Pakete aus China brauchen derzeit oft drei bis fünf Wochen, berichten "
        "Verbraucherschützer in Moskau.",
        "Bezahlt wird inzwischen meist mit der russischen Karte Mir oder über das "
        "Guthaben im Kundenkonto. Kreditkarten westlicher Anbieter funktionieren nicht mehr.",
        "Verbraucherschützer raten, die Bewertungen der Händler zu lesen, Fotos der Ware "
        "anzufordern und die Frist für Reklamationen im Kalender zu notieren. Rücksendungen "
        "seien umständlich, aber möglich.",
        "Auch der Zoll spielt eine Rolle: Ab einem Warenwert von 200 Euro fallen in Russland "
        "Abgaben an, die der Kunde bei der Zustellung bezahlt.",
    ])

ADVICE_AGAIN = Story(
    headline="Ratgeber: So klappt die Rücksendung bei AliExpress in Russland",
    paragraphs=[
        "Die Ware passt nicht, das Paket kam beschädigt an: Käufer in Russland, die bei "
        "AliExpress bestellt haben, können reklamieren. Verbraucherschützer erklären, wie "
        "die Rücksendung gelingt.",
        "Zuerst sollten Kunden im Kundenkonto einen Streitfall eröffnen und Fotos der Ware "
        "hochladen. Der Händler hat dann einige Tage Zeit zu antworten.",
        "Die Lieferzeiten aus China sind lang, die Bezahlung läuft über die Karte Mir oder "
        "das Guthaben. Bei Warenwerten über 200 Euro verlangt der Zoll in Russland Abgaben.",
        "Wer die Frist für Reklamationen verpasst, hat kaum Chancen. Bewertungen der Händler "
        "zu lesen, hilft, Ärger zu vermeiden.",
    ])

VENTURE = Story(
    headline="Gemeinschaftsunternehmen AliExpress Russland: Alibaba verringert seinen Anteil",
    paragraphs=[
        "Alibaba zieht sich weiter aus dem gemeinsamen Geschäft in Russland zurück. Der "
        "chinesische Konzern verringert seinen Anteil am Gemeinschaftsunternehmen AliExpress "
        "Russland, an dem auch MegaFon, VK und der Staatsfonds RDIF beteiligt sind.",
        "Die russischen Partner übernehmen die Anteile, berichten mit den Plänen vertraute "
        "Personen in Moskau. Über den Preis wurde nichts bekannt.",
        "Das Joint Venture war 2019 gegründet worden. Nach den westlichen Sanktionen gegen "
        "Russland hatte Alibaba das Engagement bereits zurückgefahren.",
    ])


def publish(site: NewsSite, stories: list[tuple[str, Story]]) -> None:
    items = []
    for slug, story in stories:
        site.put(f"/artikel/{slug}", page(story), HTML)
        items.append(Item(story.headline, f"/artikel/{slug}", story.paragraphs[0][:120],
                          guid=f"wk-{slug}"))
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier", items))


def config_file(tmp_path: Path, site: NewsSite, smtp: SmtpServer, port: int) -> Path:
    (tmp_path / "api-token").write_text(TOKEN, encoding="utf-8")
    return write_config(
        tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}],
        smtp_port=smtp.port,
        extra=f'[web]\nlisten = "127.0.0.1:{port}"\nbase_url = "http://127.0.0.1:{port}"\n'
              f'[[web.tokens]]\nname = "integration"\ntoken_file = "api-token"\n')


def reject_through_the_api(path: Path, port: int, article_id: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env["STATE_DIRECTORY"] = str(path.parent / "state")
    desk = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "web"],
                            cwd=path.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        answer = httpx.post(f"http://127.0.0.1:{port}/api/stories/{article_id}/verdict",
                            json={"topic": "alibaba-russland", "verdict": "not_relevant"},
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        desk.send_signal(signal.SIGTERM)
        desk.communicate(timeout=20)


def test_a_story_like_a_rejected_one_is_held_back_and_listed_with_the_reason(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    path = config_file(tmp_path, site, smtp, port)
    publish(site, [("ratgeber-bestellen", ADVICE)])
    code, out = cli(capsys, path, "poll")
    assert "mail: 1 delivered" in out, out                      # the query rightly catches it
    [advice] = smtp.inbox.messages
    view = re.search(r"^Ansehen: \S+/stories/(\d+)$", plain(advice), re.MULTILINE)
    assert view, plain(advice)
    reject_through_the_api(path, port, int(view.group(1)))

    publish(site, [("ratgeber-bestellen", ADVICE), ("ratgeber-ruecksendung", ADVICE_AGAIN)])
    assert poll(load(path)).sent == 0                          # held back: no alert
    publish(site, [("ratgeber-bestellen", ADVICE), ("ratgeber-ruecksendung", ADVICE_AGAIN),
                   ("joint-venture", VENTURE)])
    assert poll(load(path)).sent == 1                          # the joint venture still alerts
    assert "Gemeinschaftsunternehmen AliExpress Russland" in smtp.inbox.messages[-1]["Subject"]

    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0, out
    digest = plain(smtp.inbox.messages[-1])
    held = digest.index("Wahrscheinlich nicht relevant")
    listed = digest[held:]
    assert ADVICE_AGAIN.headline in listed
    assert f"ähnlich wie „{ADVICE.headline}“" in listed.replace("\n   ", " ")
    assert ADVICE.headline not in digest[:held]                # marked not relevant: gone
    assert VENTURE.headline in digest[:held]

    store = open_store(load(path).storage.url)
    try:                                     # the desk goes on judging: one more each way
        ids = {d.title: d.article_id for d in store.events(topic="alibaba-russland")}
        for title, verdict in ((ADVICE_AGAIN.headline, "not_relevant"),
                               (VENTURE.headline, "relevant")):
            store.record_verdict(ids[title], "alibaba-russland", verdict, user="anna",  # type: ignore[arg-type]
                                 at=datetime.now(UTC))
    finally:
        store.close()
    code, out = cli(capsys, path, "topics", "suggest", "--topic", "alibaba-russland")
    assert code == 0, out
    assert "alibaba-russland: 1 relevant, 2 not relevant" in out
    assert re.search(r"NOT bestellt +would have been right for 2 verdicts, wrong for 0", out)
    assert "NOT gemeinschaftsunternehmen" not in out and "NOT anteil" not in out
