"""Problems in our words: pydantic's validation errors become ``key.path: message`` lines.

Owns the key path of a problem (``feeds[3] ("FAZ Wirtschaft").url``: an item of a list of
tables is named by its ``name`` when it has one; the alias ``from`` for ``email.from``),
the one wording of every kind of problem (unknown key with a did-you-mean hint from the
model's own field names, missing key, wrong type, out of range, not one of the choices) and
nothing else: the checks live in ``model`` and ``checks``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

NAMED_SECTIONS = ("feeds", "topics")


def format_errors(exc: ValidationError, root: type[BaseModel],
                  raw: Mapping[str, Any] | None = None) -> list[str]:
    """One line per problem: ``feeds[3] ("FAZ").url: message``, in our words."""
    problems = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not str(part).startswith("function-")]
        if loc and loc[-1] == "password" and error["type"] == "extra_forbidden":
            continue   # already explained by the secrets check
        problems.append(f"{key_path(loc, raw or {})}: {_message(error, loc, root)}")
    return problems


def in_file_order(problem: str) -> list[Any]:
    """A sort key that keeps ``feeds[2]`` before ``feeds[10]`` and one item's problems
    together."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", problem)]


def item_label(section: str, index: int, name: Any) -> str:
    """``feeds[3] ("FAZ Wirtschaft")``, or ``feeds[3]`` for an item without a usable name."""
    if isinstance(name, str) and name.strip():
        return f"{section}[{index}] ({json.dumps(name, ensure_ascii=False)})"
    return f"{section}[{index}]"


def key_path(loc: list[Any], raw: Mapping[str, Any]) -> str:
    path = ""
    for position, part in enumerate(loc):
        if isinstance(part, int):
            path = _indexed(path, loc[:position], part, raw)
        else:
            path += ("." if path else "") + ("from" if part == "sender" else str(part))
    return path or "(top level)"


def _indexed(path: str, parents: list[Any], index: int, raw: Mapping[str, Any]) -> str:
    if len(parents) == 1 and parents[0] in NAMED_SECTIONS:
        items = raw.get(str(parents[0]))
        item = items[index] if isinstance(items, list) and index < len(items) else None
        return item_label(path, index, item.get("name") if isinstance(item, dict) else None)
    return f"{path}[{index}]"


def _quoted(value: Any) -> str:
    return repr(value)


_WORDING: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda e: "required key is missing",
    "int_parsing": lambda e: f"not a whole number: {_quoted(e['input'])}",
    "int_type": lambda e: f"not a whole number: {_quoted(e['input'])}",
    "int_from_float": lambda e: f"not a whole number: {_quoted(e['input'])}",
    "float_parsing": lambda e: f"not a number: {_quoted(e['input'])}",
    "float_type": lambda e: f"not a number: {_quoted(e['input'])}",
    "bool_parsing": lambda e: f"not true or false: {_quoted(e['input'])}",
    "bool_type": lambda e: f"not true or false: {_quoted(e['input'])}",
    "string_type": lambda e: f"not text (put it in quotes): {_quoted(e['input'])}",
    "path_type": lambda e: f"not a file path: {_quoted(e['input'])}",
    "list_type": lambda e: f"not a list: {_quoted(e['input'])}",
    "tuple_type": lambda e: f"not a list: {_quoted(e['input'])}",
    "dict_type": lambda e: f"not a table: {_quoted(e['input'])}",
    "model_type": lambda e: f"not a table: {_quoted(e['input'])}",
    "model_attributes_type": lambda e: f"not a table: {_quoted(e['input'])}",
    "string_too_short": lambda e: "must not be empty",
    "string_too_long": lambda e: f"longer than {e['ctx']['max_length']} characters",
    "too_short": lambda e: f"needs at least {e['ctx']['min_length']} entries",
    "greater_than": lambda e: f"must be more than {e['ctx']['gt']}: {_quoted(e['input'])}",
    "greater_than_equal": lambda e: f"must be at least {e['ctx']['ge']}: "
                                    f"{_quoted(e['input'])}",
    "less_than": lambda e: f"must be less than {e['ctx']['lt']}: {_quoted(e['input'])}",
    "less_than_equal": lambda e: f"must be at most {e['ctx']['le']}: {_quoted(e['input'])}",
    "literal_error": lambda e: f"must be {e['ctx']['expected']}, not {_quoted(e['input'])}",
}


def _message(error: Mapping[str, Any], loc: list[Any], root: type[BaseModel]) -> str:
    kind, msg = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(loc, root)
    if kind == "string_pattern_mismatch":
        return _pattern_message(error, loc)
    wording = _WORDING.get(kind)
    if wording is not None:
        return wording(error)
    return msg.removeprefix("Value error, ").replace("Input should be", "must be")


def _pattern_message(error: Mapping[str, Any], loc: list[Any]) -> str:
    value = _quoted(error.get("input"))
    if "@" in str(error.get("ctx", {}).get("pattern", "")):
        return f"not an email address: {value}"
    if loc and (loc[-1] == "name" or loc[0] == "aliases"):
        return (f"not a usable name: {value} (letters, digits, spaces and . : / ( ) & + -, "
                "starting with a letter or digit, at most 80 characters)")
    return f"not a valid value: {value}"


def _suggestion(loc: list[Any], root: type[BaseModel]) -> str:
    known = _known_keys(loc[:-1], root)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(parent: list[Any], root: type[BaseModel]) -> list[str]:
    model = root
    for part in (p for p in parent if not isinstance(p, int)):
        annotation = model.model_fields[str(part)].annotation if part in model.model_fields \
            else None
        inner = _model_in(annotation)
        if inner is None:
            return []
        model = inner
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
