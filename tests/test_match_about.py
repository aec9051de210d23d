"""Aboutness: sentences, enumerations of figures, and the parts of the score."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import compile_topic, prepare_document
from monitor.match.layout import text_layout
from monitor.match.normalise import word_spans

ALIASES = {"alibaba": ["alibaba*", "aliexpress*"], "russland": ["russland*", "moskau*"]}


def sentences(text: str) -> list[str]:
    layout, spans = text_layout(text), word_spans(text)
    return [text[spans[lo][0]:spans[hi][1]] for lo, hi in layout.bounds]


def listed(text: str) -> list[str]:
    layout, spans = text_layout(text), word_spans(text)
    return [text[spans[lo][0]:spans[hi][1]]
            for (lo, hi), flag in zip(layout.bounds, layout.listed, strict=True) if flag]


def test_sentences_end_at_stops_and_lines_but_not_after_abbreviations_or_ordinals() -> None:
    text = ("Der Umsatz stieg auf 2,1 Mrd. Euro. Der Gewinn fiel.\n"
            "3. Ozon (Russland)\nDie Aktie gewann 4 Prozent! Warum? Niemand weiß es.")
    assert sentences(text) == ["Der Umsatz stieg auf 2,1 Mrd. Euro", "Der Gewinn fiel",
                               "3. Ozon (Russland", "Die Aktie gewann 4 Prozent", "Warum",
                               "Niemand weiß es"]


def test_hard_wrapped_prose_is_one_sentence_and_no_list() -> None:
    text = ("Der Konzern steigerte den Umsatz um 12 Prozent auf\n"
            "3,1 Milliarden Rubel, während der Gewinn um 4 Prozent\n"
            "sank und die Kosten um 9 Prozent stiegen, wie es hieß.\n")
    assert len(sentences(text)) == 1 and listed(text) == []


def test_a_sentence_listing_many_figures_is_an_enumeration_but_a_report_is_not() -> None:
    wrap = "Alibaba gewannen 3,1 Prozent, Tencent 1,8 Prozent und Baidu 0,9 Prozent."
    report = ("AliExpress Russland steigerte den Umsatz um 12 Prozent auf 3,1 Milliarden "
              "Rubel; der Marktanteil sank auf 4 Prozent.")
    assert listed(wrap) == [wrap.rstrip(".")]
    assert listed(report) == []


def test_runs_of_short_figured_lines_or_sentences_are_lists() -> None:
    table = "Kurse\nAlibaba – 72,40 Euro\nBaidu – 91,20 Euro\nSony – 79,80 Euro\nEnde der Liste."
    assert listed(table) == ["Alibaba – 72,40 Euro", "Baidu – 91,20 Euro", "Sony – 79,80 Euro"]
    prose = ("Alibaba legten um 2,7 Prozent zu. Baidu gewannen 1,9 Prozent. Nio stiegen um "
             "3,4 Prozent. Danach beruhigte sich der Handel.")
    assert len(listed(prose)) == 3
    two = "Alibaba legten um 2,7 Prozent zu. Baidu gewannen 1,9 Prozent. Dann war Schluss."
    assert listed(two) == []


def about(title: str = "", summary: str = "", text: str = "") -> tuple[float, object]:
    topic = compile_topic("t", "@alibaba NEAR/15 @russland", aliases=ALIASES, min_score=3.5,
                          margin=True)
    result, parts = topic.assess(prepare_document(title=title, summary=summary, text=text))
    return result.score, parts


FILLER = "Der Handel in Europa wächst weiter, sagen die Fachleute des Verbands. " * 6


def test_a_paragraph_outweighs_a_passing_mention_and_a_list_entry() -> None:
    paragraph, parts = about(text=FILLER + "Alibaba hat sein Geschäft in Russland verkleinert. "
                             "In Moskau bestätigte AliExpress den Abbau von Stellen.")
    passing, _ = about(text=FILLER + "Auch Alibaba war früher in Russland aktiv.")
    in_list, _ = about(text=FILLER + "Alibaba gewannen 3 Prozent, Tencent 2 Prozent und der "
                                     "in Moskau notierte Konzern Ozon 4 Prozent.")
    assert paragraph > 3.5 > passing > in_list > 0
    assert parts.together == 2 and [s.body for s in parts.sides] == [2, 2]  # type: ignore[attr-defined]


def test_title_and_lead_weigh_more_than_the_body() -> None:
    title, _ = about(title="AliExpress zieht sich aus Russland zurück", text=FILLER)
    lead, _ = about(summary="AliExpress zieht sich aus Russland zurück.", text=FILLER)
    body, _ = about(text=FILLER + "AliExpress zieht sich aus Russland zurück.")
    assert title > lead > body


def test_sides_never_named_in_one_sentence_count_half() -> None:
    together, _ = about(text=FILLER + "Alibaba verkauft in Russland. Alibaba spart in Russland.")
    apart, parts = about(text=FILLER + "Alibaba verkauft Anteile, heißt es. Russland prüft es. "
                                       "Alibaba spart. Russland schweigt.")
    assert parts.together == 0 and apart < together / 2  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["Alibaba", "3,1 Prozent", "Mrd.", "Euro", ".", ",", "\n",
                                 "\n\n", "7.", "– ", "und", "Moskau", "x", "Ä", ";", "?"]),
                max_size=80).map(" ".join))
def test_any_text_has_a_layout_with_one_sentence_per_word(text: str) -> None:
    layout = text_layout(text)
    assert layout.words == len(word_spans(text))
    assert list(layout.sentence_of) == sorted(layout.sentence_of)
    assert len(layout.bounds) == len(layout.listed) == len(set(layout.sentence_of))
