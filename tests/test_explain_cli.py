"""`news-monitor explain` as a user runs it: pages and plain text, JSON, errors, --stored."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import NewsSite, run_cli, write_config
from tests.newsroom import LAYOFFS, TRAP, page
from tests.test_poll_cli import publish


def test_explain_page_and_plain_text_as_json(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    story = tmp_path / "story.html"
    story.write_text(page(LAYOFFS), encoding="utf-8")
    result = run_cli("explain", "--topic", "alibaba-russland", "--file", str(story), "--json",
                     config=config)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["topic"] == "alibaba-russland" and answer["matched"] is True
    assert answer["score"] > 0 and answer["extract_status"] == "ok"
    assert any(h["field"] == "title" for h in answer["hits"])
    assert all({"clause", "field", "snippet"} <= set(h) for h in answer["hits"])
    plain = tmp_path / "notiz.txt"
    plain.write_text("Alibaba zieht sich aus Russland zurück\nDer Konzern prüft den Verkauf "
                     "seiner Anteile an AliExpress Russland.\n", encoding="utf-8")
    text_result = run_cli("explain", "--topic", "alibaba-russland", "--file", str(plain),
                          "--json", config=config)
    assert json.loads(text_result.stdout)["matched"] is True


def test_explain_trap_page_does_not_match_and_says_why(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    trap = tmp_path / "trap.html"
    trap.write_text(page(TRAP), encoding="utf-8")
    result = run_cli("explain", "--topic", "alibaba-russland", "--file", str(trap),
                     config=config)
    assert result.returncode == 0
    assert "Wasserstoff" in result.stdout
    assert "no match" in result.stdout.lower() or "kein" in result.stdout.lower()
    # the sidebar's and the comments' words are not the article's: nothing is found
    assert "Warum kein Treffer:" in result.stdout
    assert "@alibaba: kein Eintrag der Liste kommt vor" in result.stdout


def test_explain_errors_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    unknown = run_cli("explain", "--topic", "gibt-es-nicht", "--file", "x", config=config)
    assert unknown.returncode == 2 and "unknown topic 'gibt-es-nicht'" in unknown.stderr
    missing = run_cli("explain", "--topic", "alibaba-russland", "--file",
                      str(tmp_path / "fehlt.html"), config=config)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr


def test_poll_stores_exactly_one_match_and_explain_stored_finds_it(site: NewsSite,
                                                                   tmp_path: Path) -> None:
    publish(site)
    config = write_config(tmp_path, [{"name": "Wirtschaftskurier",
                                      "url": site.url("/feed.xml")}])
    assert run_cli("poll", config=config).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT topic, score FROM matches WHERE matched")).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].topic == "alibaba-russland"
    stored = run_cli("explain", "--topic", "alibaba-russland", "--stored", config=config)
    assert stored.returncode == 0, stored.stderr
    assert "AliExpress Russland streicht" in stored.stdout
    assert "1 of 3 stored articles" in stored.stdout


# Near-misses of the default topic, as a user meets them: what is missing, in words.
FAR_APART = (
    "Onlinehändler im Wettbewerb\n"
    "Der chinesische Konzern Alibaba hat seine Plattform AliExpress in Europa neu aufgestellt. "
    "Kunden sollen ihre Ware künftig aus Lagern in Spanien und Polen schneller erhalten, die "
    "Gebühren für Händler sinken. Zugleich wächst die Konkurrenz durch Temu und Shein, die mit "
    "hohen Werbeausgaben um junge Kunden werben. Ganz anders ist die Lage auf dem Markt in "
    "Russland, wo heimische Anbieter wie Ozon und Wildberries den Handel beherrschen.\n")

NO_RUSSIA = (
    "Alibaba legt Quartalszahlen vor\n"
    "Der Onlinekonzern Alibaba hat im Weihnachtsquartal mehr umgesetzt als erwartet. Die "
    "Cloud-Sparte wuchs zweistellig, das Inlandsgeschäft mit Taobao und Tmall stagnierte. Die "
    "Aktie stieg in Hongkong um vier Prozent.\n")

WRAP = (
    "Börsen in Asien uneinheitlich\n"
    "Die Aktienmärkte in Asien haben am Dienstag keine gemeinsame Richtung gefunden. Anleger "
    "warteten auf neue Daten zur Konjunktur in China und auf die Zinsentscheidung in Tokio.\n\n"
    "Unter den Einzelwerten gewannen Alibaba 3,1 Prozent, Tencent 1,8 Prozent, JD.com 2,2 "
    "Prozent und der in Moskau gelistete Aluminiumkonzern Rusal 4,0 Prozent. Meituan verloren "
    "1,1 Prozent.\n\n"
    "Am Devisenmarkt gab der Yuan leicht nach. Öl verteuerte sich, Gold wurde etwas billiger. "
    "Händler rechnen in den kommenden Tagen mit weiteren Schwankungen, bis die Notenbanken in "
    "Washington und Frankfurt über ihre Zinsen entschieden haben.\n")


def explain_text(tmp_path: Path, content: str, *extra: str,
                 config: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "text.txt"
    path.write_text(content, encoding="utf-8")
    return run_cli("explain", "--topic", "alibaba-russland", "--file", str(path), *extra,
                   config=config or write_config(tmp_path, []))


def test_a_near_miss_names_the_nearest_pair_and_the_distance_asked_for(tmp_path: Path) -> None:
    result = explain_text(tmp_path, FAR_APART)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "alibaba-russland: no match (score 0.00)" in out
    assert "Warum kein Treffer:" in out
    assert ("@russland: nächste Erwähnung 47 Wörter von @alibaba entfernt (Text); "
            "NEAR/15 verlangt höchstens 15") in out
    assert "@partner: kein Eintrag der Liste kommt vor" in out


def test_an_alias_found_nowhere_is_named(tmp_path: Path) -> None:
    out = explain_text(tmp_path, NO_RUSSIA).stdout
    assert "@russland: kein Eintrag der Liste kommt vor" in out
    assert "@partner: kein Eintrag der Liste kommt vor" in out
    assert "@alibaba: kein" not in out


def test_a_passing_mention_names_the_small_parts_of_the_score(tmp_path: Path) -> None:
    result = explain_text(tmp_path, WRAP)
    out = result.stdout
    assert result.returncode == 0 and "no match" in out
    assert "Am Rande erwähnt, weil:" in out
    assert "die Anfrage trifft zu, aber der Score" in out and "unter der Schwelle 3.50" in out
    small = [line.strip() for line in out.splitlines() if line.endswith("← zu klein")]
    assert ("@russland: 1 Erwähnung (Text 1x), davon 1 in Aufzählungen mit Zahlen → 0.25 "
            "von höchstens 6 (die schwächere Seite zählt)  ← zu klein") in small
    assert any(line.startswith("gemeinsame Sätze: 0 Sätze nennen beide Seiten, 1 in "
                               "Aufzählungen") for line in small)
    answer = json.loads(explain_text(tmp_path, WRAP, "--json").stdout)
    assert answer["matched"] is False and answer["margin"] is True
    assert answer["short"].startswith("Score 0.62 unter 3.50, zu wenig: @russland")
    assert answer["score_parts"]["sides"][1] == {
        "label": "@russland", "title": 0, "lead": 0, "body": 1, "listed": 1, "weight": 0.25}


def test_excluded_and_field_scoped_parts_are_named(tmp_path: Path) -> None:
    topic = ('[[topics]]\nname = "ohne-temu"\nquery = "title:alibaba AND NOT temu"\n')
    config = write_config(tmp_path, [], extra=topic)
    path = tmp_path / "temu.txt"
    path.write_text("Temu und Shein wachsen\nAuch Alibaba spürt die Konkurrenz von Temu.\n",
                    encoding="utf-8")
    out = run_cli("explain", "--topic", "ohne-temu", "--file", str(path), config=config).stdout
    assert "title:alibaba: kommt im Titel nicht vor" in out
    assert "NOT temu: ausgeschlossen, kommt aber vor (Titel 1x, Text 1x)" in out


def test_a_match_says_nothing_is_missing(tmp_path: Path) -> None:
    out = explain_text(tmp_path, "AliExpress Russland baut Stellen ab\nDas "
                                 "Gemeinschaftsunternehmen von Alibaba in Russland spart.\n").stdout
    assert "MATCH" in out and "Warum kein Treffer" not in out and "Am Rande" not in out


def test_binary_and_non_text_files_exit_2_with_what_they_are(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    files = {
        "bericht.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
                        "is a PDF document, not an HTML page or plain text"),
        "bild.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40)),
                     "is a PNG image, not an HTML page or plain text"),
        "daten.bin": (bytes(range(256)) * 8, "is binary data, not an HTML page or plain text"),
        "archiv.gz": (b"\x1f\x8b\x08\x00" + b"\x13" * 50, "is gzip-compressed data"),
    }
    for name, (content, message) in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run_cli("explain", "--topic", "alibaba-russland", "--file", str(path),
                         config=config)
        assert result.returncode == 2, (name, result.stdout)
        assert f"error: {path} {message}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    utf16 = tmp_path / "notiz-utf16.txt"
    utf16.write_bytes("AliExpress Russland baut Stellen ab\nAlibaba in Russland spart.\n"
                      .encode("utf-16"))
    result = run_cli("explain", "--topic", "alibaba-russland", "--file", str(utf16),
                     config=config)
    assert result.returncode == 0 and "MATCH" in result.stdout
