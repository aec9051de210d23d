"""Aboutness: how much a document is *about* a topic whose query holds, in named parts.

A query that holds is read as alternatives (the branches of a top-level ``OR``), each a
list of *sides*: the operands of its ``AND`` and ``NEAR`` (``@alibaba NEAR/15 @russland``
has the sides @alibaba and @russland; a single word is one side). A branch scores

- **mentions**: its weakest side's weight, each mention weighing 3 in the title, 2 in the
  lead (the feed's teaser or the first 45 words) and 1 in the body, a quarter of that
  inside an enumeration (``layout``), at most 6 per side; half of that when the sides are
  never named in one sentence outside an enumeration;
- **together**: the sentences that name every side (two or more sides), each weighed by
  where its first mention sits, at most 6;
- **share**: the part of the text within 12 words of a mention outside enumerations,
  counted up to half the text and worth up to 1 point.

The score is the best branch's sum. So a story naming Alibaba and Russia once each in a
market wrap's list of share moves scores well under one that spends a paragraph on
Alibaba's Russian business, however long the article around that paragraph is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from monitor.match.document import Document
from monitor.match.evaluate import AndM, Matcher, Memo, NearM, NotM, Occ, OrM

PLACE_WEIGHT = {"title": 3.0, "lead": 2.0, "body": 1.0}
LISTED_FACTOR = 0.25
SIDE_CAP = 6.0
TOGETHER_CAP = 6.0
WINDOW = 12
SHARE_CAP = 0.5
SHARE_WEIGHT = 2.0
APART_FACTOR = 0.5


@dataclass(frozen=True, slots=True)
class Side:
    """How often one side of a branch is named, and where."""

    label: str
    title: int = 0
    lead: int = 0
    body: int = 0
    listed: int = 0              # of those, inside enumerations
    weight: float = 0.0

    @property
    def mentions(self) -> int:
        return self.title + self.lead + self.body


@dataclass(frozen=True, slots=True)
class Aboutness:
    """The parts of a branch's score and the score itself."""

    branch: str
    sides: tuple[Side, ...]
    together: int = 0            # sentences naming every side, outside enumerations
    together_listed: int = 0     # such sentences inside enumerations
    together_weight: float = 0.0
    share: float = 0.0           # fraction of the words near a mention outside enumerations
    score: float = 0.0

    @property
    def weakest(self) -> Side | None:
        return min(self.sides, key=lambda s: s.weight) if self.sides else None

    @property
    def mentions_part(self) -> float:
        """The weakest side's weight; halved when several sides are never named together."""
        weakest = self.weakest
        if weakest is None:
            return 0.0
        apart = len(self.sides) > 1 and not self.together
        return weakest.weight * (APART_FACTOR if apart else 1.0)

    @property
    def share_part(self) -> float:
        return SHARE_WEIGHT * min(self.share, SHARE_CAP)


NONE = Aboutness("", ())


def assess(root: Matcher, doc: Document, memo: Memo) -> Aboutness:
    """The aboutness of ``doc`` for a query (``root``) that holds: its best branch."""
    scored = [score_branch(label, sides, doc, memo) for label, sides in branches(root, doc, memo)]
    return max(scored, key=lambda a: a.score, default=NONE)


def branches(m: Matcher, doc: Document, memo: Memo) -> list[tuple[str, list[Matcher]]]:
    """The holding alternatives of a query, each with its sides."""
    if isinstance(m, OrM):
        return [b for c in m.children if c.run(doc, memo)[0] for b in branches(c, doc, memo)]
    return [(m.label, sides_of(m))]


def sides_of(m: Matcher) -> list[Matcher]:
    if isinstance(m, AndM):
        return [s for c in m.children for s in sides_of(c)]
    if isinstance(m, NearM):
        return sides_of(m.left) + sides_of(m.right)
    if isinstance(m, NotM):
        return []
    return [m]


def score_branch(label: str, sides: list[Matcher], doc: Document, memo: Memo) -> Aboutness:
    found = [(m.label, _unique(m.run(doc, memo)[1])) for m in sides]
    counted = tuple(_side(name, occs, doc) for name, occs in found)
    together, listed, weight = _together([occs for _, occs in found], doc)
    share = _share([o for _, occs in found for o in occs], doc)
    about = Aboutness(label, counted, together, listed, weight, share)
    score = about.mentions_part + weight + about.share_part
    return Aboutness(label, counted, together, listed, weight, share, round(score, 2))


def _unique(occs: list[Occ]) -> list[Occ]:
    return list({(o.field, o.lo): o for o in occs}.values())


def _where(occ: Occ, doc: Document) -> tuple[str, bool]:
    """The place of a mention and whether it sits in an enumeration."""
    fi = doc.fields[occ.field]
    layout = fi.layout()
    listed = occ.lo < layout.words and layout.listed[layout.sentence_of[occ.lo]]
    return fi.place(occ.lo), listed


def _side(label: str, occs: list[Occ], doc: Document) -> Side:
    counts: dict[str, int] = defaultdict(int)
    weight = 0.0
    for occ in occs:
        place, listed = _where(occ, doc)
        counts[place] += 1
        counts["listed"] += listed
        weight += PLACE_WEIGHT[place] * (LISTED_FACTOR if listed else 1.0)
    return Side(label, counts["title"], counts["lead"], counts["body"], counts["listed"],
                round(min(weight, SIDE_CAP), 2))


def _together(per_side: list[list[Occ]], doc: Document) -> tuple[int, int, float]:
    """Sentences naming every side: how many outside and inside enumerations, and their
    weight."""
    if len(per_side) < 2:
        return 0, 0, 0.0
    named: dict[tuple[int, int], int] = defaultdict(int)
    first: dict[tuple[int, int], int] = {}
    for occs in per_side:
        for key in {(o.field, _sentence(o, doc)) for o in occs}:
            named[key] += 1
        for o in occs:
            key = (o.field, _sentence(o, doc))
            first[key] = min(first.get(key, o.lo), o.lo)
    plain = listed = 0
    weight = 0.0
    for (field, sid), count in named.items():
        if count < len(per_side) or sid < 0:
            continue
        fi = doc.fields[field]
        layout = fi.layout()
        is_listed = layout.listed[sid]
        plain, listed = plain + (not is_listed), listed + is_listed
        weight += PLACE_WEIGHT[fi.place(first[field, sid])] * (
            LISTED_FACTOR if is_listed else 1.0)
    return plain, listed, round(min(weight, TOGETHER_CAP), 2)


def _sentence(occ: Occ, doc: Document) -> int:
    layout = doc.fields[occ.field].layout()
    return layout.sentence_of[occ.lo] if occ.lo < layout.words else -1


def _share(occs: list[Occ], doc: Document) -> float:
    total = sum(fi.layout().words for fi in doc.fields)
    if not total:
        return 0.0
    near: set[tuple[int, int]] = set()
    for occ in occs:
        if _where(occ, doc)[1]:
            continue
        words = doc.fields[occ.field].layout().words
        near.update((occ.field, p) for p in range(max(0, occ.lo - WINDOW),
                                                   min(words, occ.hi + WINDOW + 1)))
    return round(len(near) / total, 3)
