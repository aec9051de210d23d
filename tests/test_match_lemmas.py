"""The lemma table gives exactly simplemma's lemmas, and the dictionary stays out of memory."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import simplemma

from monitor.match.lemmas import LemmaTable, build_table, table_lemmatizer
from monitor.match.normalise import PART_RE, WORD_RE

FIXTURES = Path(__file__).parent / "fixtures"
PROSE = """Die Händler verkauften über AliExpress in Russlands Regionen mehr als erwartet.
Russland-Sanktionen trafen die Zulieferer; Mail.Ru und die Onlinehändlerin meldeten
Rekordumsätze. Großkundinnen bestellten Halbleiterfertigungsanlagen, Lieferkettenprobleme
hielten an. Die Aufsichtsrätin sagte: "Wir häuften Verluste an, aber die Häuser stehen."
"""


@pytest.fixture(scope="module")
def words() -> list[str]:
    """Word forms from our German fixtures and prose, their parts, and cased variants."""
    found: set[str] = set()
    texts = [PROSE] + [p.read_text(encoding="utf-8", errors="replace")
                       for p in sorted(FIXTURES.rglob("*")) if p.is_file()]
    for text in texts:
        for word in WORD_RE.findall(text):
            found.add(word)
            found.update(PART_RE.findall(word))
    found |= {w.lower() for w in list(found)} | {w.capitalize() for w in list(found)}
    return sorted(found)


def test_table_lemmatizer_gives_simplemmas_lemmas(words: list[str]) -> None:
    ours = table_lemmatizer("de")
    assert len(words) > 2000
    assert [ours.lemmatize(w, "de") for w in words] == \
        [simplemma.lemmatize(w, lang="de") for w in words]


def test_a_built_table_holds_the_whole_dictionary(tmp_path: Path) -> None:
    from simplemma.strategies.dictionaries.dictionary_factory import (
        DEFAULT_DICTIONARY_FACTORY,
    )

    target = tmp_path / "de.sqlite"
    build_table("de", target)
    table, shipped = LemmaTable(target), DEFAULT_DICTIONARY_FACTORY.get_dictionary("de")
    assert len(table) == len(shipped)
    sample = random.Random(7).sample(sorted(shipped), 2000)
    assert {k: table[k] for k in sample} == {k: shipped[k] for k in sample}
    assert table.get("Quatschwortgibtsnicht") is None
    assert not list(tmp_path.glob("*.part"))


def test_matching_a_text_does_not_load_the_dictionary() -> None:
    probe = ("from monitor.match import prepare_document\n"
             "doc = prepare_document(title='Russlands Händler', summary='', "
             "text='Die Häuser der Händler stehen.')\n"
             "field = doc.field('title')\n"
             "print('russland' in field.bases, 'haendler' in field.bases)\n"
             "from simplemma.strategies.dictionaries.dictionary_factory import "
             "DEFAULT_DICTIONARY_FACTORY as f\n"
             "print(f._get_dictionary.cache_info().currsize)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "True", "0"]   # lemmas found, no dict cached
