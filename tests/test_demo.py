"""The offline demo as a user runs it: in process and as ``python -m monitor demo``."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from pathlib import Path

import pytest

from monitor.commands.demo import run as demo_run
from monitor.commands.demo.run import run_demo
from monitor.commands.demo.site import load_manifest
from tests.conftest import run_cli
from tests.test_demo_site import RELEVANT, read_maildir

STORY = "AliExpress Russland streicht bis zu 40 Prozent der Stellen"


def test_demo_in_process_shows_alerts_update_and_digest(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    out = io.StringIO()
    state = tmp_path / "demo-state"
    assert asyncio.run(run_demo(out, keep=state)) == 0, out.getvalue()
    text = out.getvalue()
    assert set(threading.enumerate()) == before
    assert f"Event: NEW {STORY!r} (Wirtschaftskurier Unternehmen), score" in text
    assert "@alibaba NEAR/15 @russland  [title]" in text       # why it matched, and where
    assert "same story also reported by: Ostmarkt-Nachrichten Wirtschaft" in text
    assert f"Event: UPDATED {STORY!r}" in text
    added = text[text.index("words; added:"):]
    assert added.split("\n")[1].strip().startswith("+ Partner prüfen ihre Rolle")

    digest = Path(re.search(r"archived as HTML at (\S+)", text)[1])  # type: ignore[index]
    assert digest.is_file() and digest.parent == state / "digests"
    html = digest.read_text(encoding="utf-8")
    assert STORY in html and "MegaFon erwägt Rückzug" in html
    assert "Maschinenbauer" not in html and "Rubel" not in html

    assert str(state / "inbox") in text
    mails = read_maildir(state / "inbox")
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert all(s.startswith("[alibaba-russland] ") for s in subjects)
    assert len(mails) == 4, subjects            # 2 new stories, 1 update, 1 digest
    assert not any("Sanktionsdruck" in s for s in subjects)   # the wire copy: no 2nd alert
    first = next(m for m in mails if m["Subject"] == f"[alibaba-russland] {STORY} — "
                 "Wirtschaftskurier Unternehmen")
    update = next(m for m in mails if "Aktualisiert" in str(m["Subject"]))
    assert update["In-Reply-To"] == first["Message-ID"]
    assert "Partner prüfen ihre Rolle" in update.get_body(("plain",)).get_content()


def test_demo_fails_loudly_when_nothing_matches(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = load_manifest()
    manifest["articles"] = [a for a in manifest["articles"] if a["slug"] not in RELEVANT]
    monkeypatch.setattr(demo_run, "load_manifest", lambda: manifest)
    before = set(threading.enumerate())
    out = io.StringIO()
    assert asyncio.run(run_demo(out, keep=tmp_path / "s")) == 1
    assert "DEMO FAILED: the first poll found no new matching article" in out.getvalue()
    assert set(threading.enumerate()) == before


def test_keep_refuses_a_directory_with_content(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    out = io.StringIO()
    assert asyncio.run(run_demo(out, keep=tmp_path)) == 2
    assert "must be a new or empty directory" in out.getvalue()


def test_demo_command_runs_as_a_user_runs_it(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"-> [alibaba-russland] {STORY} — Wirtschaftskurier Unternehmen" in result.stdout
    assert f"-> [alibaba-russland] Aktualisiert: {STORY}" in result.stdout
    state = Path(re.search(r"state directory: (\S+)", result.stdout)[1])  # type: ignore[index]
    assert not state.exists()                   # the temporary state is removed
    assert "Traceback" not in result.stderr
