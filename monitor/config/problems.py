"""Problems in our words: pydantic's validation errors become ``key.path: message`` lines.

Owns the key path of a problem (``feeds[3].url``; the alias ``from`` for ``email.from``),
the wording of the common kinds (unknown key with a did-you-mean hint from the model's own
field names, missing key, invalid value) and nothing else: the checks live in ``model``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


def format_errors(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem: ``key.path[3].name: message``, in our words."""
    problems = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not str(part).startswith("function-")]
        if loc and loc[-1] == "password" and error["type"] == "extra_forbidden":
            continue   # already explained by _check_secrets_absent
        problems.append(f"{_key_path(loc)}: {_message(error, loc, root)}")
    return problems


def _key_path(loc: list[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + ("from" if part == "sender" else str(part))
    return path or "(top level)"


def _message(error: Mapping[str, Any], loc: list[Any], root: type[BaseModel]) -> str:
    kind, msg = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(loc, root)
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        return f"not a valid value: {error.get('input')!r}"
    return msg.removeprefix("Value error, ")


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
