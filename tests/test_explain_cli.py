"""`news-monitor explain` as a user runs it: pages and plain text, JSON, errors, --stored."""

from __future__ import annotations

import json
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
