"""Presentation helpers shared by the mail templates: the Jinja2 environment and views.

One Environment renders every template with ``autoescape=True`` whatever the file name (the
plain-text templates opt out explicitly inside an ``{% autoescape false %}`` block), with
StrictUndefined so a missing value is an error and never an empty string. The helpers turn
records into small template-friendly views: highlighted snippet parts, the word diff trimmed
by the deltas stage's one rule (``trim_segments``), local times, German numbers and links
that are only ever http(s).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.deltas.diff import trim_segments
from monitor.links import story_link, verdict_link
from monitor.models import Delta, DiffOp, Hit, WordDiff
from monitor.notify.headers import one_line
from monitor.notify.settings import DeskLinks

DEFAULT_TZ = "Europe/Berlin"
LINK_DROPPED = "Link entfernt: keine http(s)-Adresse"


@dataclass(frozen=True, slots=True)
class DeltaView:
    """One delta as the templates show it."""

    delta: Delta
    kind_label: str
    detected: str
    published: str
    score: str
    link: str | None
    link_note: str
    diff: tuple[tuple[DiffOp, str], ...]
    score_word: str = ""
    reasons: tuple[Reason, ...] = ()
    snippet: str = ""          # the teaser without the title or the site's breadcrumb
    also_updated: bool = False  # a new story that changed since: it carries that change
    view_url: str = ""          # "Ansehen": the story on the review desk
    dismiss_url: str = ""       # "Nicht relevant": the signed link (confirmed on the desk)


@functools.cache
def make_environment() -> jinja2.Environment:
    """The one Environment for all notify templates (autoescape on for every template).

    Built once per process: compiling the templates for every mail cost ~10 ms, spent inside
    the store's write transaction that queues the alert."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.notify", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["oneline"] = one_line
    return env


def local_time(moment: datetime | None, tz: str = DEFAULT_TZ) -> str:
    """``12.03.2024, 14:05 Uhr`` in the given zone; '' for None."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y, %H:%M Uhr")


def german_number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def safe_link(url: str) -> str | None:
    """The url if it is an absolute http(s) address, else None."""
    candidate = url.strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in candidate):
        return None
    return candidate


def hit_parts(hit: Hit) -> tuple[tuple[bool, str], ...]:
    """Split a snippet into unmarked and marked pieces (marks are clipped and ordered)."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for start, end in sorted(hit.marks):
        start, end = max(start, pos), min(end, len(hit.snippet))
        if start >= end:
            continue
        if start > pos:
            parts.append((False, hit.snippet[pos:start]))
        parts.append((True, hit.snippet[start:end]))
        pos = end
    if pos < len(hit.snippet):
        parts.append((False, hit.snippet[pos:]))
    return tuple(parts)


def diff_view(diff: WordDiff | None, *, context: int,
              max_changes: int) -> tuple[tuple[DiffOp, str], ...]:
    """The diff as the templates show it: ``trim_segments`` cutting unchanged runs to
    ``context`` words around each change (a single word is never replaced by ``…``), at most
    ``max_changes`` changes, empty segments dropped."""
    if diff is None:
        return ()
    trimmed = trim_segments(diff.segments, context=context, max_changes=max_changes,
                            min_elided=2)
    return tuple((op, text.strip()) for op, text in trimmed if text.strip())


def desk_links(delta: Delta, desk: DeskLinks | None,
               now: datetime | None) -> tuple[str, str]:
    """The story's "Ansehen" and "Nicht relevant" links into the review desk; empty when no
    desk is served (or the story is no longer stored)."""
    if desk is None or now is None or delta.article_id is None:
        return "", ""
    return (story_link(desk.base_url, delta.article_id),
            verdict_link(desk.base_url, desk.secret, delta.article_id, delta.topic, now))


def delta_view(delta: Delta, *, tz: str = DEFAULT_TZ, context: int = 25,
               max_changes: int = 40, desk: DeskLinks | None = None,
               now: datetime | None = None) -> DeltaView:
    link = safe_link(delta.url)
    view_url, dismiss_url = desk_links(delta, desk, now)
    return DeltaView(
        delta=delta,
        kind_label="Neu" if delta.kind == "new" else "Aktualisiert",
        detected=local_time(delta.detected_at, tz),
        published=local_time(delta.published, tz),
        score=german_number(delta.score),
        link=link,
        link_note="" if link else LINK_DROPPED,
        diff=diff_view(delta.diff, context=context, max_changes=max_changes),
        score_word=score_word(delta.score),
        reasons=reasons(delta),
        snippet=clean_snippet(delta.summary, delta.title),
        also_updated=delta.kind == "new" and delta.diff is not None,
        view_url=view_url, dismiss_url=dismiss_url,
    )


def delta_views(deltas: Sequence[Delta], *, tz: str = DEFAULT_TZ, context: int = 25,
                max_changes: int = 40, desk: DeskLinks | None = None,
                now: datetime | None = None) -> tuple[DeltaView, ...]:
    return tuple(delta_view(d, tz=tz, context=context, max_changes=max_changes, desk=desk,
                            now=now) for d in deltas)


# The aboutness score (monitor.match.about) runs from 0 to 13: up to 6 for how often and
# where the weaker side of the topic is named, up to 6 for sentences naming every side, up
# to 1 for the share of the text around them.
SCORE_WORDS = ((8.0, "stark"), (4.5, "mittel"), (0.0, "schwach"))
PART_LABELS = {"title": "Titel", "summary": "Teaser", "text": "Text"}
PART_ORDER = ("title", "summary", "text")
EXCERPT_CHARS = 90
TITLE_LEAD = 40      # a title found this far into a teaser is a copy of it: dropped
CRUMB_MARKS = "\u203a\u00bb>|"   # the separators of "Startseite > Wirtschaft > ..."
BREADCRUMB = re.compile(
    rf"^(?:[^\s{CRUMB_MARKS}/][^{CRUMB_MARKS}\n]{{0,40}}?\s*[{CRUMB_MARKS}]\s*){{1,6}}")
SENTENCE_END = re.compile(r"[.!?]\s")


def score_word(score: float) -> str:
    """The score as a word people understand: "stark", "mittel" or "schwach"."""
    return next(word for floor, word in SCORE_WORDS if score >= floor)


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of "Warum dieser Artikel?": the part of the article, the names found there,
    how close they stand, and a short excerpt with the names marked (empty for the title,
    which the message shows anyway)."""

    part: str
    names: tuple[str, ...]
    closeness: str
    excerpt: tuple[tuple[bool, str], ...]

    def plain(self) -> str:
        """The line in plain text; marked words as ``*Wort*``, never in quotation marks."""
        head = f"{self.part}: {', '.join(self.names)}"
        if self.closeness:
            head += f" ({self.closeness})"
        if not self.excerpt:
            return head
        return head + " — " + "".join(f"*{t}*" if marked else t for marked, t in self.excerpt)


def reasons(delta: Delta, limit: int = 3) -> tuple[Reason, ...]:
    """Why the story matched, in plain words and at most ``limit`` lines: per part of the
    article (title, teaser, text) the names found and how close; query syntax stays in
    ``explain``."""
    lines: list[Reason] = []
    for part in PART_ORDER:
        hits = [h for h in delta.hits if h.field == part]
        if hits:
            lines.append(_reason(part, hits, delta.title))
    return tuple(lines[:limit])


def _reason(part: str, hits: Sequence[Hit], title: str) -> Reason:
    names: dict[str, str] = {}          # by their folded spelling, first spelling kept
    for hit in hits:
        for marked, text in hit_parts(hit):
            name = one_line(text)
            if marked and name:
                names.setdefault(name.casefold(), name)
    best = max(hits, key=lambda h: len(h.marks))
    excerpt = () if part == "title" else _excerpt(best)
    shown = one_line("".join(text for _, text in excerpt)).lstrip("… ")
    if title and shown.casefold().startswith(one_line(title)[:40].casefold()):
        excerpt = ()                  # the text's copy of the headline: shown already
    return Reason(PART_LABELS.get(part, part), tuple(names.values())[:4], _closeness(best),
                  excerpt)


def _closeness(hit: Hit) -> str:
    """How close the first and last marked names of one snippet stand."""
    marks = sorted(hit.marks)
    if len(marks) < 2:
        return ""
    between = hit.snippet[marks[0][1]:marks[-1][0]]
    words = len(between.split())
    if words <= 25 and not SENTENCE_END.search(between):
        return "im selben Satz"
    return f"{words} Wörter auseinander"


def _excerpt(hit: Hit) -> tuple[tuple[bool, str], ...]:
    """At most ``EXCERPT_CHARS`` of the snippet around its first mark, cut at words."""
    parts = hit_parts(hit)
    if not hit.marks:
        return ()
    first = min(start for start, _ in hit.marks)
    start = max(0, first - EXCERPT_CHARS // 3)
    end = start + EXCERPT_CHARS
    out: list[tuple[bool, str]] = []
    pos = 0
    for marked, text in parts:
        lo, hi = max(start - pos, 0), min(end - pos, len(text))
        if lo < hi:
            out.append((marked, text[lo:hi]))
        pos += len(text)
    return _trim_words(out, start > 0, end < len(hit.snippet))


def _trim_words(parts: list[tuple[bool, str]], cut_start: bool,
                cut_end: bool) -> tuple[tuple[bool, str], ...]:
    if parts and cut_start and not parts[0][0]:
        head = parts[0][1]
        parts[0] = (False, "… " + head[head.find(" ") + 1:] if " " in head else "… ")
    if parts and cut_end and not parts[-1][0]:
        tail = parts[-1][1]
        parts[-1] = (False, (tail[:tail.rfind(" ")] if " " in tail else tail) + " …")
    return tuple((bool(m and t.strip()), one_line(t) if m and t.strip() else t.replace("\n", " "))
                 for m, t in parts if t)


def clean_snippet(summary: str, title: str) -> str:
    """The teaser as shown under a headline: without a leading copy of the title and without
    the site's breadcrumb ("Startseite > Wirtschaft > ..."); "" when nothing else is left."""
    text = one_line(summary)
    text = BREADCRUMB.sub("", text, count=1) if _looks_like_breadcrumb(text) else text
    head = one_line(title)
    found = text.casefold().find(head.casefold()) if head else -1
    if 0 <= found <= TITLE_LEAD:     # the title, perhaps after the breadcrumb's last crumb
        text = text[found + len(head):].lstrip(" .:\u2013\u2014-|")
    return "" if text.casefold() == head.casefold() else text.strip()


def _looks_like_breadcrumb(text: str) -> bool:
    """Two or more crumb separators at the start: "Startseite > Wirtschaft > ..."."""
    match = BREADCRUMB.match(text)
    return match is not None and sum(match.group(0).count(c) for c in CRUMB_MARKS) >= 2
