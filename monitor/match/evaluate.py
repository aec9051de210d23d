"""Compiled queries: a tree of matchers that find occurrences in a prepared Document.

``compile_node`` turns a syntax tree into matchers once per topic: aliases expanded
(each entry a word, a phrase or a prefix), words normalised like the text, field scopes
pushed down to the leaves. A matcher's ``run`` returns whether it holds and where it hit
(``Occ``: field, word positions, character marks); results are memoised per document
so an alias used twice is looked up once. NEAR counts the words *between* its two
sides: ``a NEAR/2 b`` holds for "a x y b" and "b x y a" but not "a x y z b".
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from monitor.errors import QueryError
from monitor.match.ast import Alias, And, Field, Near, Node, Not, Or, Phrase, Term
from monitor.match.document import FIELDS, Document, FieldIndex
from monitor.match.normalise import Keys, Normaliser, fold, has_word_char
from monitor.match.parser import format_query, query_error

ALL_FIELDS = (0, 1, 2)
MAX_PAIRS = 50


class Occ(NamedTuple):
    """Where a clause hit: field number, first and last word position, and the word
    position spans to mark (two for a NEAR pair)."""

    field: int
    lo: int
    hi: int
    marks: tuple[tuple[int, int], ...]
    gap: int = -1          # for NEAR: the number of words between the two sides


Result = tuple[bool, list[Occ]]
Memo = dict[int, Result]
Step = Keys | str    # a word's keys, or a prefix (str)


def lookup(fi: FieldIndex, step: Step) -> Sequence[int]:
    """Ids of the words in ``fi`` that ``step`` matches."""
    if isinstance(step, str):
        return fi.prefixed(step)
    found = fi.surface.get(step.surface)
    for base in step.bases:
        more = fi.bases.get(base)
        if more:
            found = sorted(set(found or ()) | set(more)) if found else more
    return found or []


class Run:
    """A run of consecutive words (one step is a single word or prefix)."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.steps = steps

    def find(self, fi: FieldIndex, f: int) -> list[Occ]:
        first = lookup(fi, self.steps[0])
        if not first:
            return []
        spans = [fi.bounds(i) for i in first]
        if len(self.steps) == 1:
            return [Occ(f, lo, hi, ((lo, hi),)) for lo, hi in spans]
        later = []
        for step in self.steps[1:]:
            found = lookup(fi, step)
            if not found:
                return []
            later.append(dict(map(fi.bounds, found)))
        occs = []
        for lo, hi in spans:
            end = hi
            for by_lo in later:
                following = by_lo.get(end + 1)
                if following is None:
                    break
                end = following
            else:
                occs.append(Occ(f, lo, end, ((lo, end),)))
        return occs


class Matcher:
    label = ""

    def run(self, doc: Document, memo: Memo) -> Result:
        key = id(self)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._run(doc, memo)
        return found

    def _run(self, doc: Document, memo: Memo) -> Result:
        raise NotImplementedError


class Clause(Matcher):
    """A word, phrase or alias: the unit an explanation reports."""

    def __init__(self, label: str, seqs: Sequence[Run], fields: tuple[int, ...]) -> None:
        self.label, self.seqs, self.fields = label, tuple(seqs), fields

    def _run(self, doc: Document, memo: Memo) -> Result:
        occs: list[Occ] = []
        for f in self.fields:
            fi = doc.fields[f]
            if fi.surface:
                for seq in self.seqs:
                    occs.extend(seq.find(fi, f))
        if len(self.seqs) > 1 and occs:
            occs = list({(o.field, o.lo, o.hi): o for o in sorted(occs)}.values())
        return bool(occs), occs


class AndM(Matcher):
    def __init__(self, children: Sequence[Matcher], label: str = "") -> None:
        self.children, self.label = tuple(children), label

    def _run(self, doc: Document, memo: Memo) -> Result:
        occs: list[Occ] = []
        for child in self.children:
            ok, found = child.run(doc, memo)
            if not ok:
                return False, []
            occs.extend(found)
        return True, occs


class OrM(Matcher):
    def __init__(self, children: Sequence[Matcher], label: str = "") -> None:
        self.children, self.label = tuple(children), label

    def _run(self, doc: Document, memo: Memo) -> Result:
        truth, occs = False, []
        for child in self.children:
            ok, found = child.run(doc, memo)
            truth = truth or ok
            occs.extend(found)
        return truth, occs


class NotM(Matcher):
    def __init__(self, child: Matcher, label: str = "") -> None:
        self.child, self.label = child, label

    def _run(self, doc: Document, memo: Memo) -> Result:
        return not self.child.run(doc, memo)[0], []


class NearM(Matcher):
    def __init__(self, label: str, left: Matcher, right: Matcher, distance: int) -> None:
        self.label, self.left, self.right, self.distance = label, left, right, distance

    def _run(self, doc: Document, memo: Memo) -> Result:
        ok, lefts = self.left.run(doc, memo)
        if not (ok and lefts):
            return False, []
        ok, rights = self.right.run(doc, memo)
        if not (ok and rights):
            return False, []
        pairs = self._pairs(lefts, sorted(rights))
        return bool(pairs), pairs

    def _pairs(self, lefts: list[Occ], rights: list[Occ]) -> list[Occ]:
        """Pairs within the distance; ``rights`` sorted, so each left scans only its window."""
        n, width = self.distance, max(b.hi - b.lo for b in rights)
        keys = [(b.field, b.lo) for b in rights]
        pairs: list[Occ] = []
        for a in lefts:
            i = bisect.bisect_left(keys, (a.field, a.lo - n - 1 - width))
            while i < len(rights) and keys[i] <= (a.field, a.hi + n + 1):
                b = rights[i]
                gap = b.lo - a.hi - 1 if b.lo > a.hi else a.lo - b.hi - 1
                if 0 <= gap <= n:
                    marks = tuple(sorted(a.marks + b.marks))
                    pairs.append(Occ(a.field, min(a.lo, b.lo), max(a.hi, b.hi), marks, gap))
                    if len(pairs) >= MAX_PAIRS:
                        return pairs
                i += 1
        return pairs


class Compiler:
    """Builds matchers for one topic; aliases resolved against the config's lists."""

    def __init__(self, query: str, topic: str, aliases: Mapping[str, Sequence[str]],
                 normaliser: Normaliser) -> None:
        self.query, self.topic, self.aliases, self.norm = query, topic, aliases, normaliser
        self._shared: dict[tuple[str, tuple[int, ...]], Clause] = {}

    def compile(self, node: Node, fields: tuple[int, ...] = ALL_FIELDS, scope: str = "") -> Matcher:
        if isinstance(node, Field):
            return self.compile(node.child, (FIELDS.index(node.name),), f"{node.name}:")
        if isinstance(node, Not):
            return NotM(self.compile(node.child, fields, scope), scope + format_query(node))
        if isinstance(node, And):
            return AndM([self.compile(c, fields, scope) for c in node.children],
                        scope + format_query(node))
        if isinstance(node, Or):
            return OrM([self.compile(c, fields, scope) for c in node.children],
                       scope + format_query(node))
        if isinstance(node, Near):
            left, right = (self.compile(n, fields, scope) for n in (node.left, node.right))
            return NearM(scope + format_query(node), left, right, node.distance)
        return self.leaf(node, fields, scope)

    def leaf(self, node: Term | Phrase | Alias, fields: tuple[int, ...], scope: str) -> Clause:
        key = (scope + format_query(node), fields)
        if key not in self._shared:
            if isinstance(node, Alias):
                seqs = self.alias(node.name)
            elif isinstance(node, Phrase):
                seqs = [self.phrase(node.text)]
            else:
                seqs = self.term(node.text, node.prefix)
            self._shared[key] = Clause(key[0], seqs, fields)
        return self._shared[key]

    def term(self, text: str, prefix: bool) -> list[Run]:
        if prefix:
            return [Run((fold(text),))]
        words = self.norm.words(text)
        if len(words) == 1 and len(words[0]) > 1:      # joined: whole, or its parts in a row
            return [Run((words[0][0],)), Run(tuple(words[0][1:]))]
        return [Run(tuple(k for w in words for k in (w[1:] or w)))]

    def phrase(self, text: str) -> Run:
        steps: list[Step] = []
        for chunk in text.split():
            if chunk.endswith("*"):
                steps.append(fold(chunk[:-1]))
            else:
                steps.extend(k for w in self.norm.words(chunk) for k in (w[1:] or w))
        return Run(tuple(steps))

    def alias(self, name: str) -> list[Run]:
        if name not in self.aliases:
            raise self.error(f"unknown alias @{name}", f"@{name}", "a configured alias")
        seqs: list[Run] = []
        entries = self.aliases[name]
        for entry in [entries] if isinstance(entries, str) else entries:
            entry = str(entry).strip()
            if not has_word_char(entry):
                raise self.error(f"alias @{name} has an unusable entry {entry!r}", f"@{name}",
                                 "a word, phrase or prefix*")
            if len(entry.split()) > 1:
                seqs.append(self.phrase(entry))
            else:
                seqs.extend(self.term(entry.rstrip("*"), entry.endswith("*")))
        return seqs

    def error(self, msg: str, needle: str, expected: str) -> QueryError:
        col = self.query.find(needle) + 1 or 1
        return query_error(msg, col, expected, self.topic)
