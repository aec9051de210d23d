"""Learning from verdicts (pure): which new stories look like ones the desk rejected, and
which query changes the verdicts suggest.

``fit`` takes a topic's verdicts (``Example``: a story's text, whether the desk found it
relevant, its name for a reason, its outlet section, and whether the topic matched it)
and returns a ``VerdictModel``: TF-IDF vectors (scikit-learn) of content words (their
folded base forms from the matcher's lemmatiser, simplemma's German dictionary, so
"Bestellungen" and "Bestellung" are one word; German stop words left out), IDF taken
from the verdicts and any ``background`` texts. ``VerdictModel.judge`` compares a new
story with every verdict by cosine similarity (plus a little when the outlet section is
the same): a story at least ``threshold`` alike to a rejected one, and closer to it than
to any accepted one, is ``held_back``, and the ``Judgement`` names that rejected story as
the reason.
``suggest`` proposes query changes: words far more frequent in rejected than in accepted
stories as ``NOT`` candidates, and words of relevant stories the topic missed as
additions, each with how many past verdicts it would have changed.

scikit-learn is imported on the first ``fit``, never by ``monitor.match`` itself, so a
process that learns nothing does not hold it in memory. Nothing here reads a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.match.normalise import PART_RE, WORD_RE, Normaliser, fold

THRESHOLD = 0.3          # cosine similarity to a rejected story that holds a story back
MIN_SHARED = 6           # ... sharing at least this many content words with it (a small
                         # store's word weights are noisy: two rare shared words are no kin)
LEAD = 0.05              # ... by at least this much more than to any accepted story
SECTION_BONUS = 0.1      # added when both stories come from the same outlet section
_STOP_TEXT = """
aber alle allem allen aller alles als also am an auch auf aus bei beim bin bis bisher
bislang da damit dann das dass dem den denen der des dessen die dies diese diesem diesen
dieser dieses doch dort du durch ein eine einem einen einer eines er es etwa euch für
gegen gibt hat hatte hatten hier hin ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in
inzwischen ist jetzt kann kein keine können man mehr mit muss nach nicht noch nun nur ob
oder ohne schon sehr sei seien sein seine seinem seinen seiner seit sich sie sind so soll
sollen sollte sowie über um und uns unter vom von vor war waren was weil weiter wenn wer
werden wie wieder wird wurde wurden zu zum zur zwar zwischen heißt hieß sagte sagt laut
neue neuen neuer mehrere einige viele etwa rund bereits zudem ebenfalls jedoch allerdings
"""
STOP_WORDS = frozenset(fold(w) for w in _STOP_TEXT.split())

Kind = Literal["not", "add"]


@dataclass(frozen=True, slots=True)
class Example:
    """One verdict: the story's text, whether it was relevant, how to name it, its outlet
    section, and whether the topic matched it (a missed relevant story did not)."""

    text: str
    relevant: bool
    name: str = ""
    section: str = ""
    matched: bool = True


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the verdicts say of a new story."""

    held_back: bool
    similarity: float            # to the most similar rejected story (0 without any)
    accepted_similarity: float   # to the most similar accepted story (0 without any)
    like: str = ""               # the most similar rejected story's name

    @property
    def reason(self) -> str:
        if not self.held_back:
            return ""
        return (f"ähnlich wie „{self.like}“ (als nicht relevant markiert, "
                f"Ähnlichkeit {self.similarity:.2f})")


@dataclass(frozen=True, slots=True)
class TermSuggestion:
    """A query change: ``NOT term`` or ``OR term``, and the verdicts it would have changed
    rightly (``right``) and wrongly (``wrong``)."""

    kind: Kind
    term: str
    right: int
    wrong: int


@dataclass(frozen=True)
class VerdictModel:
    """The verdicts of one topic, ready to judge new stories."""

    examples: tuple[Example, ...]
    threshold: float = THRESHOLD
    _vectorizer: Any = field(default=None, repr=False)
    _matrix: Any = field(default=None, repr=False)

    def judge(self, text: str, *, section: str = "") -> Judgement:
        """Whether ``text`` looks like a rejected story more than like an accepted one."""
        if self._vectorizer is None or not self.examples:
            return Judgement(False, 0.0, 0.0)
        scores = (self._matrix @ self._vectorizer.transform([text]).T).toarray().ravel()
        best = {True: (0.0, -1), False: (0.0, -1)}
        for i, (example, score) in enumerate(zip(self.examples, scores, strict=True)):
            value = float(score) + (SECTION_BONUS if section and example.section == section
                                    else 0.0)
            if value > best[example.relevant][0]:
                best[example.relevant] = (value, i)
        rejected, accepted = best[False], best[True]
        held = (rejected[0] >= self.threshold and rejected[0] >= accepted[0] + LEAD
                and self._shared(text, rejected[1]) >= MIN_SHARED)
        like = _name(self.examples[rejected[1]]) if rejected[1] >= 0 else ""
        return Judgement(held, round(rejected[0], 3), round(accepted[0], 3), like)


    def _shared(self, text: str, index: int) -> int:
        """How many content words ``text`` shares with the example at ``index``."""
        if index < 0:
            return 0
        words = self._vectorizer.build_analyzer()
        return len(set(words(text)) & set(words(self.examples[index].text)))


def fit(examples: Iterable[Example | tuple[str, bool]], *, background: Sequence[str] = (),
        topic_words: Iterable[str] = (), threshold: float = THRESHOLD,
        lemmas: Normaliser | None = None) -> VerdictModel:
    """A model of the verdicts. ``topic_words`` (the topic's query words and alias entries,
    ``russ*`` for a prefix) are left out: every story the topic matched names them, so they
    say nothing of its verdict. ``background`` texts (other stories of the period) only
    sharpen which words are common. ``lemmas``: the normaliser that gives words their base
    forms (``Ignored.of``)."""
    known = tuple(e if isinstance(e, Example) else Example(e[0], e[1]) for e in examples)
    if not known:
        return VerdictModel((), threshold)
    from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: on first fit only

    ignored = Ignored.of(topic_words, lemmas)
    vectorizer = TfidfVectorizer(tokenizer=ignored.content_words, lowercase=False,
                                 token_pattern=None, sublinear_tf=True)
    vectorizer.fit([e.text for e in known] + list(background))
    return VerdictModel(known, threshold, vectorizer, vectorizer.transform([e.text for e in known]))


@dataclass(frozen=True, slots=True)
class Ignored:
    """Words left out of the text model: whole folded words and prefixes; ``lemmas`` gives
    the words kept their base forms."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    lemmas: Normaliser = field(compare=False)

    @classmethod
    def of(cls, entries: Iterable[str], lemmas: Normaliser | None = None) -> Ignored:
        """The words and ``prefix*`` entries of ``entries``; ``lemmas`` (a new normaliser by
        default) for the words kept."""
        words, prefixes = set(), []
        for entry in entries:
            for word in PART_RE.findall(entry):
                words.add(fold(word))
            if entry.strip().endswith("*"):
                prefixes.append(fold(entry.strip().rstrip("*")))
        return cls(frozenset(words), tuple(p for p in prefixes if p), lemmas or Normaliser())

    def content_words(self, text: str) -> list[str]:
        """The folded base forms of the words of ``text``, without stop words, numbers and
        the ignored words (as written or as base form)."""
        words = []
        for word in PART_RE.findall(text):
            keys = self.lemmas.keys(word)
            folded, base = keys.surface, min(keys.bases, key=len)
            if (folded in STOP_WORDS or base in STOP_WORDS or not folded[:1].isalpha()
                    or len(folded) < 3 or folded in self.words or base in self.words
                    or folded.startswith(self.prefixes or ("\0",))):
                continue
            words.append(base)
        return words


def content_words(text: str, lemmas: Normaliser | None = None) -> list[str]:
    """The folded base forms of the words of ``text``, without stop words and numbers."""
    return Ignored.of((), lemmas).content_words(text)


def suggest(examples: Iterable[Example], *, min_stories: int = 2,
            limit: int = 10) -> list[TermSuggestion]:
    """``NOT`` candidates (words of at least ``min_stories`` rejected stories the topic
    matched, and of no more accepted ones than a quarter of that) and additions (words of
    at least ``min_stories`` relevant stories it missed, in no rejected one), best first."""
    known = list(examples)
    rejected = _document_counts(e.text for e in known if not e.relevant and e.matched)
    accepted = _document_counts(e.text for e in known if e.relevant and e.matched)
    missed = _document_counts(e.text for e in known if e.relevant and not e.matched)
    refused = _document_counts(e.text for e in known if not e.relevant)
    nots = [TermSuggestion("not", term, n, accepted[term]) for term, n in rejected.items()
            if n >= min_stories and accepted[term] * 4 <= n]
    adds = [TermSuggestion("add", term, n, refused[term]) for term, n in missed.items()
            if n >= min_stories and not refused[term]]
    return sorted(nots + adds, key=lambda s: (s.wrong - s.right, s.kind, s.term))[:limit]


def _document_counts(texts: Iterable[str]) -> Counter[str]:
    """In how many of ``texts`` each content word occurs (as a whole word, as written)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({fold(w) for w in WORD_RE.findall(text)
                       if fold(w) not in STOP_WORDS and len(w) >= 3 and w[:1].isalpha()})
    return counts


def _name(example: Example) -> str:
    if example.name:
        return example.name
    words = example.text.split()
    return " ".join(words[:8]) + (" …" if len(words) > 8 else "")
