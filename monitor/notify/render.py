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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.deltas.diff import trim_segments
from monitor.models import Delta, DiffOp, Hit, WordDiff
from monitor.notify.headers import one_line

DEFAULT_TZ = "Europe/Berlin"
FIELD_LABELS = {"title": "Titel", "summary": "Teaser", "text": "Text"}
LINK_DROPPED = "Link entfernt: keine http(s)-Adresse"


@dataclass(frozen=True, slots=True)
class HitView:
    field: str
    clause: str
    parts: tuple[tuple[bool, str], ...]   # (marked?, text)


@dataclass(frozen=True, slots=True)
class DeltaView:
    """One delta as the templates show it."""

    delta: Delta
    kind_label: str
    detected: str
    published: str
    score: str
    hits: tuple[HitView, ...]
    link: str | None
    link_note: str
    diff: tuple[tuple[DiffOp, str], ...]


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


def delta_view(delta: Delta, *, tz: str = DEFAULT_TZ, context: int = 25,
               max_changes: int = 40) -> DeltaView:
    link = safe_link(delta.url)
    return DeltaView(
        delta=delta,
        kind_label="Neu" if delta.kind == "new" else "Aktualisiert",
        detected=local_time(delta.detected_at, tz),
        published=local_time(delta.published, tz),
        score=german_number(delta.score),
        hits=tuple(HitView(FIELD_LABELS.get(h.field, h.field), h.clause, hit_parts(h))
                   for h in delta.hits),
        link=link,
        link_note="" if link else LINK_DROPPED,
        diff=diff_view(delta.diff, context=context, max_changes=max_changes),
    )


def delta_views(deltas: Sequence[Delta], *, tz: str = DEFAULT_TZ, context: int = 25,
                max_changes: int = 40) -> tuple[DeltaView, ...]:
    return tuple(delta_view(d, tz=tz, context=context, max_changes=max_changes) for d in deltas)
