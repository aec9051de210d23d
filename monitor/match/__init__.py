"""Topic matching: the query language, German normalisation, evaluation and explanation.

Public API::

    parse_query(text, *, topic="") -> Node          format_query(node) -> str
    compile_topic(name, query, *, aliases, min_score=0.5, margin=False) -> Topic
    Topic.assess(doc) -> (MatchResult, Aboutness)
    prepare_document(*, title, summary, text, cache=None) -> Document
    article_document(*, title, feed_title, feed_summary, text, status) -> Document
    page_document(page, *, feed_title, feed_summary) -> Document
    Topic.evaluate(doc, *, explain=False) -> MatchResult
    render_explanation(result, *, color) -> str     explanation_json(result) -> dict
    diagnose(topic, doc) -> Diagnosis               why a miss missed, in words
    render_diagnosis(d) -> list[str]   short_reason(d) -> str   diagnosis_json(d) -> dict

Syntax errors and unknown aliases raise ``monitor.errors.QueryError``.
"""

from __future__ import annotations

from monitor.match.about import Aboutness
from monitor.match.ast import Alias, And, Field, Near, Node, Not, Or, Phrase, Term
from monitor.match.document import (
    Document,
    DocumentCache,
    article_document,
    page_document,
    prepare_document,
)
from monitor.match.explain import explanation_json, render_explanation
from monitor.match.misses import (
    Diagnosis,
    diagnose,
    diagnosis_json,
    render_diagnosis,
    short_reason,
)
from monitor.match.normalise import Normaliser, fold
from monitor.match.parser import format_query, parse_query
from monitor.match.topic import DEFAULT_MIN_SCORE, Topic, compile_topic

__all__ = [
    "DEFAULT_MIN_SCORE", "Aboutness", "Alias", "And", "Diagnosis", "Document", "DocumentCache",
    "Field", "Near", "Node", "Normaliser", "Not", "Or", "Phrase", "Term", "Topic",
    "article_document", "compile_topic", "diagnose", "diagnosis_json", "explanation_json",
    "fold", "format_query", "page_document", "parse_query", "prepare_document",
    "render_diagnosis", "render_explanation", "short_reason",
]
