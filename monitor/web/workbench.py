"""Topic queries tried on stored articles: the workbench's dry run and the backfill.

Owns running a query over the latest stored revision of every article first seen since a
moment, with the one matched-document rule (``match.article_document``): ``dry_run``
compares a candidate query with the current one (which stories it would add and drop) and
gives the TOML to paste; ``backfill`` records the stories a topic finds that have no event
for it yet as backfill events, which the next digest reports and no alert ever does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.match import DocumentCache, Topic, article_document, compile_topic
from monitor.models import Hit
from monitor.store.desk import BackfillText
from monitor.store.records import StoredText

SHOWN = 100


class WorkbenchStore(Protocol):
    def stored_texts(self, since: datetime) -> list[StoredText]: ...

    def backfill_texts(self, topic: str, since: datetime) -> list[BackfillText]: ...

    def add_backfill_events(self, topic: str,
                            found: Sequence[tuple[BackfillText, float, tuple[Hit, ...]]],
                            at: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class DryRun:
    checked: int
    matched: int
    added: tuple[StoredText, ...]
    dropped: tuple[StoredText, ...]
    toml: str


def toml_snippet(name: str, query: str) -> str:
    """The ``[[topics]]`` entry to paste (JSON strings are valid TOML basic strings)."""
    return (f"[[topics]]\nname = {json.dumps(name, ensure_ascii=False)}\n"
            f"query = {json.dumps(query, ensure_ascii=False)}\n")


def dry_run(store: WorkbenchStore, name: str, query: str, current: Topic | None,
            aliases: Mapping[str, Sequence[str]], since: datetime) -> DryRun:
    """``query`` against ``current`` over the stored articles; QueryError for a bad query."""
    candidate = compile_topic(name or "Entwurf", query, aliases=aliases,
                              min_score=current.min_score if current else 1.0)
    cache = DocumentCache()
    added, dropped, matched, texts = [], [], 0, store.stored_texts(since)
    for stored in texts:
        doc = article_document(title=stored.title, feed_summary=stored.summary,
                               text=stored.text, status=stored.extract_status, cache=cache)
        now_hit = candidate.evaluate(doc).matched
        before = current.evaluate(doc).matched if current else False
        matched += now_hit
        if now_hit and not before:
            added.append(stored)
        elif before and not now_hit:
            dropped.append(stored)
    return DryRun(len(texts), matched, tuple(added[-SHOWN:]), tuple(dropped[-SHOWN:]),
                  toml_snippet(name or "Entwurf", query))


def backfill(store: WorkbenchStore, topic: Topic, since: datetime, now: datetime) -> int:
    """Backfill events for the stored stories ``topic`` matches and never reported; their
    number."""
    cache = DocumentCache()
    found = []
    for text in store.backfill_texts(topic.name, since):
        doc = article_document(title=text.title, feed_summary=text.summary, text=text.text,
                               cache=cache)
        result = topic.evaluate(doc)
        if result.matched:
            found.append((text, result.score, result.hits))
    return store.add_backfill_events(topic.name, found, now) if found else 0
