"""Search in the matcher's words: the index text of an article, the forms of a query, and
snippets with the found words marked.

Owns the one rule that makes search German-aware the way topics are: every word of an
article's title and text, and every word of a query, becomes its folded base forms through
``monitor.match.Normaliser`` ("Gemeinschaftsunternehmens" and "Gemeinschaftsunternehmen"
both become "gemeinschaftsunternehmen"). ``refresh`` brings the store's index up to the
newest revisions a batch at a time; ``snippet`` cuts the stored text around the first word
found and marks every found word in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from monitor.match import Normaliser
from monitor.match.normalise import WORD_RE
from monitor.store.search import Unindexed

SNIPPET_CHARS = 240


class SearchIndex(Protocol):
    def unindexed_revisions(self, limit: int = 500) -> list[Unindexed]: ...

    def save_search_text(self, rows: list[tuple[int, int, str]]) -> None: ...


def index_text(normaliser: Normaliser, title: str, text: str) -> str:
    """The folded base forms of every word (and every part of a joined word), in order."""
    forms: list[str] = []
    for keys in normaliser.keys_many(WORD_RE.findall(f"{title}\n{text}")):
        for key in (keys, *keys.parts):
            forms.extend(key.bases)
    return " ".join(forms)


def query_forms(normaliser: Normaliser, query: str) -> list[list[str]]:
    """Each word of the query as the forms any of which may stand for it."""
    words = []
    for group in normaliser.words(query):
        whole = group[0]
        words.append(sorted({*whole.bases, whole.surface}))
    return words


def refresh(index: SearchIndex, normaliser: Normaliser, *, batches: int = 40,
            batch: int = 500) -> int:
    """Index revisions stored since the last refresh; returns how many were indexed."""
    done = 0
    for _ in range(batches):
        pending = index.unindexed_revisions(batch)
        if not pending:
            break
        index.save_search_text([(p.article_id, p.revision_id,
                                 index_text(normaliser, p.title, p.text)) for p in pending])
        done += len(pending)
    return done


@dataclass(frozen=True, slots=True)
class Snippet:
    parts: tuple[tuple[bool, str], ...]      # (marked, text)


def snippet(normaliser: Normaliser, text: str, words: list[list[str]]) -> Snippet:
    """A piece of ``text`` around the first found word, every found word marked."""
    wanted = {form for forms in words for form in forms}
    spans = [m.span() for m in WORD_RE.finditer(text)
             if _found(normaliser, m.group(), wanted)]
    start = max(0, spans[0][0] - SNIPPET_CHARS // 3) if spans else 0
    end = min(len(text), start + SNIPPET_CHARS)
    parts: list[tuple[bool, str]] = [(False, "…")] if start else []
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        parts += [(False, text[pos:s]), (True, text[s:e])]
        pos = e
    parts.append((False, text[pos:end] + ("…" if end < len(text) else "")))
    return Snippet(tuple(p for p in parts if p[1]))


def _found(normaliser: Normaliser, word: str, wanted: set[str]) -> bool:
    keys = normaliser.keys(word)
    return any(base in wanted for key in (keys, *keys.parts) for base in key.bases)
