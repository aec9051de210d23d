"""Learning from verdicts: stories like rejected ones are held back with the reason, stories
like accepted ones are not, and the verdicts suggest query changes."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from monitor.match.learn import Example, Ignored, content_words, fit, suggest

LABELLED = Path(__file__).resolve().parent / "fixtures" / "labelled"

# Consumer advice that the query rightly catches (AliExpress in Russia) but the desk does
# not want: three pieces of one kind, written differently. Written for the tests.
ADVICE_1 = (
    "Bestellen bei AliExpress aus Russland: So kommen Kunden an ihre Pakete. Wer in Moskau "
    "oder Sankt Petersburg bei AliExpress bestellt, muss seit den Sanktionen Geduld haben. "
    "Verbraucherschützer raten, nur mit der russischen Karte Mir zu bezahlen und die "
    "Lieferzeit vorab zu prüfen. Pakete aus China brauchen derzeit drei bis sechs Wochen. "
    "Bei Problemen mit der Rückgabe hilft oft nur der Käuferschutz der Plattform. Tipp: "
    "Gutscheine und Rabattcodes gelten meist nur für Waren aus russischen Lagern, und wer "
    "mehrere Artikel in einer Bestellung bündelt, spart Versandkosten.")
ADVICE_2 = (
    "Ratgeber: Günstig einkaufen bei AliExpress Russland. Kunden in Russland fragen sich, "
    "wie sie trotz der Sanktionen sicher bei AliExpress bestellen. Die wichtigsten Tipps: "
    "Bezahlen Sie mit der Mir-Karte oder per Schnellzahlsystem, achten Sie auf die "
    "Lieferzeit und auf Waren aus russischen Lagern, die schneller ankommen. Rabattcodes und "
    "Gutscheine lohnen sich bei großen Bestellungen. Geht etwas schief, hilft der "
    "Käuferschutz: Reklamationen sollten Kunden innerhalb von 15 Tagen nach Erhalt der "
    "Pakete einreichen, mit Fotos der Ware.")
ADVICE_3 = (
    "Verbrauchertipps: Was russische Kunden bei AliExpress beachten sollten. Die Plattform "
    "lockt mit Rabattcodes, doch Verbraucherschützer raten zu Vorsicht. Wer bestellt, sollte "
    "Lieferzeit, Versandkosten und den Käuferschutz prüfen. Bezahlt wird inzwischen meist "
    "mit der Mir-Karte. Pakete aus russischen Lagern kommen in wenigen Tagen, Bestellungen "
    "aus China dauern Wochen. Gutscheine lohnen sich vor allem bei Aktionstagen.")
JV_NEW = (
    "Alibaba und seine russischen Partner ordnen das Gemeinschaftsunternehmen AliExpress "
    "Russland neu. Nach Angaben aus Moskau will der Staatsfonds RDIF seinen Anteil "
    "aufstocken, während der Mobilfunkkonzern Megafon aussteigt. Der chinesische Konzern "
    "behält eine Minderheitsbeteiligung. Über den Kaufpreis wurde Stillschweigen vereinbart. "
    "Die Wettbewerbsbehörde muss dem Geschäft noch zustimmen, ein Börsengang des Joint "
    "Ventures ist vorerst vom Tisch.")


def topic_words() -> list[str]:
    with open(Path(__file__).resolve().parent.parent / "config" / "monitor.toml", "rb") as fh:
        return [w for words in tomllib.load(fh)["aliases"].values() for w in words]


def positives() -> list[str]:
    with open(LABELLED / "positives.toml", "rb") as fh:
        return [f"{a['title']}. {a['summary']} {a['text']}" for a in tomllib.load(fh)["article"]]


def test_a_story_like_a_rejected_one_is_held_back_and_the_reason_names_it() -> None:
    """One rejected story; the period's other stories (here the labelled positives) tell
    which words are common, and the topic's own words say nothing."""
    model = fit([Example(ADVICE_1, relevant=False, name="Bestellen bei AliExpress aus Russland")],
                background=positives(), topic_words=topic_words())
    advice = model.judge(ADVICE_2)
    assert advice.held_back and advice.like == "Bestellen bei AliExpress aus Russland"
    assert advice.reason.startswith("ähnlich wie „Bestellen bei AliExpress aus Russland“ "
                                    "(als nicht relevant markiert, Ähnlichkeit 0.")
    venture = model.judge(JV_NEW)
    assert not venture.held_back and venture.reason == ""
    assert venture.similarity < model.threshold <= advice.similarity
    assert not any(model.judge(text).held_back for text in positives())


def test_accepted_stories_keep_their_kind_from_being_held_back() -> None:
    accepted = [Example(text, relevant=True) for text in positives()[:10]]
    model = fit([Example(ADVICE_1, relevant=False, name="Ratgeber"), *accepted],
                topic_words=topic_words())
    assert model.judge(ADVICE_3).held_back
    jv = model.judge(JV_NEW)
    assert not jv.held_back and jv.accepted_similarity > jv.similarity


def test_the_same_outlet_section_counts_a_little() -> None:
    model = fit([Example(ADVICE_1, relevant=False, section="ratgeber"),
                 Example(JV_NEW, relevant=True, section="unternehmen")],
                topic_words=topic_words())
    plain = model.judge(ADVICE_3)
    same = model.judge(ADVICE_3, section="ratgeber")
    assert same.similarity == round(plain.similarity + 0.1, 3)


def test_no_verdicts_hold_nothing_back_and_plain_pairs_are_accepted() -> None:
    assert not fit([]).judge(ADVICE_2).held_back
    model = fit([(ADVICE_1, False), (JV_NEW, True)], topic_words=topic_words())
    assert model.judge(ADVICE_2).held_back and not model.judge(JV_NEW).held_back


def test_verdicts_suggest_not_terms_and_additions_with_the_verdicts_they_change() -> None:
    verdicts = [Example(ADVICE_1, False), Example(ADVICE_2, False), Example(ADVICE_3, False),
                *(Example(t, True) for t in positives()[:8]),
                Example("Der Marktplatz Joom verdrängt die chinesische Plattform in Russland, "
                        "die Tochter des Konzerns verliert Kunden an Joom.", True, matched=False),
                Example("Joom wirbt Händler der Plattform ab; Alibaba reagiert mit Rabatten.",
                        True, matched=False)]
    found = {(s.kind, s.term): (s.right, s.wrong) for s in suggest(verdicts, limit=50)}
    assert found[("not", "rabattcodes")] == (3, 0)
    assert found[("not", "gutscheine")] == (3, 0)
    assert found[("add", "joom")] == (2, 0)
    assert ("not", "aliexpress") not in found and ("not", "russland") not in found


def test_content_words_are_folded_base_forms_without_stop_words() -> None:
    assert content_words("Die Bestellungen über AliExpress, 2024 und Größe") == [
        "bestellung", "aliexpress", "groesse"]
    assert content_words("Bestellung Pakete Paket Russlands Händlern") == [
        "bestellung", "paket", "paket", "russland", "haendler"]
    assert Ignored.of(["aliexpress*", "jack ma", "russland"]).content_words(
        "AliExpress-Kunden in Russlands Städten fragen Jack Ma") == ["kunde", "stadt", "fragen"]


def test_importing_the_matcher_does_not_load_scikit_learn() -> None:
    import subprocess

    probe = "import sys, monitor.match; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
