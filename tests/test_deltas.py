"""Deltas: revision hashes, cosmetic normalisation, word diffs, materiality, re-check stages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.deltas.diff import (
    changed_sentences,
    cosmetic_normalise,
    is_material,
    short_diff,
    text_hash,
    trim_segments,
    word_diff,
)
from monitor.notify.render import diff_view

TITLE = "AliExpress Russland baut bis zu 40 Prozent der Stellen ab"
BODY = (
    "Das Gemeinschaftsunternehmen AliExpress Russland trennt sich nach Berichten russischer "
    "Medien von bis zu 40 Prozent seiner Beschäftigten.\n"
    "Der Stellenabbau betreffe vor allem Bereiche, die durch die westlichen Sanktionen gegen "
    "Russland überflüssig geworden seien, hieß es unter Berufung auf eine anonyme Quelle. "
    "Das Unternehmen wollte sich auf Anfrage nicht äußern.\n"
    "Chinesische Händler klagen seit Wochen über eingebrochene Verkäufe nach Russland. „Wir "
    "haben seit Februar praktisch keine neuen Aufträge mehr“, sagte eine Verkäuferin von "
    "Thermosflaschen aus der Provinz Zhejiang."
)
PAGE_V1 = (f"Aktualisiert am 12.05.2022, 09:15 Uhr\n{BODY}\nMehr zum Thema\n"
           "Ozon wächst trotz Sanktionen\nAlibaba meldet schwaches Quartal")
JV_PARAGRAPH = (
    "An dem Joint Venture sind neben Alibaba der Internetkonzern VK, der Mobilfunkanbieter "
    "Megafon und der Staatsfonds RDIF beteiligt. Alibaba hatte seinen Anteil erst 2019 "
    "eingebracht. Ein Börsengang in Moskau gilt inzwischen als ausgeschlossen."
)
PARAGRAPHS = BODY.splitlines()
PAGE_V2 = PAGE_V1.replace(PARAGRAPHS[1], f"{PARAGRAPHS[1]}\n{JV_PARAGRAPH}")


def test_text_hash_is_stable_under_whitespace_and_sensitive_to_words() -> None:
    digest = text_hash(TITLE, BODY)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert text_hash(f" {TITLE} ", BODY.replace(" ", "  ").replace("\n", "\n\n")) == digest
    assert text_hash(TITLE, BODY.replace("40 Prozent", "45 Prozent")) != digest
    assert text_hash(TITLE + " (Update)", BODY) != digest
    assert text_hash("AliExpress", "Russland") != text_hash("AliExpress Russland", "")


@pytest.mark.parametrize(
    "noise",
    [
        "Aktualisiert am 12.03.2022, 14:05 Uhr",
        "Stand: 12.03.2022 14:05 Uhr",
        "Zuletzt aktualisiert: 14.03.2022",
        "Zuletzt aktualisiert am 14. März 2022 um 8:30 Uhr",
        "vor 3 Stunden",
        "Gestern, 17:40 Uhr",
        "12.03.2022 | 14:05",
        "Lesen Sie auch: Alibaba-Chef Zhang äußert sich zu Russland",
        "Zum Thema: Was die Sanktionen für Onlinehändler bedeuten",
        "Mehr zum Thema\nOzon wächst trotz Sanktionen\nMegafon meldet Rückgang",
        "Das könnte Sie auch interessieren\nWie China den Handel mit Russland ausbaut",
        "Weitere Artikel\nAliExpress plant Börsengang",
    ],
)
def test_cosmetic_normalise_removes_noise_lines_and_blocks(noise: str) -> None:
    first, rest = BODY.split("\n", 1)
    assert cosmetic_normalise(f"{first}\n{noise}\n{rest}") == cosmetic_normalise(BODY)
    assert cosmetic_normalise(f"{BODY}\n{noise}") == cosmetic_normalise(BODY)


def test_cosmetic_normalise_maps_typography_and_keeps_prose() -> None:
    # look-alikes as escapes: \u2013 EN DASH, \u201a SINGLE LOW-9 and \u2018 LEFT SINGLE
    # QUOTATION MARK (German single quotes)
    fancy = ("„Wir sind\u00a0raus“ \u2013 sagte er. »Nie\u202fwieder« — \u201asicher\u2018 …  "
             "Ende\u00ad\u200b")
    assert cosmetic_normalise(fancy) == (
        "\"Wir sind raus\" - sagte er. \"Nie wieder\" - 'sicher' ... Ende")
    prose = (
        "Mehr zum Thema\nSanktionen treffen Händler\n"
        "Aktualisiert wurde auch die Prognose, die der Konzern im März vorgelegt hatte.\n"
        "Der Konzern schweigt."
    )
    assert cosmetic_normalise(prose).splitlines() == [
        "Aktualisiert wurde auch die Prognose, die der Konzern im März vorgelegt hatte.",
        "Der Konzern schweigt.",
    ]


def test_added_joint_venture_paragraph_is_a_material_change() -> None:
    diff = word_diff(TITLE, PAGE_V1, TITLE, PAGE_V2)
    assert ("+", JV_PARAGRAPH) in diff.segments
    assert [op for op, _ in diff.segments] == ["=", "+", "="]
    assert diff.added_words == len(JV_PARAGRAPH.split()) and diff.removed_words == 0
    assert not diff.title_changed
    assert is_material(diff)
    rendered = short_diff(diff)
    assert rendered.startswith("… ") and rendered.endswith(" …")
    assert f"[+{JV_PARAGRAPH}+]" in rendered
    assert rendered.startswith("… wollte sich auf Anfrage nicht äußern. [+An dem Joint Venture")
    assert rendered.endswith("+] Chinesische Händler klagen seit Wochen über …")


def test_changed_sentences_are_the_new_paragraphs_sentences() -> None:
    assert changed_sentences(PAGE_V1, PAGE_V2) == [
        "An dem Joint Venture sind neben Alibaba der Internetkonzern VK, der Mobilfunkanbieter "
        "Megafon und der Staatsfonds RDIF beteiligt.",
        "Alibaba hatte seinen Anteil erst 2019 eingebracht.",
        "Ein Börsengang in Moskau gilt inzwischen als ausgeschlossen.",
    ]
    assert changed_sentences(PAGE_V2, PAGE_V1) == []


def test_only_the_timestamp_line_changed_is_no_change() -> None:
    later = PAGE_V1.replace("12.05.2022, 09:15", "13.05.2022, 18:02")
    assert later != PAGE_V1
    diff = word_diff(TITLE, PAGE_V1, TITLE, later)
    assert [op for op, _ in diff.segments] == ["="]
    assert (diff.added_words, diff.removed_words, diff.title_changed) == (0, 0, False)
    assert not is_material(diff)
    assert short_diff(diff) == ""
    assert changed_sentences(PAGE_V1, later) == []


def test_quote_dash_and_space_styles_are_not_material() -> None:
    restyled = (
        PAGE_V1.replace("„", "»").replace("“", "«").replace(" ", "\u00a0", 5)
        .replace("-", "\u2013", 1)  # \u2013 EN DASH for the hyphen
    )
    diff = word_diff(TITLE, PAGE_V1, TITLE.replace(" ", "  "), restyled)
    assert all(op == "=" for op, _ in diff.segments)
    assert not is_material(diff)


def test_title_change_is_material_on_its_own() -> None:
    diff = word_diff(TITLE, PAGE_V1, "AliExpress Russland streicht jede zweite Stelle", PAGE_V1)
    assert diff.title_changed and diff.added_words == diff.removed_words == 0
    assert is_material(diff)


def test_small_edit_is_material_only_with_a_topic_hit_in_the_changed_sentence() -> None:
    edited = PAGE_V1.replace("bis zu 40 Prozent", "bis zu 45 Prozent")
    diff = word_diff(TITLE, PAGE_V1, TITLE, edited)
    assert (diff.added_words, diff.removed_words) == (1, 1)
    assert not is_material(diff)
    assert is_material(diff, min_words=2)
    assert is_material(diff, hit_in_changed=True)
    assert changed_sentences(PAGE_V1, edited) == [PARAGRAPHS[0].replace("40", "45")]
    assert short_diff(diff, context=3) == (
        "… von bis zu [-40-] [+45+] Prozent seiner Beschäftigten. …")


def test_short_diff_respects_max_chars_and_closes_a_cut_change() -> None:
    diff = word_diff(TITLE, PAGE_V1, TITLE, PAGE_V2)
    rendered = short_diff(diff, context=2, max_chars=120)
    assert len(rendered) <= 120
    assert rendered.startswith("… nicht äußern. [+An dem Joint Venture")
    assert rendered.endswith(" …+] …")


def test_trim_segments_keeps_context_around_each_change_and_elides_the_rest() -> None:
    segments = (("=", "a b c d e"), ("+", "X Y"), ("=", "f g h i j k"), ("-", "Z"),
                ("=", "l m n o"))
    assert trim_segments(segments, context=2) == (
        ("=", "… d e"), ("+", "X Y"), ("=", "f g … j k"), ("-", "Z"), ("=", "l m …"))
    assert trim_segments(segments, context=2, max_changes=1) == (
        ("=", "… d e"), ("+", "X Y"), ("=", "f g … j k"), ("=", "…"))


def test_trim_segments_min_elided_keeps_a_single_word_instead_of_an_ellipsis() -> None:
    segments = (("=", "a b c"), ("+", "X"), ("=", "  d   e  f  "))
    assert trim_segments(segments, context=2) == (
        ("=", "… b c"), ("+", "X"), ("=", "d e …"))
    assert trim_segments(segments, context=2, min_elided=2) == (
        ("=", "a b c"), ("+", "X"), ("=", "d e f"))


def test_short_diff_and_the_mail_view_trim_by_the_same_rule() -> None:
    diff = word_diff(TITLE, PAGE_V1, TITLE, PAGE_V2)
    view = diff_view(diff, context=4, max_changes=40)
    assert view == trim_segments(diff.segments, context=4, min_elided=2)
    assert short_diff(diff, context=4) == " ".join(
        text if op == "=" else f"[{op}{text}{op}]"
        for op, text in trim_segments(diff.segments, context=4))


def _long_article(seed_words: list[str], paragraphs: int) -> str:
    lines = []
    for n in range(paragraphs):
        words = [f"{w}{(n * 7 + i) % 13}" for i, w in enumerate(seed_words * 4)]
        lines.append(" ".join(words) + ".")
    return "\n".join(lines)


@pytest.mark.timeout(30)
def test_two_thousand_word_articles_diff_in_reasonable_time() -> None:
    words = BODY.split()[:50]
    old = _long_article(words, 10)
    rewritten = _long_article(list(reversed(words)), 10)
    assert len(old.split()) >= 2000
    assert word_diff(TITLE, old, TITLE, rewritten).added_words > 1000
    edited = old.replace(old.splitlines()[3], old.splitlines()[3] + " " + JV_PARAGRAPH)
    assert word_diff(TITLE, old, TITLE, edited).added_words == len(JV_PARAGRAPH.split())


_WORDS = st.sampled_from(["Alibaba", "Russland", "AliExpress", "Megafon", "VK", "RDIF",
                          "Stellen", "Abbau", "die", "der", "und", "."])
_TEXTS = st.lists(st.lists(_WORDS, min_size=0, max_size=12).map(" ".join),
                  max_size=6).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(old=_TEXTS, new=_TEXTS)
def test_word_diff_segments_rebuild_both_versions(old: str, new: str) -> None:
    diff = word_diff("T", old, "T", new)
    rebuilt_old = " ".join(text for op, text in diff.segments if op != "+").split()
    rebuilt_new = " ".join(text for op, text in diff.segments if op != "-").split()
    assert rebuilt_old == cosmetic_normalise(old).split()
    assert rebuilt_new == cosmetic_normalise(new).split()
    assert diff.added_words == len(rebuilt_new) - sum(
        len(text.split()) for op, text in diff.segments if op == "="
    )


def test_timestamp_glued_into_a_paragraph_is_not_a_change() -> None:
    old = f"Von Anna Berger Aktualisiert am 12.05.2022, 09:15 Uhr {BODY}"
    new = f"Von Anna Berger Aktualisiert am 12.05.2022, 17:48 Uhr {BODY}"
    diff = word_diff(TITLE, old, TITLE, new)
    assert (diff.added_words, diff.removed_words) == (0, 0)
    assert cosmetic_normalise(new).startswith("Von Anna Berger Das Gemeinschaftsunternehmen")


_TYPOGRAPHY = ("\u201e\u201c\u201d\u00ab\u00bb\u201a\u2018\u2019\u2013\u2014\u2212"
               "\u00a0\u202f\u00ad\u200b\ufeff\u2026")


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(_TYPOGRAPHY) | st.characters(), max_size=200))
def test_typography_fold_is_the_translation_table(text: str) -> None:
    """The regex fold gives exactly what ``str.translate`` with the table gives, for any
    text: quotes, dashes, spaces, invisible characters and ellipses among any others."""
    from monitor.deltas.diff import _CHAR_MAP, fold_typography

    assert fold_typography(text) == text.translate(_CHAR_MAP)
    assert fold_typography("„Übernahme“ – 10\u00a0%\u00ad…") == '"Übernahme" - 10 %...'
