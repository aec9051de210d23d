"""The layout of one field's text: its sentences, and which of them are enumerations.

Aboutness needs to know where a mention sits: ``text_layout`` gives, per word position
(positions as ``normalise.word_spans`` counts them), the sentence it belongs to, and per
sentence whether it is part of an *enumeration*: the run of share prices, index moves,
ranking places or sales figures of many companies typical of market wraps, rankings and
stock tables. A sentence is an enumeration when it holds at least three list items with a
figure (a number with a unit: percent, points, a currency, millions), two of them bare
("Tencent 1,8 Prozent"); a line or a
sentence also is one when it belongs to a run of at least three short lines or sentences
that each carry a figure or start like a list item ("3.", "–", "Platz 4").

Sentences end at line breaks (not where hard-wrapped text goes on in lower case) and at
``.``, ``!`` or ``?`` before a capitalised word, except after a known abbreviation ("Mrd.",
"Nr.") or an ordinal at the start of a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.match.normalise import WORD_RE, word_spans

FIGURE_RE = re.compile(
    r"(?:[+\-\u2212\u2013]\s?)?\d[\d.,]*\s?(?:%|Prozent(?:punkte)?|Basispunkte|Punkte?n?|Zähler"
    r"|Euro|EUR|US-Dollar|Dollar|USD|Rubel|Yuan|Renminbi|Franken|Pfund|Yen|Cent"
    r"|Mrd\.?|Milliarden|Mio\.?|Millionen|Bio\.?|Billionen)(?!\w)"
    r"|[€$₽¥£]\s?\d")
SEPARATOR_RE = re.compile(r",\s|;|\s(?:und|sowie|vor|hinter|gefolgt von)\s|\s[\u2013-]\s")
ITEM_START_RE = re.compile(r"^\s*(?:\d{1,3}[.)]\s|[-•*\u2013\u2022]\s|Platz\s\d)")
END_RE = re.compile(r"[.!?]")
ABBREVIATIONS = frozenset({
    "mrd", "mio", "bio", "tsd", "nr", "dr", "prof", "st", "bzw", "ca", "rd", "vgl", "inkl",
    "zzgl", "ggf", "usw", "etc", "jan", "feb", "febr", "aug", "sept", "okt", "nov", "dez",
    "abs", "art", "co", "mr", "mrs", "gen", "int", "str",
})
MIN_FIGURES = 3          # figures in one sentence that make it an enumeration
MIN_RUN = 3              # short figured lines or sentences in a row that make a list
SHORT_LINE = 25          # words: a line this short may be a list item
SHORT_SENTENCE = 18      # words: a sentence this short may be one item of a prose list
SHORT_ITEM = 3           # words besides its figure in a bare list item


@dataclass(frozen=True, slots=True)
class Layout:
    """Sentence number of every word position, each sentence's first and last position,
    and whether it is (part of) an enumeration."""

    sentence_of: tuple[int, ...]
    bounds: tuple[tuple[int, int], ...]
    listed: tuple[bool, ...]

    @property
    def words(self) -> int:
        return len(self.sentence_of)


def text_layout(text: str) -> Layout:
    """Sentences and enumerations of ``text`` (a field's NFC text)."""
    spans = word_spans(text)
    if not spans:
        return Layout((), (), ())
    line_of, sentence_of = _segments(text, spans)
    bounds = _bounds(sentence_of)
    chars = [(spans[lo][0], spans[hi][1]) for lo, hi in bounds]
    figures = [len(FIGURE_RE.findall(text, a, b)) for a, b in chars]
    listed = [f >= MIN_FIGURES and _enumerates(text[a:b]) for f, (a, b)
              in zip(figures, chars, strict=True)]
    _mark_runs(listed, [f > 0 and hi - lo < SHORT_SENTENCE for f, (lo, hi)
                        in zip(figures, bounds, strict=True)])
    _mark_lines(listed, text, spans, line_of, sentence_of)
    return Layout(tuple(sentence_of), tuple(bounds), tuple(listed))


def _enumerates(sentence: str) -> bool:
    """At least MIN_FIGURES list items with a figure, two of them bare ("Tencent 1,8
    Prozent": at most SHORT_ITEM words besides the figure); a report of several figures
    ("während der Gewinn um 4 Prozent sank") is not a list."""
    items = [part for part in SEPARATOR_RE.split(sentence) if FIGURE_RE.search(part)]
    bare = [p for p in items if len(WORD_RE.findall(FIGURE_RE.sub(" ", p))) <= SHORT_ITEM]
    return len(items) >= MIN_FIGURES and len(bare) >= 2


def _segments(text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Line and sentence number of every word position."""
    line_of, sentence_of = [0], [0]
    line_start = True          # the previous word opened its line
    for i in range(1, len(spans)):
        gap = text[spans[i - 1][1]:spans[i][0]]
        newline = "\n" in gap
        wrapped = newline and _wrapped(gap, text[spans[i - 1][0]], text[spans[i][0]])
        ends = (newline and not wrapped) or _sentence_ends(text, spans, i, gap, line_start)
        line_of.append(line_of[-1] + newline)
        sentence_of.append(sentence_of[-1] + ends)
        line_start = newline
    return line_of, sentence_of


def _wrapped(gap: str, last: str, first: str) -> bool:
    """A line break inside a sentence (hard-wrapped text): no blank line, no punctuation
    around it, and the line ends or the next goes on with a lower-case word."""
    return ((last.islower() or first.islower()) and "\n\n" not in gap.replace(" ", "")
            and not END_RE.search(gap))


def _sentence_ends(text: str, spans: list[tuple[int, int]], i: int, gap: str,
                   after_line_start: bool) -> bool:
    if not END_RE.search(gap) or not gap[-1:].isspace():
        return False
    prev = text[spans[i - 1][0]:spans[i - 1][1]]
    nxt = text[spans[i][0]:spans[i][0] + 1]
    if prev.casefold() in ABBREVIATIONS or (len(prev) == 1 and prev.isalpha()):
        return False
    if prev.isdigit() and after_line_start:
        return False           # "3. Ozon": an ordinal opening a list line
    return nxt.isupper() or nxt.isdigit() or not nxt.isalpha()


def _bounds(sentence_of: list[int]) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    for pos, sid in enumerate(sentence_of):
        if sid == len(bounds):
            bounds.append((pos, pos))
        else:
            bounds[sid] = (bounds[sid][0], pos)
    return bounds


def _mark_runs(listed: list[bool], items: list[bool]) -> None:
    """Mark every item that belongs to a run of at least MIN_RUN items in a row."""
    start = 0
    for i in range(len(items) + 1):
        if i < len(items) and items[i]:
            continue
        if i - start >= MIN_RUN:
            for j in range(start, i):
                listed[j] = True
        start = i + 1


def _mark_lines(listed: list[bool], text: str, spans: list[tuple[int, int]],
                line_of: list[int], sentence_of: list[int]) -> None:
    """Short lines with a figure or a list marker, at least MIN_RUN in a row, are a list:
    every sentence on them is an enumeration."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for pos, line in enumerate(line_of):
        first.setdefault(line, pos)
        last[line] = pos
    lines = sorted(first)
    items = []
    for line in lines:
        lo, hi = first[line], last[line]
        start = text.rfind("\n", 0, spans[lo][0]) + 1
        chunk = text[start:spans[hi][1]]
        goes_on = hi + 1 < len(spans) and _wrapped(text[spans[hi][1]:spans[hi + 1][0]],
                                                   text[spans[hi][0]], text[spans[hi + 1][0]])
        items.append(hi - lo < SHORT_LINE and bool(
            ITEM_START_RE.match(chunk) or (FIGURE_RE.search(chunk) and not goes_on)))
    flags = [False] * len(lines)
    _mark_runs(flags, items)
    for line, flag in zip(lines, flags, strict=True):
        if flag:
            for pos in range(first[line], last[line] + 1):
                listed[sentence_of[pos]] = True
