"""Why a topic did not match, in words: the failed part of the query, or the small parts
of the score.

``diagnose`` evaluates a topic and, for a miss, walks the compiled query: a word, phrase
or alias that is not found at all ("@partner: kein Eintrag der Liste kommt vor"), a NEAR
whose sides are both there but too far apart (the nearest pair and its distance), an
excluded term that is present, and for AND and OR which of their parts failed. When the
query holds but the score stays under the threshold it names the parts of the score
(``monitor.match.about``) that were small. ``render_diagnosis`` gives the lines for a
terminal (German, like the mails), ``short_reason`` one line for a story page, and
``diagnosis_json`` plain data.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from monitor.match.about import SHARE_CAP, SHARE_WEIGHT, SIDE_CAP, TOGETHER_CAP, Aboutness, Side
from monitor.match.document import Document
from monitor.match.evaluate import ALL_FIELDS, AndM, Clause, Matcher, Memo, NearM, NotM, Occ, OrM
from monitor.match.topic import Topic
from monitor.models import MatchResult

FIELD_NAMES = ("Titel", "Teaser", "Text")
SMALL_MENTIONS = 2.0     # under this, the weaker side is named about once
SMALL_TOGETHER = 2.0     # under this, no more than one sentence names both sides
SMALL_SHARE = 0.1        # under this, the mentions cover less than a tenth of the text


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of a diagnosis: its depth under the line above, the query part it is about,
    and what is wrong with it."""

    depth: int
    part: str
    text: str
    small: bool = False      # a part of the score that kept the story under the threshold


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A topic's result for a document, the parts of its score, and why it did not match."""

    result: MatchResult
    about: Aboutness
    min_score: float
    reasons: tuple[Reason, ...] = ()

    @property
    def query_holds(self) -> bool:
        return self.result.matched or bool(self.about.sides) or self.result.margin


def diagnose(topic: Topic, doc: Document) -> Diagnosis:
    """The result of ``topic`` on ``doc`` with the reasons for a miss."""
    result, about = topic.assess(doc, explain=True)
    memo: Memo = {}
    if not topic.root.run(doc, memo)[0]:
        reasons = tuple(query_reasons(topic.root, doc, memo, 0))
    elif not result.matched:
        reasons = tuple(score_reasons(about, topic.min_score))
    else:
        reasons = ()
    return Diagnosis(result, about, topic.min_score, reasons)


def query_reasons(m: Matcher, doc: Document, memo: Memo, depth: int) -> list[Reason]:
    """Why the failing matcher ``m`` fails."""
    if isinstance(m, Clause):
        return [Reason(depth, m.label, _absent(m))]
    if isinstance(m, NearM):
        return _near(m, doc, memo, depth)
    if isinstance(m, NotM):
        where = _places(m.child.run(doc, memo)[1])
        return [Reason(depth, m.label, f"ausgeschlossen, kommt aber vor ({where})")]
    failed = [c for c in _children(m) if not c.run(doc, memo)[0]]
    if isinstance(m, OrM):
        head = Reason(depth, m.label, "keine der Alternativen trifft zu:")
        return [head] + [r for c in failed for r in _nested(c, doc, memo, depth + 1)]
    return [r for c in failed for r in query_reasons(c, doc, memo, depth)]


def _nested(m: Matcher, doc: Document, memo: Memo, depth: int) -> list[Reason]:
    """An alternative's reasons under a line naming the alternative (when it is composite)."""
    inner = query_reasons(m, doc, memo, depth + 1)
    if len(inner) == 1 and inner[0].part == m.label:
        return [Reason(depth, m.label, inner[0].text)]
    return [Reason(depth, m.label, "trifft nicht zu:"), *inner]


def _children(m: Matcher) -> tuple[Matcher, ...]:
    return m.children if isinstance(m, (AndM, OrM)) else ()


def _absent(m: Clause) -> str:
    scope = "" if m.fields == ALL_FIELDS else " im " + "/".join(
        FIELD_NAMES[f] for f in m.fields)
    if m.label.split(":")[-1].startswith("@"):
        return f"kein Eintrag der Liste kommt{scope} vor"
    return f"kommt{scope} nicht vor"


def _near(m: NearM, doc: Document, memo: Memo, depth: int) -> list[Reason]:
    lefts, rights = m.left.run(doc, memo), m.right.run(doc, memo)
    if not (lefts[0] and rights[0]):
        missing = [s for s, r in ((m.left, lefts), (m.right, rights)) if not r[0]]
        return [r for s in missing for r in query_reasons(s, doc, memo, depth)]
    nearest = nearest_pair(lefts[1], rights[1])
    if nearest is None:
        text = (f"nie im selben Feld wie {m.left.label} ({m.right.label}: "
                f"{_places(rights[1])}; {m.left.label}: {_places(lefts[1])})")
        return [Reason(depth, m.right.label, text)]
    gap, field = nearest
    return [Reason(depth, m.right.label,
                   f"nächste Erwähnung {gap} Wörter von {m.left.label} entfernt "
                   f"({FIELD_NAMES[field]}); NEAR/{m.distance} verlangt höchstens {m.distance}")]


def nearest_pair(lefts: list[Occ], rights: list[Occ]) -> tuple[int, int] | None:
    """The fewest words between an occurrence of each side in one field, and that field."""
    best: tuple[int, int] | None = None
    for field in {o.field for o in lefts} & {o.field for o in rights}:
        ends = sorted((o.lo, o.hi) for o in rights if o.field == field)
        starts = [lo for lo, _ in ends]
        for a in (o for o in lefts if o.field == field):
            i = bisect.bisect_left(starts, a.lo)
            for lo, hi in ends[max(0, i - 1):i + 1]:
                gap = lo - a.hi - 1 if lo > a.hi else max(a.lo - hi - 1, 0)
                if best is None or gap < best[0]:
                    best = (gap, field)
    return best


def _places(occs: list[Occ]) -> str:
    counts = [sum(o.field == f for o in occs) for f in range(3)]
    return ", ".join(f"{FIELD_NAMES[f]} {n}x" for f, n in enumerate(counts) if n) or "nirgends"


def score_reasons(about: Aboutness, min_score: float) -> list[Reason]:
    """The query holds, the score does not reach ``min_score``: its parts, small ones marked."""
    head = Reason(0, about.branch, f"die Anfrage trifft zu, aber der Score {about.score:.2f} "
                                   f"liegt unter der Schwelle {min_score:.2f}:")
    weakest = about.weakest
    lines = [_side(s, s is weakest) for s in about.sides]
    if len(about.sides) > 1:
        small = about.together_weight < SMALL_TOGETHER
        listed = f", {about.together_listed} in Aufzählungen" if about.together_listed else ""
        apart = "; nie zusammen: Erwähnungen zählen halb" if not about.together else ""
        both = "beide Seiten" if len(about.sides) == 2 else "alle Seiten"
        sentences = _count(about.together, "Satz nennt", "Sätze nennen")
        lines.append(Reason(1, "gemeinsame Sätze",
                            f"{sentences} {both}{listed} → {about.together_weight:.2f} von "
                            f"höchstens {TOGETHER_CAP:.0f}{apart}", small))
    lines.append(Reason(1, "Anteil am Text",
                        f"{about.share:.0%} des Textes stehen um die Erwähnungen → "
                        f"{about.share_part:.2f} von höchstens {SHARE_WEIGHT * SHARE_CAP:.0f}",
                        about.share < SMALL_SHARE))
    return [head, *lines]


def _side(side: Side, weakest: bool) -> Reason:
    where = ", ".join(f"{name} {n}x" for name, n in (
        ("Titel", side.title), ("Vorspann", side.lead), ("Text", side.body)) if n)
    listed = f", davon {side.listed} in Aufzählungen mit Zahlen" if side.listed else ""
    role = " (die schwächere Seite zählt)" if weakest else ""
    text = (f"{_count(side.mentions, 'Erwähnung', 'Erwähnungen')} ({where}){listed} → "
            f"{side.weight:.2f} von höchstens {SIDE_CAP:.0f}{role}")
    return Reason(1, side.label, text, weakest and side.weight < SMALL_MENTIONS)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def render_diagnosis(diagnosis: Diagnosis) -> list[str]:
    """The lines of a diagnosis for a terminal; none for a match."""
    if not diagnosis.reasons:
        return []
    title = "Am Rande erwähnt, weil:" if diagnosis.result.margin else "Warum kein Treffer:"
    return [f"  {title}"] + [f"  {'  ' * (r.depth + 1)}{r.part}: {r.text}"
                             + ("  ← zu klein" if r.small else "") for r in diagnosis.reasons]


def short_reason(diagnosis: Diagnosis) -> str:
    """One line saying why a story did not match (empty for a match), for a story page."""
    reasons = diagnosis.reasons
    if not reasons:
        return ""
    if diagnosis.query_holds:
        small = [r.part for r in reasons if r.small]
        return (f"Score {diagnosis.result.score:.2f} unter {diagnosis.min_score:.2f}"
                + (f", zu wenig: {', '.join(small)}" if small else ""))
    leaves = [r for r in reasons if not r.text.endswith(":")]
    return "; ".join(dict.fromkeys(f"{r.part}: {_short(r.text)}" for r in leaves))


def _short(text: str) -> str:
    return text.split(" (")[0].split(";")[0].replace("kein Eintrag der Liste kommt vor", "fehlt")


def diagnosis_json(diagnosis: Diagnosis) -> dict[str, Any]:
    """The reasons and the score's parts as plain data."""
    about = diagnosis.about
    return {
        "min_score": diagnosis.min_score,
        "margin": diagnosis.result.margin,
        "why_not": [{"depth": r.depth, "part": r.part, "text": r.text, "small": r.small}
                    for r in diagnosis.reasons],
        "short": short_reason(diagnosis),
        "score_parts": {
            "branch": about.branch,
            "sides": [{"label": s.label, "title": s.title, "lead": s.lead, "body": s.body,
                       "listed": s.listed, "weight": s.weight} for s in about.sides],
            "mentions": about.mentions_part, "together": about.together,
            "together_listed": about.together_listed, "together_weight": about.together_weight,
            "share": about.share, "share_part": about.share_part,
        },
    }
