"""JSON text for the structured values kept in text columns: hits and word diffs.

Owns the on-disk form of ``Hit`` tuples (match explanations) and ``WordDiff`` (update
diffs), so that what the analysts saw in an alert can be shown again in the digest or by
``explain`` from the store alone, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from typing import Any, cast

from monitor.models import DiffOp, Hit, WordDiff


def hits_to_json(hits: tuple[Hit, ...]) -> str:
    return json.dumps([{"clause": h.clause, "field": h.field, "term": h.term,
                        "snippet": h.snippet, "marks": [list(m) for m in h.marks]}
                       for h in hits], ensure_ascii=False)


def hits_from_json(text: str | None) -> tuple[Hit, ...]:
    items: list[dict[str, Any]] = json.loads(text) if text else []
    return tuple(Hit(clause=i["clause"], field=i["field"], term=i["term"],
                     snippet=i["snippet"], marks=tuple((a, b) for a, b in i["marks"]))
                 for i in items)


def diff_to_json(diff: WordDiff | None) -> str | None:
    if diff is None:
        return None
    return json.dumps({"segments": [list(s) for s in diff.segments],
                       "added_words": diff.added_words, "removed_words": diff.removed_words,
                       "title_changed": diff.title_changed}, ensure_ascii=False)


def diff_from_json(text: str | None) -> WordDiff | None:
    if not text:
        return None
    data = json.loads(text)
    segments = tuple((cast(DiffOp, op), words) for op, words in data["segments"])
    return WordDiff(segments=segments, added_words=data["added_words"],
                    removed_words=data["removed_words"], title_changed=data["title_changed"])
