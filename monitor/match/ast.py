"""The syntax tree of a topic query: immutable nodes, compared by value.

``Term`` is one written word (``prefix`` for a trailing ``*``), ``Phrase`` the text
between double quotes, ``Alias`` a named list from the config (``@alibaba``). ``And``
and ``Or`` hold two or more children in the order written; ``Near`` joins two clauses
that must occur within ``distance`` words of each other (either order); ``Field``
limits its clause to ``title``, ``summary`` or ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str


@dataclass(frozen=True, slots=True)
class Alias:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    child: Node


Node = Term | Phrase | Alias | Not | And | Or | Near | Field
