"""Query syntax: parse trees, precedence, error columns, and the format/parse round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import QueryError
from monitor.match import (
    Alias,
    And,
    Field,
    Near,
    Not,
    Or,
    Phrase,
    Term,
    compile_topic,
    format_query,
    parse_query,
)

ALIASES = {"alibaba": ["alibaba", "aliexpress"], "russland": ["russland", "russisch*"]}


def test_precedence_not_near_and_or() -> None:
    assert parse_query("NOT a b") == And((Not(Term("a")), Term("b")))
    assert parse_query("a b OR c NEAR/3 d AND e") == Or((
        And((Term("a"), Term("b"))), And((Near(Term("c"), Term("d"), 3), Term("e")))))


def test_every_clause_kind_parses_to_its_node() -> None:
    tree = parse_query('title:"Joint Venture" -temu (@alibaba) NEAR/10 (russland OR russisch*)')
    assert tree == And((
        Field("title", Phrase("Joint Venture")),
        Not(Term("temu")),
        Near(Alias("alibaba"), Or((Term("russland"), Term("russisch", prefix=True))), 10),
    ))


def test_format_writes_readable_text_that_parses_back() -> None:
    tree = parse_query('summary:(a OR "b c") NOT d x NEAR/2 y')
    text = format_query(tree)
    assert text == 'summary:(a OR "b c") AND NOT d AND (x NEAR/2 y)'
    assert parse_query(text) == tree


@pytest.mark.parametrize(("query", "column", "expected", "message"), [
    ("(@alibaba NEAR/5 russland", 26, ")", 'expected ")" after group'),
    ("alibaba OR", 11, 'a word, "phrase", @alias or "("', "got end of query"),
    ('alibaba "joint venture', 9, '"', 'expected closing " of phrase'),
    ("alibaba NEAR/x russland", 9, "NEAR/n", "expected NEAR/n"),
    ("alibaba NEAR russland", 9, "NEAR/n", "expected NEAR/n"),
    ("alibaba)", 8, "end of query", "unexpected ')'"),
    ("ru*ss", 1, "a word", "wildcard * only at the end"),
    ("@ OR x", 1, "an alias name", "expected an alias name"),
    ("a NEAR/3 -b", 3, "a clause", "NEAR needs a positive clause"),
    ("title:", 7, 'a word, "phrase", @alias or "("', "got end of query"),
])
def test_syntax_errors_carry_column_and_expectation(
    query: str, column: int, expected: str, message: str
) -> None:
    with pytest.raises(QueryError) as info:
        compile_topic("alibaba-russland", query, aliases=ALIASES)
    err = info.value
    assert (err.column, err.expected, err.topic) == (column, expected, "alibaba-russland")
    assert str(err).startswith(f"topic alibaba-russland: column {column}: ")
    assert message in str(err)


def test_the_documented_message_shape() -> None:
    with pytest.raises(QueryError, match=r'^topic alibaba-russland: column 17: expected "\)"'):
        compile_topic("alibaba-russland", "(alibaba OR ali ", aliases={})


def test_unknown_alias_is_a_query_error_at_its_column() -> None:
    with pytest.raises(QueryError) as info:
        compile_topic("t", "@alibaba NEAR/5 @russia", aliases=ALIASES)
    assert info.value.column == 17 and "unknown alias @russia" in str(info.value)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(QueryError, match="nested too deeply"):
        parse_query("(" * 5000 + "a" + ")" * 5000)
    with pytest.raises(QueryError):
        parse_query("NOT " * 5000 + "a")


WORDS = st.sampled_from(["alibaba", "russ*", "Börse", "mail.ru", "joint-venture", "x", "ä1"])
PIECES = st.one_of(
    WORDS,
    st.sampled_from(["AND", "OR", "NOT", "-", "(", ")", "NEAR/3", "NEAR/0", "title:",
                     "text:", "summary:", "@alibaba", '"aliexpress russland"', '"a b*"']),
)
QUERIES = st.lists(PIECES, min_size=1, max_size=14).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(QUERIES)
def test_round_trip_gives_the_same_tree(query: str) -> None:
    try:
        tree = parse_query(query)
    except QueryError:
        return
    assert parse_query(format_query(tree)) == tree


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), QUERIES, st.lists(PIECES).map("".join)))
def test_arbitrary_text_raises_nothing_but_query_error(query: str) -> None:
    try:
        topic = compile_topic("fuzz", query, aliases=ALIASES)
    except QueryError as err:
        assert err.column >= 1 and err.expected
        return
    tree = parse_query(query)
    assert parse_query(format_query(tree)) == tree
    assert topic.name == "fuzz"
