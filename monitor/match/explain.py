"""Explanations of a match: snippets with marked words, for a terminal and as JSON.

``make_hit`` cuts a snippet of about 160 characters around an occurrence (at word
boundaries, "…" where text was cut, line breaks shown as spaces) and records where the
hit words sit in it. ``render_explanation`` prints a result for a terminal (ANSI bold
colour when ``color``, «guillemets» otherwise); ``explanation_json`` gives the same as a
plain dict for tools.
"""

from __future__ import annotations

from typing import Any

from monitor.models import Hit, MatchResult

SNIPPET_CHARS = 160
ELLIPSIS = "…"
BOLD, GREEN, RED, RESET = "\x1b[1;33m", "\x1b[1;32m", "\x1b[1;31m", "\x1b[0m"
_BLANKS = str.maketrans("\n\r\t\v\f", "     ")


def window(text: str, start: int, end: int) -> tuple[int, int]:
    """A span of about SNIPPET_CHARS around [start, end), widened to word boundaries."""
    pad = max(20, (SNIPPET_CHARS - (end - start)) // 2)
    a, b = max(0, start - pad), min(len(text), end + pad)
    if b - a < SNIPPET_CHARS:
        a, b = max(0, b - SNIPPET_CHARS), min(len(text), a + SNIPPET_CHARS)
    while 0 < a < start and not text[a - 1].isspace():
        a += 1
    while end < b < len(text) and not text[b].isspace():
        b -= 1
    while a < start and text[a].isspace():
        a += 1
    while b > end and text[b - 1].isspace():
        b -= 1
    return a, b


Spans = list[tuple[int, int]]


def make_hit(clause: str, field: str, text: str, best: Spans, others: list[Spans]) -> Hit:
    """A ``Hit`` for the character spans ``best``, marking every span of ``others`` that
    falls inside its snippet."""
    start, end = best[0][0], best[-1][1]
    a, b = window(text, start, end)
    lead = ELLIPSIS if a > 0 else ""
    body = text[a:b].translate(_BLANKS)
    snippet = lead + body + (ELLIPSIS if b < len(text) else "")
    spans = sorted({m for o in others for m in o if m[0] >= a and m[1] <= b})
    marks = tuple((s - a + len(lead), e - a + len(lead)) for s, e in merge(spans))
    term = " … ".join(dict.fromkeys(text[s:e] for s, e in best))
    return Hit(clause=clause, field=field, term=term, snippet=snippet, marks=marks)


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def marked(snippet: str, marks: tuple[tuple[int, int], ...], color: bool) -> str:
    opening, closing = (BOLD, RESET) if color else ("«", "»")
    out, at = [], 0
    for s, e in merge(sorted(marks)):
        out += [snippet[at:s], opening, snippet[s:e], closing]
        at = e
    return "".join(out) + snippet[at:]


def render_explanation(result: MatchResult, *, color: bool) -> str:
    """A few lines for a terminal: verdict and score, then each clause that hit."""
    verdict = "MATCH" if result.matched else "no match"
    if color:
        verdict = (GREEN if result.matched else RED) + verdict + RESET
    lines = [f"{result.topic}: {verdict} (score {result.score:.2f})"]
    if not result.hits:
        lines.append("  no clause hit")
    for hit in result.hits:
        lines.append(f"  {hit.clause}  [{hit.field}]  {hit.term}")
        lines.append(f"      {marked(hit.snippet, hit.marks, color)}")
    return "\n".join(lines)


def explanation_json(result: MatchResult) -> dict[str, Any]:
    """The result as plain JSON-ready data: topic, matched, score, hits."""
    return {
        "topic": result.topic,
        "matched": result.matched,
        "score": result.score,
        "hits": [
            {"clause": h.clause, "field": h.field, "term": h.term,
             "snippet": h.snippet, "marks": [list(m) for m in h.marks]}
            for h in result.hits
        ],
    }
