"""The short form of a miss's explanation, as a story page shows it in one line."""

from __future__ import annotations

from monitor.match import compile_topic, diagnose, prepare_document, short_reason

ALIASES = {"alibaba": ["alibaba*", "aliexpress*"], "russland": ["russland*", "moskau*"]}


def short(query: str, text: str, *, title: str = "", min_score: float = 0.5) -> str:
    topic = compile_topic("t", query, aliases=ALIASES, min_score=min_score)
    return short_reason(diagnose(topic, prepare_document(title=title, summary="", text=text)))


def test_each_kind_of_miss_in_one_line() -> None:
    assert short("@alibaba NEAR/5 @russland", "Alibaba wächst.") == "@russland: fehlt"
    far = short("@alibaba NEAR/5 @russland", "Alibaba " + "x " * 9 + "Russland")
    assert far == "@russland: nächste Erwähnung 9 Wörter von @alibaba entfernt"
    assert short("alibaba AND NOT temu", "Alibaba und Temu") == (
        "NOT temu: ausgeschlossen, kommt aber vor")
    low = short("@alibaba NEAR/5 @russland", "Wort " * 60 + "Alibaba in Russland.",
                min_score=3.5)
    assert low == "Score 2.48 unter 3.50, zu wenig: @alibaba, gemeinsame Sätze"
    assert short("alibaba", "Alibaba wächst.") == ""


def test_alternatives_name_each_failed_leaf_once() -> None:
    reason = short("(@alibaba NEAR/5 @russland) OR (@alibaba AND temu)", "Russland wächst.")
    assert reason == "@alibaba: fehlt; temu: kommt nicht vor"
