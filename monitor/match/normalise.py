"""Text normalisation shared by documents and query terms: folding, tokens and lemmas.

Owns the one definition of "the same word": Unicode NFKC, case folding, German umlauts
and sharp s folded to their two-letter spellings (ä→ae, ö→oe, ü→ue, ß→ss), lemmas from
simplemma (German) reading its dictionary from a table on disk (``monitor.match.lemmas``),
and a light fallback for genitive/plural "-s" that simplemma leaves
alone ("Russlands", "Ventures"). A word is a run of word characters joined by hyphens,
dots, slashes, apostrophes or ampersands; a joined word ("Russland-Sanktionen",
"Mail.Ru") yields the whole word plus one entry per part, so it is found whole and by
part. Word positions count parts: "Russland-Sanktionen" takes two. ``Normaliser`` holds
the per-process surface→keys cache (bounded) and opens the lemma table lazily, on the
first word it has not seen; the dictionary itself never sits in memory.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

LANG = "de"
CACHE_LIMIT = 50_000       # surface forms kept before the cache is cleared and refilled

WORD_RE = re.compile(r"\w+(?:[-\u2010\u2011.'\u2019&/]\w+)*")
PART_RE = re.compile(r"\w+")
WORD_CHAR_RE = re.compile(r"\w")
_FOLD_TABLE = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss",
    "\u2019": "'", "\u2010": "-", "\u2011": "-",
})


def fold(text: str) -> str:
    """NFKC, case folding, umlauts and ß to their two-letter forms."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD_TABLE)


@dataclass(frozen=True, slots=True)
class Keys:
    """How one word is looked up: its folded surface form, its folded base forms, and for
    a joined word ("Russland-Sanktionen") the keys of its parts."""

    surface: str
    bases: tuple[str, ...]
    parts: tuple[Keys, ...] = ()


class Normaliser:
    """Folds and lemmatises words, remembering every surface form it has seen."""

    def __init__(self, lang: str = LANG, cache_limit: int = CACHE_LIMIT) -> None:
        self._lang = lang
        self._limit = cache_limit
        self._cache: dict[str, Keys] = {}
        self._lemmatize: Callable[..., str] | None = None

    def keys(self, word: str) -> Keys:
        """The lookup keys of one word as written (case and umlauts intact)."""
        found = self._cache.get(word)
        if found is None:
            found = self._compute(word)
            if len(self._cache) >= self._limit:
                log.info("lemma_cache_cleared size=%d", len(self._cache))
                self._cache.clear()
            self._cache[word] = found
        return found

    def keys_many(self, words: list[str]) -> list[Keys]:
        """Keys of many words; the cache hit is the hot path of preparing a document."""
        cached, keys = self._cache.get, self.keys
        return [cached(w) or keys(w) for w in words]

    @property
    def cached_words(self) -> int:
        return len(self._cache)

    def _compute(self, word: str) -> Keys:
        surface = fold(word)
        lemma = self._lemma(word)
        bases = {fold(lemma)}
        if lemma == word and len(word) >= 4 and word[-1] == "s" and word[-2:] != "ss":
            bases.add(surface[:-1])      # "Russlands" -> "russland", "Ventures" -> "venture"
        parts = PART_RE.findall(word)
        joined = tuple(self.keys(p) for p in parts) if len(parts) > 1 else ()
        return Keys(surface, tuple(sorted(bases)), joined)

    def _lemma(self, word: str) -> str:
        if self._lemmatize is None:
            from monitor.match.lemmas import table_lemmatizer

            log.info("lemma_data_loading lang=%s source=table", self._lang)
            self._lemmatize = table_lemmatizer(self._lang).lemmatize
        try:
            return str(self._lemmatize(word, lang=self._lang))
        except (ValueError, TypeError, KeyError):
            return word

    def words(self, text: str) -> list[list[Keys]]:
        """A query's words: one list per written word, the whole word first, then parts."""
        return [[k, *k.parts] if k.parts else [k] for k in self.keys_many(WORD_RE.findall(text))]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character (start, end) of every word position: a joined word's parts one by one."""
    spans: list[tuple[int, int]] = []
    for m in WORD_RE.finditer(text):
        parts = list(PART_RE.finditer(m.group()))
        if len(parts) == 1:
            spans.append(m.span())
        else:
            spans.extend((m.start() + p.start(), m.start() + p.end()) for p in parts)
    return spans


def has_word_char(text: str) -> bool:
    return WORD_CHAR_RE.search(text) is not None
