"""The default topic, as shipped in config/monitor.toml, against the labelled set."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from monitor.match import Topic, compile_topic, prepare_document, render_explanation

ROOT = Path(__file__).resolve().parent.parent
LABELLED = Path(__file__).resolve().parent / "fixtures" / "labelled"


def load_topic() -> Topic:
    with open(ROOT / "config" / "monitor.toml", "rb") as fh:
        config = tomllib.load(fh)
    (entry,) = config["topics"]
    return compile_topic(entry["name"], entry["query"], aliases=config["aliases"],
                         min_score=entry["min_score"])


def load(name: str) -> list[dict[str, Any]]:
    with open(LABELLED / f"{name}.toml", "rb") as fh:
        return list(tomllib.load(fh)["article"])


@pytest.fixture(scope="module")
def topic() -> Topic:
    return load_topic()


def verdicts(topic: Topic, articles: list[dict[str, Any]], want: bool) -> list[str]:
    wrong = []
    for art in articles:
        doc = prepare_document(title=art["title"], summary=art["summary"], text=art["text"])
        result = topic.evaluate(doc, explain=True)
        if result.matched is not want:
            wrong.append(f"{art['id']}:\n{render_explanation(result, color=False)}")
    return wrong


def test_the_labelled_set_is_big_enough_and_articles_are_article_sized() -> None:
    positives, negatives = load("positives"), load("negatives")
    assert len(positives) >= 15 and len(negatives) >= 20
    ids = [a["id"] for a in positives + negatives]
    assert len(ids) == len(set(ids))
    short = [(a["id"], len(a["text"].split())) for a in positives + negatives
             if not 80 <= len(a["text"].split()) <= 250]
    assert not short, short
    kinds = {a["kind"] for a in negatives}
    assert kinds == {"alibaba-ohne-russland", "russland-ohne-alibaba", "weit-auseinander"}


def test_default_topic_catches_every_positive(topic: Topic) -> None:
    missed = verdicts(topic, load("positives"), want=True)
    assert not missed, "missed positives:\n" + "\n".join(missed)


def test_default_topic_fires_on_no_negative(topic: Topic) -> None:
    wrong = verdicts(topic, load("negatives"), want=False)
    assert not wrong, "false alarms:\n" + "\n".join(wrong)


def test_default_topic_explains_the_seed_style_layoff_story(topic: Topic) -> None:
    doc = prepare_document(
        title="AliExpress Russland entlässt Mitarbeiter", summary="",
        text="Wie Medien berichten, entlässt das Gemeinschaftsunternehmen von Alibaba und drei "
             "russischen Firmen Personal. Zu den Partnern gehört Mail.ru.")
    result = topic.evaluate(doc)
    assert result.matched and result.score >= 3.0
    first = result.hits[0]
    assert (first.clause, first.field, first.term) == (
        "@alibaba NEAR/15 @russland", "title", "AliExpress … Russland")
    assert [first.snippet[s:e] for s, e in first.marks] == ["AliExpress", "Russland"]


def test_aliexpress_russland_alone_matches(topic: Topic) -> None:
    doc = prepare_document(title="", summary="", text="AliExpress Russland")
    assert topic.evaluate(doc).matched
