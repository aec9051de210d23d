"""Topic query syntax: lexer, recursive-descent parser and formatter.

Grammar (precedence NOT > NEAR > AND > OR; adjacent clauses are joined by AND)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := near (["AND"] near)*
    near    := unary ("NEAR/" n unary)*        n = words allowed between the two sides
    unary   := ("NOT" | "-") unary | ("title:" | "summary:" | "text:") unary | primary
    primary := word ["*"] | '"' phrase '"' | "@" alias | "(" or ")"

Keywords are upper case; anything else is a word. Every syntax error is a
``monitor.errors.QueryError`` with a 1-based column and what was expected;
``format_query`` writes a tree back so that parsing it gives the same tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import QueryError
from monitor.match.ast import Alias, And, Field, Near, Node, Not, Or, Phrase, Term
from monitor.match.normalise import has_word_char

MAX_DEPTH = 60
MAX_DISTANCE = 1000
_STOP = set('()"')
_FIELD_RE = re.compile(r"(title|summary|text):")
_ALIAS_RE = re.compile(r"[\w.-]+")
_CLAUSE_START = {"word", "phrase", "alias", "(", "not", "field"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str          # word phrase alias ( ) and or not near field end
    text: str
    col: int           # 1-based
    prefix: bool = False
    number: int = 0


def query_error(msg: str, col: int, expected: str, topic: str = "") -> QueryError:
    where = f"topic {topic}: " if topic else ""
    return QueryError(f"{where}column {col}: {msg}", topic=topic, column=col, expected=expected)


class _Lexer:
    def __init__(self, text: str, topic: str) -> None:
        self.s, self.topic, self.i = text, topic, 0
        self.out: list[Token] = []

    def fail(self, msg: str, col: int, expected: str) -> QueryError:
        return query_error(msg, col, expected, self.topic)

    def run(self) -> list[Token]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c.isspace():
                self.i += 1
            elif c in "()":
                self.out.append(Token(c, c, self.i + 1))
                self.i += 1
            elif c == '"':
                self.phrase()
            elif c == "-" and self.i + 1 < len(s) and not s[self.i + 1].isspace():
                self.out.append(Token("not", "-", self.i + 1))
                self.i += 1
            else:
                self.bare()
        self.out.append(Token("end", "", len(s) + 1))
        return self.out

    def phrase(self) -> None:
        col, end = self.i + 1, self.s.find('"', self.i + 1)
        if end < 0:
            raise self.fail('expected closing " of phrase', col, '"')
        text = self.s[self.i + 1:end]
        if not has_word_char(text):
            raise self.fail("expected words inside the phrase", col, "a word")
        for chunk in text.split():
            if "*" in chunk[:-1] or (chunk.endswith("*") and not has_word_char(chunk)):
                raise self.fail("wildcard * only at the end of a word", col, "a word")
        self.out.append(Token("phrase", text, col))
        self.i = end + 1

    def bare(self) -> None:
        s, start = self.s, self.i
        j = start
        while j < len(s) and not s[j].isspace() and s[j] not in _STOP:
            j += 1
        run, col = s[start:j], start + 1
        field = _FIELD_RE.match(run)
        if field:
            self.out.append(Token("field", field.group(1), col))
            self.i = start + len(field.group())
            return
        self.i = j
        self.out.append(self.classify(run, col))

    def classify(self, run: str, col: int) -> Token:
        if run in ("AND", "OR", "NOT"):
            return Token(run.lower(), run, col)
        if run == "-":
            raise self.fail("expected a clause after -", col, "a clause")
        if run == "NEAR" or run.startswith("NEAR/"):
            return self.near(run, col)
        if run.startswith("@"):
            if not _ALIAS_RE.fullmatch(run[1:]):
                raise self.fail("expected an alias name after @", col, "an alias name")
            return Token("alias", run[1:], col)
        prefix = run.endswith("*")
        word = run[:-1] if prefix else run
        if "*" in word:
            raise self.fail("wildcard * only at the end of a word", col, "a word")
        if not has_word_char(word):
            raise self.fail(f"expected a word, got {run!r}", col, "a word")
        return Token("word", word, col, prefix=prefix)

    def near(self, run: str, col: int) -> Token:
        digits = run[5:] if run.startswith("NEAR/") else ""
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 4:
            raise self.fail("expected NEAR/n with a number of words n", col, "NEAR/n")
        if int(digits) > MAX_DISTANCE:
            raise self.fail(f"NEAR distance above {MAX_DISTANCE}", col, "NEAR/n")
        return Token("near", run, col, number=int(digits))


def describe(tok: Token) -> str:
    return "end of query" if tok.kind == "end" else repr(tok.text)


class _Parser:
    def __init__(self, tokens: list[Token], topic: str) -> None:
        self.toks, self.topic, self.k, self.depth = tokens, topic, 0, 0

    @property
    def tok(self) -> Token:
        return self.toks[self.k]

    def fail(self, msg: str, expected: str, tok: Token | None = None) -> QueryError:
        return query_error(msg, (tok or self.tok).col, expected, self.topic)

    def take(self) -> Token:
        tok = self.toks[self.k]
        self.k += 1
        return tok

    def query(self) -> Node:
        node = self.or_()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {describe(self.tok)}", "end of query")
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        while self.tok.kind == "or":
            self.take()
            children.append(self.and_())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        children = [self.near()]
        while self.tok.kind == "and" or self.tok.kind in _CLAUSE_START:
            if self.tok.kind == "and":
                self.take()
            children.append(self.near())
        return children[0] if len(children) == 1 else And(tuple(children))

    def near(self) -> Node:
        node = self.unary()
        while self.tok.kind == "near":
            op = self.take()
            right = self.unary()
            if not (positive(node) and positive(right)):
                raise self.fail("NEAR needs a positive clause on both sides", "a clause", op)
            node = Near(node, right, op.number)
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("query nested too deeply", "a shorter query")
        tok = self.tok
        if tok.kind == "not":
            self.take()
            node: Node = Not(self.unary())
        elif tok.kind == "field":
            self.take()
            node = Field(tok.text, self.unary())
        else:
            node = self.primary()
        self.depth -= 1
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "word":
            return Term(tok.text, tok.prefix)
        if tok.kind == "phrase":
            return Phrase(tok.text)
        if tok.kind == "alias":
            return Alias(tok.text)
        if tok.kind == "(":
            node = self.or_()
            if self.tok.kind != ")":
                raise self.fail(f'expected ")" after group, got {describe(self.tok)}', ")")
            self.take()
            return node
        what = 'a word, "phrase", @alias or "("'
        raise self.fail(f"expected {what}, got {describe(tok)}", what, tok)


def positive(node: Node) -> bool:
    """Whether a clause can hit words (a NOT alone cannot)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, Field):
        return positive(node.child)
    if isinstance(node, (And, Or)):
        return any(positive(c) for c in node.children)
    return True


def parse_query(text: str, *, topic: str = "") -> Node:
    """Parse a query; raise ``QueryError`` (topic, 1-based column, expected) if it is wrong."""
    if not isinstance(text, str):
        raise query_error("query must be text", 1, "text", topic)
    return _Parser(_Lexer(text, topic).run(), topic).query()


def format_query(node: Node) -> str:
    """Write a tree as query text; composite operands are parenthesised."""
    if isinstance(node, Term):
        return node.text + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Alias):
        return "@" + node.name
    if isinstance(node, Not):
        return "NOT " + _operand(node.child)
    if isinstance(node, Field):
        return f"{node.name}:" + _operand(node.child)
    if isinstance(node, Near):
        return f"{_operand(node.left)} NEAR/{node.distance} {_operand(node.right)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(_operand(c) for c in node.children)


def _operand(node: Node) -> str:
    text = format_query(node)
    return f"({text})" if isinstance(node, (And, Or, Near)) else text

