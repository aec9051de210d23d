"""Matching German text: inflection, compounds, umlauts, NEAR, NOT, fields, aliases, snippets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import (
    DocumentCache,
    compile_topic,
    explanation_json,
    prepare_document,
    render_explanation,
)
from monitor.models import MatchResult

ALIASES = {
    "alibaba": ["alibaba*", "aliexpress*", "Алибаба", "jack ma"],
    "russland": ["russland*", "russisch*", "moskau*", "Россия"],
}


def run(query: str, *, title: str = "", summary: str = "", text: str = "",
        min_score: float = 1.0) -> MatchResult:
    topic = compile_topic("t", query, aliases=ALIASES, min_score=min_score)
    return topic.evaluate(prepare_document(title=title, summary=summary, text=text))


def matches(query: str, text: str) -> bool:
    return run(query, text=text).matched


@pytest.mark.parametrize(("query", "text"), [
    ("russisch", "Der Konzern verhandelt mit russischen Partnern."),
    ("russischen", "Die russische Regierung stimmte zu."),
    ("Russland", "Die Wirtschaft Russlands schrumpft."),
    ("Joint-Venture", "Die Joint-Ventures der Gruppe wachsen."),
    ('"Joint Venture"', "Das Joint-Venture startet im Herbst."),
    ("Sanktion", "Neue Sanktionen treffen den Handel."),
    ("Mitarbeiter", "Der Konzern entlässt 400 Mitarbeitern die Kündigung."),
    ("entlassen", "Das Unternehmen entlässt Personal."),
    ("Sankt", "Das Forum in Sankt Petersburg beginnt."),
])
def test_inflected_forms_meet_their_base_forms(query: str, text: str) -> None:
    assert matches(query, text)


@pytest.mark.parametrize("query", [
    "russland", "sanktion*", "sanktionen", "russland-sanktionen", '"russland sanktionen"',
    "Russland-Sanktion",
])
def test_hyphenated_compound_is_found_whole_and_by_part(query: str) -> None:
    assert matches(query, "Die Russland-Sanktionen wirken.")


def test_closed_compound_is_reached_by_wildcard_only() -> None:
    text = "Das Russlandgeschäft des Konzerns schrumpft."
    assert matches("russland*", text)
    assert not matches("russland", text)


def test_dotted_names_are_found_whole_and_by_part() -> None:
    text = "Der Partner Mail.Ru Group investiert."
    assert matches("mail.ru", text) and matches('"mail ru"', text) and matches("mail", text)
    assert matches("mail.ru", "Der Partner Mail Ru investiert.")


@pytest.mark.parametrize(("query", "text"), [
    ("Börse", "Der Gang an die Boerse ist geplant."),
    ("Boerse", "Der Gang an die Börse ist geplant."),
    ("Größe", "Die Groesse der Platzierung ist offen."),
    ("Groesse", "Die Größe der Platzierung ist offen."),
    ("Straße", "Die Strasse ist gesperrt."),
    ("strasse", "Die STRASSE ist gesperrt."),
    ("Strasse", "Die Straße ist gesperrt."),
    ("börsengang*", "Die Boersengangspläne ruhen."),
])
def test_umlaut_and_sharp_s_spellings_are_equal(query: str, text: str) -> None:
    assert matches(query, text)


def test_unrelated_words_do_not_match() -> None:
    assert not matches("Börse", "Der Konzern baut Lager.")
    assert not matches("russland", "Das Geschäft in Belarus wächst.")
    assert not matches("russ*", "Die Rüstung ist teuer.")


def test_near_counts_the_words_between_either_order() -> None:
    three = "Alibaba eins zwei drei Russland"
    four = "Alibaba eins zwei drei vier Russland"
    assert matches("alibaba NEAR/3 russland", three)
    assert not matches("alibaba NEAR/3 russland", four)
    assert matches("alibaba NEAR/3 russland", "Russland eins zwei drei Alibaba")
    assert matches("alibaba NEAR/0 russland", "Alibaba Russland")
    assert not matches("alibaba NEAR/0 russland", "Alibaba in Russland")


def test_near_on_groups_phrases_and_aliases() -> None:
    query = '(@alibaba) NEAR/10 (russland OR russisch*)'
    assert matches(query, "Der Onlinehändler AliExpress verkauft an russische Kunden.")
    assert matches('"mail ru" NEAR/2 (alibaba OR taobao)', "Mail.Ru und Alibaba planen.")
    assert not matches('"mail ru" NEAR/2 alibaba', "Mail.Ru plant mit dem Konzern Alibaba.")


def test_near_does_not_join_two_fields() -> None:
    result = run("alibaba NEAR/5 russland", title="Alibaba wächst", text="Russland bremst.")
    assert not result.matched


def test_not_and_minus_exclude() -> None:
    assert matches("aliexpress NOT temu", "AliExpress wächst.")
    assert not matches("aliexpress NOT temu", "AliExpress und Temu wachsen.")
    assert not matches("aliexpress -temu", "AliExpress und Temu wachsen.")


def test_field_scope_limits_the_clause() -> None:
    assert run("title:alibaba", title="Alibaba wächst", text="nichts").matched
    assert not run("title:alibaba", title="nichts", text="Alibaba wächst").matched
    assert run('summary:"joint venture"', summary="Ein Joint Venture").matched
    assert run("text:(@alibaba russland)", text="AliExpress in Russland").matched


def test_alias_entries_words_phrases_prefixes_and_cyrillic() -> None:
    assert matches("@alibaba", "Gründer Jack Ma sprach.")
    assert matches("@alibaba", "Alibabas Tochter wächst.")
    assert matches("@alibaba", "Компания Алибаба растёт.")
    assert matches("@alibaba", "АЛИБАБА")
    assert matches("@russland", "Россия")
    assert not matches("@alibaba", "Jack sprach mit Ma Long.")


def test_snippet_marks_point_at_the_hit_words() -> None:
    filler = "Der Handel mit Waren aus Asien wächst seit Jahren kräftig. " * 8
    text = (filler + "Nun entlässt das Gemeinschaftsunternehmen von Alibaba Personal in Russland. "
            + filler)
    result = run("@alibaba NEAR/5 @russland", text=text)
    (hit,) = result.hits
    assert (hit.clause, hit.field, hit.term) == ("@alibaba NEAR/5 @russland", "text",
                                                 "Alibaba … Russland")
    assert [hit.snippet[s:e] for s, e in hit.marks] == ["Alibaba", "Russland"]
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert 120 <= len(hit.snippet) <= 200


def test_hit_reports_each_clause_and_field() -> None:
    result = run("alibaba OR russland", title="Alibaba", text="in Russland und Russland")
    assert [(h.clause, h.field) for h in result.hits] == [("alibaba", "title"),
                                                           ("russland", "text")]
    assert result.hits[1].marks == ((3, 11), (16, 24))


def test_score_weighs_title_lead_and_proximity() -> None:
    title = run("alibaba", title="Alibaba", text="x").score
    lead = run("alibaba", text="Alibaba wächst.").score
    body = run("alibaba", text="Wort " * 80 + "Alibaba").score
    assert title > lead > body
    # Aboutness: one sentence naming both sides counts, however tight the pair in it; a
    # pair split by a sentence end counts half.
    near = run("alibaba NEAR/10 russland", text="Wort " * 80 + "Alibaba Russland").score
    far = run("alibaba NEAR/10 russland", text="Wort " * 80 + "Alibaba wächst. Dann Russland")
    assert near > far.score > 0
    assert run("alibaba russland", text="Wort " * 80 + "Alibaba Russland").score > body


def test_min_score_gates_a_true_query() -> None:
    weak = run("alibaba", text="Wort " * 80 + "Alibaba", min_score=2.5)
    strong = run("alibaba", title="Alibaba", text="x", min_score=2.5)
    # one body mention (1) and the 13 words around it of 81 (2 x 0.16)
    assert not weak.matched and not weak.margin and weak.score == 1.32
    assert strong.matched


def test_unmatched_results_explain_partial_hits_on_request() -> None:
    topic = compile_topic("t", "@alibaba NEAR/3 @russland", aliases=ALIASES)
    doc = prepare_document(title="", summary="", text="Alibaba " + "x " * 20 + "Russland")
    assert topic.evaluate(doc) == MatchResult("t", False, 0.0)
    partial = topic.evaluate(doc, explain=True)
    assert not partial.matched and [h.clause for h in partial.hits] == ["@alibaba", "@russland"]


def test_render_explanation_plain_and_coloured() -> None:
    result = run("@alibaba NEAR/5 @russland", title="AliExpress Russland baut Stellen ab")
    plain = render_explanation(result, color=False)
    assert plain.splitlines() == [
        "t: MATCH (score 7.00)",
        "  @alibaba NEAR/5 @russland  [title]  AliExpress … Russland",
        "      «AliExpress» «Russland» baut Stellen ab",
    ]
    coloured = render_explanation(result, color=True)
    assert "\x1b[1;33mAliExpress\x1b[0m" in coloured and "\x1b[1;32mMATCH" in coloured
    assert "\x1b" not in plain
    assert "no match" in render_explanation(run("temu", text="nichts"), color=False)


def test_explanation_json_shape() -> None:
    data = explanation_json(run("alibaba", text="Alibaba wächst."))
    assert data == {"topic": "t", "matched": True, "score": 3.0, "hits": [
        {"clause": "alibaba", "field": "text", "term": "Alibaba",
         "snippet": "Alibaba wächst.", "marks": [[0, 7]]}]}


def test_prepared_documents_are_cached_by_content() -> None:
    cache = DocumentCache(maxsize=2)
    a = prepare_document(title="A", summary="", text="Alibaba", cache=cache)
    assert prepare_document(title="A", summary="", text="Alibaba", cache=cache) is a
    prepare_document(title="B", summary="", text="x", cache=cache)
    prepare_document(title="C", summary="", text="y", cache=cache)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (1, 3)
    assert prepare_document(title="A", summary="", text="Alibaba", cache=cache) is not a


def test_offsets_survive_decomposed_umlauts() -> None:
    text = "Die Bo\u0308rse in Moskau"
    result = run("börse", text=text)
    (hit,) = result.hits
    assert result.matched and hit.snippet[slice(*hit.marks[0])] == "Börse"


PIECES = st.one_of(
    st.sampled_from(["Alibaba", "AliExpress", "Russland-Sanktionen", "russischen", "Mail.Ru",
                     "АлиЭкспресс", "Россия", "Bo\u0308rse", "ﬁnanz", "Joint-Venture-Partner",
                     "\n", "-", ".", "…", "ß", "İstanbul", "x" * 40]),
    st.text(max_size=12),
)
TEXTS = st.lists(PIECES, max_size=60).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS)
def test_any_text_evaluates_and_marks_stay_on_the_hit_words(title: str, text: str) -> None:
    topic = compile_topic("t", "(@alibaba NEAR/5 @russland) OR mail.ru OR börse",
                          aliases=ALIASES)
    result = topic.evaluate(prepare_document(title=title, summary="", text=text), explain=True)
    for hit in result.hits:
        assert hit.marks and hit.field in ("title", "text")
        for start, end in hit.marks:
            assert 0 <= start < end <= len(hit.snippet)
            assert hit.snippet[start:end].strip() == hit.snippet[start:end]
