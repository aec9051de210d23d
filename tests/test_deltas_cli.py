"""`news-monitor deltas` as the analyst sees it, after the real pipeline ran on a local site:
one story from two feeds of one outlet and as wire copy from another (one ``new`` event, a
cluster of two articles), then a material edit (one ``updated`` event with its diff), then
a cosmetic edit (nothing)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import NewsSite, run_cli
from tests.newsroom import LAYOFFS, LAYOFFS_RESTAMPED, LAYOFFS_WITH_JV, WIRE_LAYOFFS
from tests.test_deltas_e2e import (
    HTML,
    STORY_PATH,
    TOPIC,
    WIRE_PATH,
    World,
    story_page,
    three_ways,
)


@pytest.fixture
def world(site: NewsSite, tmp_path: Path) -> World:
    world = World(site, tmp_path)
    three_ways(world)
    world.cycle()
    site.put(STORY_PATH, story_page(world, LAYOFFS_WITH_JV), HTML)
    world.clock.advance(timedelta(hours=1, minutes=1))
    world.recheck()
    restamped = dataclasses.replace(LAYOFFS_RESTAMPED, paragraphs=LAYOFFS_WITH_JV.paragraphs)
    site.put(STORY_PATH, story_page(world, restamped), HTML)
    world.clock.advance(timedelta(hours=5))
    assert [r.deltas for r in world.recheck()] == [0, 0]
    return world


def test_deltas_json_shows_one_new_story_and_one_update(world: World) -> None:
    result = run_cli("deltas", "--json", config=world.config())
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert [(e["kind"], e["topic"], e["cluster"]) for e in events] == [
        ("updated", TOPIC, 2), ("new", TOPIC, 2)]
    updated, new = events               # the cycle's first copy raised "new": either one
    assert (new["title"], new["url"]) in {(LAYOFFS.headline, world.wk + STORY_PATH),
                                          (WIRE_LAYOFFS.headline, world.om + WIRE_PATH)}
    assert (updated["title"], updated["url"]) == (LAYOFFS.headline, world.wk + STORY_PATH)
    assert new["score"] > 0 and new["diff"] is None
    assert "[+Zum Gemeinschaftsunternehmen gehören neben Alibaba auch der Mobilfunker MegaFon" \
        in updated["diff"]
    sources = {new["source"], *new["also_reported_by"]}
    assert "Ostmarkt" in sources and len(sources) >= 2


def test_deltas_lines_and_filters(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(world.config())
    assert main(["--config", config, "deltas", "--since", "48h"]) == 0
    out = capsys.readouterr().out
    new_line = next(line for line in out.splitlines() if " new " in line)
    assert f"[{TOPIC}] " in new_line and "cluster=2" in new_line
    updated_line = next(line for line in out.splitlines() if " updated " in line)
    assert f"[{TOPIC}] {LAYOFFS.headline} — Wirtschaftskurier" in updated_line
    assert "[+Zum Gemeinschaftsunternehmen" in out and "2 events since" in out
    assert main(["--config", config, "deltas", "--topic", TOPIC, "--since", "48h"]) == 0
    assert "2 events since" in capsys.readouterr().out
    assert main(["--config", config, "deltas", "--topic", "anderes-thema"]) == 2
    assert "error: unknown topic 'anderes-thema'" in capsys.readouterr().err
    assert main(["--config", config, "deltas", "--since", "gestern"]) == 2
    assert "--since" in capsys.readouterr().err
