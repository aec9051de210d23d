"""The crash laboratory: stories that appear over time, a real daemon to start and SIGKILL,
and what the store holds afterwards.

``Newsdesk`` writes German fixture stories (relevant ones about AliExpress Russia and its
partners, and unrelated ones) onto the local news site, two feeds with stable dates.
``Daemon`` runs ``python -m monitor --config X run`` as a subprocess, waits for its
``status=ready`` log line, kills it with SIGKILL or stops it with SIGTERM. The restarted
daemon frees the leases its killed predecessor held (``Store.release_stale_leases``).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import NewsSite
from tests.newsroom import Item, Story, page, rss

EVENTS = (
    ("AliExpress Russland kündigt weiteren Stellenabbau an",
     "AliExpress Russland will erneut Personal abbauen, weil die Sanktionen gegen Russland "
     "den Warenfluss aus China bremsen."),
    ("Alibaba prüft Verkauf seiner Anteile an AliExpress Russia",
     "Der chinesische Konzern Alibaba lotet nach Angaben aus Moskau einen Ausstieg aus dem "
     "russischen Gemeinschaftsunternehmen aus."),
    ("Börsengang von AliExpress Russia erneut verschoben",
     "Den Börsengang des Joint Ventures von Alibaba in Russland haben die Partner abermals "
     "verschoben, die Bewertung gilt als unsicher."),
    ("MegaFon reduziert Beteiligung am Alibaba-Joint-Venture",
     "Der Mobilfunker MegaFon gibt einen Teil seiner Anteile am Gemeinschaftsunternehmen mit "
     "Alibaba ab, das russische Geschäft bleibt schwierig."),
    ("RDIF stockt bei AliExpress Russland auf",
     "Der staatliche Fonds RDIF erhöht seinen Anteil an AliExpress Russland, Alibaba bleibt "
     "größter Einzelaktionär."),
    ("Zahlungsprobleme belasten AliExpress in Russland",
     "Seit Visa und Mastercard Russland verlassen haben, kämpft AliExpress mit abgebrochenen "
     "Zahlungen russischer Kunden."),
    ("VK trennt sich von Anteilen an AliExpress Russia",
     "Die Internetgruppe VK, früher Mail.ru, verkauft ihre Beteiligung am Joint Venture mit "
     "Alibaba an einen russischen Investor."),
    ("AliExpress Russland eröffnet neues Logistikzentrum",
     "Trotz der Sanktionen baut AliExpress sein Lagernetz in Russland aus, die Alibaba-Tochter "
     "setzt auf kürzere Lieferzeiten."),
    ("Rubelschwäche drückt Umsatz von AliExpress Russia",
     "Der schwache Rubel verteuert Bestellungen bei AliExpress in Russland, Alibaba meldet "
     "sinkende Umsätze im Gemeinschaftsunternehmen."),
    ("Neuer Chef für AliExpress Russland",
     "AliExpress Russland bekommt einen neuen Vorstandschef, Alibaba und die russischen "
     "Partner einigten sich auf einen Manager aus Moskau."),
)
PLACES = ("Moskau", "Sankt Petersburg", "Kasan", "Nowosibirsk", "Jekaterinburg", "Samara",
          "Krasnodar", "Rostow", "Kaliningrad", "Wladiwostok", "Tscheljabinsk", "Omsk")
FILLER_SUBJECTS = ("Händler aus der Region", "Branchenkenner", "Analysten einer Großbank",
                   "Vertreter der Logistikbranche", "Mitarbeiter des Standorts",
                   "Sprecher des Unternehmens", "Verbraucherschützer", "Zollbeamte")
FILLER_VERBS = ("berichten von", "rechnen mit", "warnen vor", "bestätigen", "erwarten",
                "beklagen", "sprechen von", "verweisen auf")
FILLER_OBJECTS = ("längeren Lieferzeiten im Winter", "steigenden Kosten für Lagerflächen",
                  "einer Neuordnung der Vertriebswege", "sinkenden Margen im Elektronikgeschäft",
                  "Engpässen bei Verpackungsmaterial", "neuen Vorgaben der Zollbehörde",
                  "höheren Gebühren für Händler", "Verzögerungen bei Rückerstattungen",
                  "einem harten Preiskampf mit Ozon und Wildberries",
                  "Problemen bei grenzüberschreitenden Überweisungen")
UNRELATED = (
    ("Mittelständler setzen auf Wasserstoff", "Immer mehr Industriebetriebe in "
     "Baden-Württemberg stellen ihre Öfen auf Wasserstoff um."),
    ("Dax schließt nach Zinsentscheid fester", "Der deutsche Leitindex hat den Handelstag "
     "mit Gewinnen beendet, Anleger reagierten erleichtert."),
    ("Bahn investiert in Güterterminals", "Die Deutsche Bahn will bis 2030 mehrere "
     "Güterterminals im Osten des Landes modernisieren."),
)


def story(number: int, relevant: bool, rng: random.Random) -> Story:
    """Story ``number``: an event with its own place and figures, and its own filler."""
    if relevant:
        headline, lead = EVENTS[number % len(EVENTS)]
    else:
        headline, lead = UNRELATED[number % len(UNRELATED)]
    place = PLACES[(number // len(EVENTS)) % len(PLACES)]
    filler = [f"{rng.choice(FILLER_SUBJECTS)} in {place} {rng.choice(FILLER_VERBS)} "
              f"{rng.choice(FILLER_OBJECTS)}." for _ in range(4)]
    detail = (f"Meldung {number}: In {place} sind nach Firmenangaben {rng.randint(40, 900)} "
              f"Beschäftigte betroffen, der Umsatz sank um {rng.randint(3, 45)} Prozent.")
    return Story(f"{headline} ({place}, Nr. {number})", [lead, *filler, detail])


@dataclass
class Newsdesk:
    """Publishes stories one by one on two feeds of the local site, dates kept stable."""

    site: NewsSite
    rng: random.Random
    published: list[tuple[int, bool, datetime, str]] = field(default_factory=list)
    feeds: tuple[str, str] = ("/wirtschaftskurier.xml", "/boersenblatt.xml")

    def publish(self, relevant: bool = True) -> None:
        number = len(self.published)
        item = story(number, relevant, self.rng)
        self.site.put(f"/artikel/{number}", page(item), "text/html; charset=utf-8")
        self.published.append((number, relevant, datetime.now(UTC), item.headline))
        self.render()

    def render(self) -> None:
        base, now = self.site.url("").rstrip("/"), datetime.now(UTC)
        for index, path in enumerate(self.feeds):
            items = [Item(title, f"/artikel/{n}", title, guid=f"story-{n}", age=now - when)
                     for n, _, when, title in self.published if n % 2 == index]
            self.site.put(path, rss(base, f"Feed {index}", items, now=now))

    @property
    def relevant(self) -> set[int]:
        return {n for n, relevant, _, _ in self.published if relevant}


class Daemon:
    """``news-monitor run`` as systemd would run it, with its log in a file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.readies = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NEWS_MONITOR", "NOTIFY_SOCKET", "WATCHDOG"))}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(self.config), "run"],
                stdout=log, stderr=log, env=env, cwd=self.config.parent)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count = self.log.read_text(encoding="utf-8", errors="replace").count("status=ready")
            if count > self.readies:
                self.readies = count
                return
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            time.sleep(0.05)
        raise AssertionError(f"daemon not ready within {timeout} s\n{self.tail()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def story_number(url: str) -> int:
    found = re.search(r"/artikel/(\d+)$", url)
    assert found, url
    return int(found[1])
