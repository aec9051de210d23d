"""The pure logic of article deltas: identity hashes, cosmetic normalisation, word diffs.

This module owns the answer to "did this article change, and did it change in a way an
analyst cares about?". ``text_hash`` decides whether a new revision is stored at all;
``cosmetic_normalise`` strips what must never count as a change (timestamp lines such as
"Aktualisiert am 12.03.2022, 14:05 Uhr", related-links and teaser blocks, typographic quote
and dash styles, odd spaces); ``word_diff`` and ``changed_sentences`` compare two versions
on that normalised text; ``is_material`` judges the result. ``trim_segments`` is the one
rule for showing a diff short (context words around each change, the rest elided with
``…``): ``short_diff`` renders it as plain text and notify's mail views use it too.
No I/O, no clock, no store.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

from monitor.models import DiffOp, WordDiff

# Typographic look-alikes folded to their plain forms, written as escapes so every one is
# visible in review. ``…`` becomes three dots.
_CHAR_MAP = str.maketrans({
    # double quotes: German low and high, English left and right, guillemets, reversed,
    # double prime, the two CJK double-prime quotes, fullwidth
    **dict.fromkeys("\u201e\u201c\u201d\u00ab\u00bb\u201f\u2033\u301d\u301e\uff02", '"'),
    # single quotes: German low, English left and right, single guillemets, reversed,
    # prime, grave accent, acute accent
    **dict.fromkeys("\u201a\u2018\u2019\u2039\u203a\u201b\u2032\u0060\u00b4", "'"),
    # hyphens and dashes: hyphen, non-breaking hyphen, figure dash, en dash, em dash,
    # horizontal bar, minus sign, hyphen bullet
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043", "-"),
    # spaces: no-break, figure, thin, hair, narrow no-break, en, em, three- to six-per-em,
    # medium mathematical
    **dict.fromkeys("\u00a0\u2007\u2009\u200a\u202f\u2002\u2003\u2004\u2005\u2006\u205f", " "),
    # invisible: soft hyphen, zero-width space/non-joiner/joiner, word joiner, BOM
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
    "\u2026": "...",   # horizontal ellipsis
})
# The same fold as a pattern: texts hold few such characters, and a regex finds them in a
# fraction of the time ``str.translate`` takes to look up every character in the table.
_CHAR_RE = re.compile("[" + re.escape("".join(map(chr, _CHAR_MAP))) + "]")


def fold_typography(text: str) -> str:
    """``text.translate(_CHAR_MAP)``: typographic look-alikes folded to plain forms."""
    return _CHAR_RE.sub(lambda found: str(_CHAR_MAP[ord(found[0])]), text)

_DATE = r"\d{1,2}\.\s?(?:\d{1,2}\.|[^\W\d_]{3,}\.?)\s?(?:\d{2,4})?"
_TIME = r"\d{1,2}[:.]\d{2}(?:\s?Uhr)?"
_STAMP = rf"(?:{_DATE})?[,|\s-]*(?:um\s)?(?:{_TIME})?"
# Timestamp phrases removed wherever they occur (also when extraction glued them to a paragraph).
_STAMP_PHRASE = re.compile(
    rf"(?:(?:Zuletzt\s)?[Aa]ktualisiert(?:\sam)?:?|Stand:|Veröffentlicht(?:\sam)?:?|"
    rf"Erstellt(?:\sam)?:?)\s(?:{_DATE})[,|\s-]*(?:um\s)?(?:{_TIME})?"
)
# Whole lines that are only a timestamp or a relative age.
_STAMP_LINE = re.compile(
    rf"^(?:(?:Zuletzt\s)?[Aa]ktualisiert\b.*|Stand:.*|{_STAMP}|"
    rf"(?:vor\s(?:einer|einem|\d+)\s(?:Sekunden?|Minuten?|Stunden?|Tag(?:en)?|Woche(?:n)?)|"
    rf"(?:heute|gestern),?\s(?:um\s)?{_TIME}))\.?$",
    re.IGNORECASE,
)
_TEASER_INLINE = re.compile(
    r"^(?:Lesen\sSie\s(?:auch|mehr)|Zum\sThema|Mehr\szum\sThema|Auch\sinteressant|Siehe\sauch)\s?:",
    re.IGNORECASE,
)
_TEASER_HEAD = re.compile(
    r"^(?:Mehr\szum\sThema|Lesen\sSie\sauch|Das\skönnte\sSie\sauch\sinteressieren|"
    r"Weitere\sArtikel(?:\szum\sThema)?|Zum\sThema|Auch\sinteressant|Verwandte\sArtikel|"
    r"Empfehlungen\sder\sRedaktion)\s?:?$",
    re.IGNORECASE,
)
_TEASER_ITEM_MAX_WORDS = 14
_STAMP_LINE_MAX_WORDS = 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-ZÄÖÜ0-9])")
_NO_SPLIT_BEFORE = re.compile(
    r"(?:\b(?:z\.\s?B|d\.\s?h|u\.\s?a|bzw|ca|Dr|Prof|Nr|Mio|Mrd|Tsd|Abs|Art|vgl|ggf|inkl|"
    r"St|Str|Jan|Feb|Aug|Sept?|Okt|Nov|Dez|usw|etc)|\b\d{1,2}|\b[A-Za-z])\.$"
)


def _squash(text: str) -> str:
    return " ".join(text.split())


def text_hash(title: str, text: str) -> str:
    """sha256 hex of title, NUL and text, each NFC-normalised with whitespace runs squashed."""
    norm = [_squash(unicodedata.normalize("NFC", part)) for part in (title, text)]
    return hashlib.sha256("\0".join(norm).encode("utf-8")).hexdigest()


def _is_stamp_line(line: str) -> bool:
    return len(line.split()) <= _STAMP_LINE_MAX_WORDS and bool(_STAMP_LINE.match(line))


def _is_teaser_item(line: str) -> bool:
    """A link title under a teaser heading: short, and not a sentence ending in a full stop."""
    return len(line.split()) <= _TEASER_ITEM_MAX_WORDS and not line.endswith(".")


def _drop_teasers(lines: list[str]) -> list[str]:
    """Remove "Mehr zum Thema" blocks (heading plus its short link lines) and teaser lines."""
    kept: list[str] = []
    in_block = False
    for line in lines:
        if _TEASER_HEAD.match(line):
            in_block = True
        elif in_block and line and _is_teaser_item(line):
            continue
        else:
            in_block = False
            if not _TEASER_INLINE.match(line):
                kept.append(line)
    return kept


def cosmetic_normalise(text: str) -> str:
    """Text with everything that must never count as a change removed; one paragraph a line.

    Strips timestamp lines and phrases, related-links/teaser blocks, maps typographic quotes
    and dashes to plain ones, drops soft hyphens and zero-width characters, turns unusual
    spaces into plain ones, squashes whitespace runs and drops empty lines.
    """
    text = fold_typography(unicodedata.normalize("NFC", text))
    lines = [_squash(_STAMP_PHRASE.sub(" ", line)) for line in text.splitlines()]
    lines = [line for line in lines if not _is_stamp_line(line)]
    return "\n".join(line for line in _drop_teasers(lines) if line)


def _opcode_segments(old: list[str], new: list[str]) -> list[tuple[DiffOp, list[str]]]:
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    segments: list[tuple[DiffOp, list[str]]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("=", old[i1:i2]))
            continue
        if i2 > i1:
            segments.append(("-", old[i1:i2]))
        if j2 > j1:
            segments.append(("+", new[j1:j2]))
    return segments


def _paragraph_segments(old: list[str], new: list[str]) -> list[tuple[DiffOp, list[str]]]:
    """Diff paragraphs first, then words inside changed paragraph runs: fast on long texts."""
    segments: list[tuple[DiffOp, list[str]]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old_words = " ".join(old[i1:i2]).split()
        if tag == "equal":
            segments.append(("=", old_words))
        else:
            segments.extend(_opcode_segments(old_words, " ".join(new[j1:j2]).split()))
    return segments


def _merge(segments: list[tuple[DiffOp, list[str]]]) -> tuple[tuple[DiffOp, str], ...]:
    merged: list[tuple[DiffOp, list[str]]] = []
    for op, words in segments:
        if not words:
            continue
        if merged and merged[-1][0] == op:
            merged[-1][1].extend(words)
        else:
            merged.append((op, list(words)))
    return tuple((op, " ".join(words)) for op, words in merged)


def word_diff(old_title: str, old_text: str, new_title: str, new_text: str) -> WordDiff:
    """Word-level diff of two versions of an article, on their cosmetically normalised text.

    Segments cover the body text only; a title change shows as ``title_changed``.
    """
    old = cosmetic_normalise(old_text).splitlines()
    new = cosmetic_normalise(new_text).splitlines()
    segments = _merge(_paragraph_segments(old, new))
    return WordDiff(
        segments=segments,
        added_words=sum(len(text.split()) for op, text in segments if op == "+"),
        removed_words=sum(len(text.split()) for op, text in segments if op == "-"),
        title_changed=(_squash(cosmetic_normalise(old_title))
                       != _squash(cosmetic_normalise(new_title))),
    )


def split_sentences(text: str) -> list[str]:
    """Sentences of normalised text: paragraphs split after . ! ? before a capital letter.

    Common German abbreviations ("z. B.", "Mio.", "Dr.") and ordinals ("12. März") do not
    end a sentence; where the rule errs, two sentences stay together, never a word lost.
    """
    sentences: list[str] = []
    for paragraph in text.splitlines():
        current = ""
        for piece in _SENTENCE_END.split(paragraph):
            current = f"{current} {piece}" if current else piece
            if not _NO_SPLIT_BEFORE.search(current):
                sentences.append(current)
                current = ""
        if current:
            sentences.append(current)
    return sentences


def changed_sentences(old_text: str, new_text: str) -> list[str]:
    """Sentences of the new text (normalised) that the old text does not contain, in order."""
    old = set(split_sentences(cosmetic_normalise(old_text)))
    result: list[str] = []
    for sentence in split_sentences(cosmetic_normalise(new_text)):
        if sentence not in old and sentence not in result:
            result.append(sentence)
    return result


def is_material(diff: WordDiff, *, min_words: int = 8, hit_in_changed: bool = False) -> bool:
    """True when the title changed, enough words changed, or a changed sentence holds a hit."""
    changed = diff.added_words + diff.removed_words
    return diff.title_changed or changed >= min_words or hit_in_changed


ELISION = "…"
Segment = tuple[DiffOp, str]


def trim_segments(segments: Sequence[Segment], *, context: int, max_changes: int | None = None,
                  min_elided: int = 1) -> tuple[Segment, ...]:
    """The one trimming rule: unchanged runs cut to ``context`` words next to each change.

    The text before the first change keeps only its last ``context`` words, the text after
    the last change only its first ones, and a run between two changes both ends; what is
    cut becomes one ``…`` word, and only when it stands for at least ``min_elided`` words.
    After ``max_changes`` changes the rest of the diff is one ``…``. Unchanged runs come back
    as single-spaced words (empty ones are dropped); changes come back as they are.
    """
    out: list[Segment] = []
    changes = 0
    last = len(segments) - 1
    for index, (op, text) in enumerate(segments):
        if op == "=":
            kept = _trim_run(text.split(), head=0 if index == 0 else context,
                             tail=0 if index == last else context, min_elided=min_elided)
            out.extend([("=", " ".join(kept))] if kept else [])
            continue
        changes += 1
        if max_changes is not None and changes > max_changes:
            out.append(("=", ELISION))
            break
        out.append((op, text))
    return tuple(out)


def _trim_run(words: list[str], *, head: int, tail: int, min_elided: int) -> list[str]:
    """``head`` words, ``…`` and ``tail`` words, or all of them when too few would be cut."""
    if len(words) - head - tail < min_elided:
        return words
    return [*words[:head], ELISION, *words[len(words) - tail:]]


def short_diff(diff: WordDiff, *, context: int = 6, max_chars: int = 600) -> str:
    """A compact plain rendering: "… context [-removed-] [+added words+] context …".

    Unchanged text beyond ``context`` words of a change is elided with "…" (``trim_segments``);
    the result is cut at a word boundary to at most ``max_chars`` characters. Empty when the
    body is unchanged. The ``deltas`` command and the logs print it.
    """
    if not any(op != "=" for op, _ in diff.segments):
        return ""
    pieces: list[str] = []
    for op, text in trim_segments(diff.segments, context=context):
        pieces.extend(text.split() if op == "=" else [f"[{op}{text}{op}]"])
    rendered = " ".join(pieces)
    return rendered if len(rendered) <= max_chars else _fit(pieces, max_chars - 2)


def _fit(pieces: list[str], budget: int) -> str:
    """Join pieces within ``budget`` characters, cutting a too long change inside its brackets."""
    out: list[str] = []
    used = 0
    for piece in pieces:
        room = budget - used - (1 if out else 0)
        if len(piece) <= room:
            out.append(piece)
            used += len(piece) + (1 if len(out) > 1 else 0)
            continue
        if piece.startswith(("[+", "[-")) and room > 12:
            inner = piece[2:-2][: room - 6].rsplit(" ", 1)[0]
            out.append(f"[{piece[1]}{inner} …{piece[1]}]")
        break
    return " ".join([*out, "…"])
