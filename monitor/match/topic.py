"""A compiled topic: evaluate a prepared Document, score the match and say why.

``compile_topic`` parses and compiles a query once. ``Topic.evaluate`` runs it over a
``Document`` and returns a ``MatchResult``: ``matched`` is true when the boolean query
holds and the score reaches ``min_score``; ``margin`` is true when the query holds, the
score falls short and the topic lists such stories in the digest ("Am Rande erwähnt"). The
score is the document's *aboutness* (``monitor.match.about``): how often each side of the
query is named and where, the sentences naming them together and the share of the text
around them, with mentions inside enumerations (market wraps, rankings) worth a quarter.
A query that does not hold scores 0. Each positive clause that hit (a word, phrase or
alias; a NEAR counts as one clause) becomes a ``Hit`` per field with a marked snippet,
the best placed first (title 3, lead 2, body 1, raised by up to 2x for a tight NEAR).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from monitor.match.about import NONE, Aboutness, assess
from monitor.match.ast import Node
from monitor.match.document import FIELDS, Document, default_cache
from monitor.match.evaluate import AndM, Clause, Compiler, Matcher, Memo, NearM, Occ, OrM
from monitor.match.explain import make_hit
from monitor.match.normalise import Normaliser
from monitor.match.parser import format_query, parse_query
from monitor.models import Hit, MatchResult

log = logging.getLogger(__name__)

DEFAULT_MIN_SCORE = 0.5     # the query holding with one mention outside an enumeration
MAX_HITS = 12
TITLE_WEIGHT, LEAD_WEIGHT, BODY_WEIGHT = 3.0, 2.0, 1.0

Found = tuple[Matcher, list[Occ]]


class Topic:
    """One user topic: its name, query, threshold, margin option and compiled matcher."""

    def __init__(self, name: str, query: str, node: Node, root: Matcher, min_score: float,
                 margin: bool = False) -> None:
        self.name, self.query, self.node = name, query, node
        self.min_score, self.margin = min_score, margin
        self.root = root

    def __repr__(self) -> str:
        return f"Topic(name={self.name!r}, min_score={self.min_score}, margin={self.margin})"

    def evaluate(self, doc: Document, *, explain: bool = False) -> MatchResult:
        """Match ``doc``; ``explain`` also lists the clauses that hit when the query fails."""
        return self.assess(doc, explain=explain)[0]

    def assess(self, doc: Document, *, explain: bool = False) -> tuple[MatchResult, Aboutness]:
        """The result and the parts of its score (empty when the query fails)."""
        memo: Memo = {}
        truth = self.root.run(doc, memo)[0]
        if not truth and not explain:
            return MatchResult(self.name, False, 0.0), NONE
        found = dedupe(collect(self.root, doc, memo, partial=not truth))
        scored = sorted(((clause_score(m, occs, doc), m, occs) for m, occs in found),
                        key=lambda t: -t[0])
        hits = tuple([h for _, m, occs in scored for h in field_hits(m, occs, doc)][:MAX_HITS])
        about = assess(self.root, doc, memo) if truth else NONE
        matched = truth and about.score >= self.min_score
        margin = truth and not matched and self.margin
        return MatchResult(self.name, matched, about.score, hits, margin), about


def collect(m: Matcher, doc: Document, memo: Memo, partial: bool) -> list[Found]:
    """Positive clauses that hit, walking only branches that hold (all when ``partial``)."""
    if isinstance(m, (Clause, NearM)):
        ok, occs = m.run(doc, memo)
        if ok and occs:
            return [(m, occs)]
        if isinstance(m, NearM) and partial:
            return collect(m.left, doc, memo, partial) + collect(m.right, doc, memo, partial)
        return []
    out: list[Found] = []
    if isinstance(m, (AndM, OrM)):
        for child in m.children:
            if partial or child.run(doc, memo)[0]:
                out.extend(collect(child, doc, memo, partial))
    return out


def dedupe(found: list[Found]) -> list[Found]:
    seen: dict[str, Found] = {}
    for m, occs in found:
        seen.setdefault(m.label, (m, occs))
    return list(seen.values())


def occ_weight(occ: Occ, doc: Document, distance: int | None) -> float:
    if occ.field == 0:
        weight = TITLE_WEIGHT
    elif occ.lo < doc.fields[occ.field].lead_words:
        weight = LEAD_WEIGHT
    else:
        weight = BODY_WEIGHT
    if distance is not None and occ.gap >= 0:
        weight *= 1.0 + (distance - occ.gap) / (distance + 1)
    return weight


def clause_score(m: Matcher, occs: list[Occ], doc: Document) -> float:
    distance = m.distance if isinstance(m, NearM) else None
    best = max(occ_weight(o, doc, distance) for o in occs)
    return best + 0.1 * min(len(occs) - 1, 5)


def field_hits(m: Matcher, occs: list[Occ], doc: Document) -> list[Hit]:
    distance = m.distance if isinstance(m, NearM) else None
    hits = []
    for f, name in enumerate(FIELDS):
        mine = [o for o in occs if o.field == f]
        if mine:
            best = max(mine, key=lambda o: (occ_weight(o, doc, distance), -o.lo))
            fi = doc.fields[f]
            chars = [[fi.char_span(lo, hi) for lo, hi in o.marks] for o in mine]
            hits.append(make_hit(m.label, name, fi.text, chars[mine.index(best)], chars))
    return hits


def compile_topic(
    name: str,
    query: str,
    *,
    aliases: Mapping[str, Sequence[str]],
    min_score: float = DEFAULT_MIN_SCORE,
    margin: bool = False,
    normaliser: Normaliser | None = None,
) -> Topic:
    """Parse and compile ``query``; raise ``QueryError`` for syntax errors or unknown aliases."""
    node = parse_query(query, topic=name)
    norm = normaliser or default_cache().normaliser
    root = Compiler(query, name, aliases, norm).compile(node)
    log.info("topic_compiled topic=%s min_score=%.2f margin=%s query=%r", name, min_score,
             margin, format_query(node))
    return Topic(name, query, node, root, float(min_score), margin)
