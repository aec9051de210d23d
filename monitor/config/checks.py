"""Checks across keys, run whether or not the rest of the file validated.

Owns the checks that pydantic's per-key validation cannot make: duplicate feed and topic
names, every topic query (its syntax and each ``@alias`` it names, all reported at once, on
the raw TOML so that a problem elsewhere in the file never hides them), and the cross-key
checks of the fetch and SMTP sections (each section is validated on its own, so these too
are reported next to problems in other sections: ``section``). Each returns problem lines
in the wording of ``problems``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.problems import item_label
from monitor.errors import QueryError
from monitor.match import parse_query

_ALIAS_USE = re.compile(r"(?<![^\s(:-])@([\w.-]+)")
_PHRASE = re.compile(r'"[^"]*"')
M = TypeVar("M", bound=BaseModel)


def raw_duplicates(raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for section in ("feeds", "topics"):
        items = raw.get(section)
        if isinstance(items, list):
            problems += _duplicates(section, [i.get("name") if isinstance(i, dict) else None
                                              for i in items])
    return problems


def _duplicates(section: str, names: list[Any]) -> list[str]:
    seen: set[Any] = set()
    problems = []
    for index, name in enumerate(names):
        if isinstance(name, str) and name in seen:
            problems.append(f"{item_label(section, index, name)}.name: duplicate name {name!r}")
        if isinstance(name, str):
            seen.add(name)
    return problems


def query_problems(raw: Mapping[str, Any]) -> list[str]:
    """Every problem of every topic query: syntax and unknown aliases, all at once."""
    topics = raw.get("topics")
    if not isinstance(topics, list):
        return []
    aliases = raw.get("aliases")
    known = sorted(k for k in aliases if isinstance(k, str)) if isinstance(aliases, dict) else []
    problems = []
    for index, topic in enumerate(topics):
        query = topic.get("query") if isinstance(topic, dict) else None
        if not isinstance(query, str) or not query.strip():
            continue   # a missing or empty query is a problem of its own key
        label = item_label("topics", index, topic.get("name"))
        problems += [f"{label}.query: {p}" for p in check_query(query, known)]
    return problems


def check_query(query: str, known_aliases: Sequence[str]) -> list[str]:
    """The syntax error (if any) and every unknown alias of one query, by column."""
    found: list[tuple[int, str]] = []
    try:
        parse_query(query)
    except QueryError as exc:
        found.append((exc.column, str(exc)))
    blanked = _PHRASE.sub(lambda m: " " * len(m.group()), query)
    for match in _ALIAS_USE.finditer(blanked):
        name = match.group(1)
        if name not in known_aliases:
            found.append((match.start() + 1, f"column {match.start() + 1}: unknown alias "
                                             f"@{name}{_alias_hint(name, known_aliases)}"))
    return [text for _, text in sorted(found)]


def _alias_hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f" (did you mean @{close[0]}?)"
    return f" (configured in [aliases]: {', '.join(known)})" if known else \
        " (there is no [aliases] table)"


def section(model: type[M], raw: Mapping[str, Any], key: str) -> M | None:
    """One section validated on its own (its defaults when absent); None when it is wrong."""
    value = raw.get(key, {})
    try:
        return model.model_validate(value)
    except ValidationError:
        return None
