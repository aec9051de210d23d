"""Prepared documents: an article's fields normalised once, indexed, and cached.

A ``Document`` holds, per field (title, summary, text), the field text (NFC) and two
dictionaries from folded surface form and from folded base form (lemma) to word
positions, plus the sorted surface keys for prefix wildcards; character offsets for
snippets, and the field's sentences and enumerations (``layout``), are worked out only for
fields that hit.
Every topic evaluates the same ``Document``; ``DocumentCache`` keeps recently prepared
documents by content hash (bounded LRU) so several topics and re-checks of an unchanged
article never normalise it twice. ``prepare_document`` uses a per-process default cache
and normaliser unless given others. ``article_document`` (and ``page_document`` for an
extracted page) is the one rule for which of an article's texts are matched, shared by the
pipeline and ``news-monitor explain``.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.match.layout import Layout, text_layout
from monitor.match.normalise import WORD_RE, Normaliser, word_spans
from monitor.models import Page

FIELDS = ("title", "summary", "text")
LEAD_WORDS = 45           # the first words of the body (about 300 characters) are its lead
CACHE_SIZE = 256


Ids = Sequence[int]   # word positions p, or ~p for a whole joined word starting at p


class FieldIndex:
    """One field of a document, indexed by word position.

    ``surface`` and ``bases`` map folded forms to ids; an id is a word position ``p`` (a
    plain word or one part of a joined word) or ``~p`` for a whole joined word, which
    spans positions ``p`` to ``wide[p]``. Character offsets are worked out only when a
    snippet needs them.
    """

    __slots__ = (
        "_layout",
        "_spans",
        "bases",
        "lead_words",
        "name",
        "sorted_keys",
        "surface",
        "text",
        "wide",
    )

    def __init__(self, name: str, text: str, surface: Mapping[str, Ids], bases: Mapping[str, Ids],
                 wide: dict[int, int]) -> None:
        self.name, self.text, self.surface, self.bases, self.wide = name, text, surface, bases, wide
        self.sorted_keys = sorted(surface)
        self.lead_words = LEAD_WORDS if name == "text" else 1 << 30
        self._spans: list[tuple[int, int]] | None = None
        self._layout: Layout | None = None

    def bounds(self, ident: int) -> tuple[int, int]:
        """First and last word position of an id."""
        return (ident, ident) if ident >= 0 else (~ident, self.wide[~ident])

    def prefixed(self, prefix: str) -> list[int]:
        """Ids of every word whose surface form starts with ``prefix``."""
        keys = self.sorted_keys
        i = bisect.bisect_left(keys, prefix)
        found: list[int] = []
        while i < len(keys) and keys[i].startswith(prefix):
            found.extend(self.surface[keys[i]])
            i += 1
        return found

    def layout(self) -> Layout:
        """Sentences and enumerations of the field, worked out on first use."""
        if self._layout is None:
            self._layout = text_layout(self.text)
        return self._layout

    def place(self, pos: int) -> str:
        """Where word position ``pos`` sits: "title", "lead" or "body"."""
        if self.name == "title":
            return "title"
        return "lead" if pos < self.lead_words else "body"

    def char_span(self, lo: int, hi: int) -> tuple[int, int]:
        """Character offsets in ``text`` of word positions ``lo`` to ``hi``."""
        if self._spans is None:
            self._spans = word_spans(self.text)
        return self._spans[lo][0], self._spans[hi][1]


@dataclass(frozen=True, slots=True)
class Document:
    """An article ready for matching: ``fields`` in the order of ``FIELDS``."""

    digest: str
    fields: tuple[FieldIndex, FieldIndex, FieldIndex]

    def field(self, name: str) -> FieldIndex:
        return self.fields[FIELDS.index(name)]


def content_digest(title: str, summary: str, text: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (title, summary, text):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00\xff")
    return h.hexdigest()


def index_field(name: str, text: str, normaliser: Normaliser) -> FieldIndex:
    text = unicodedata.normalize("NFC", text)
    surface: defaultdict[str, list[int]] = defaultdict(list)   # read with .get() only
    bases: defaultdict[str, list[int]] = defaultdict(list)
    wide: dict[int, int] = {}
    pos = 0
    for keys in normaliser.keys_many(WORD_RE.findall(text)):
        if keys.parts:
            wide[pos] = pos + len(keys.parts) - 1
            surface[keys.surface].append(~pos)
            for base in keys.bases:
                bases[base].append(~pos)
        for k in keys.parts or (keys,):
            surface[k.surface].append(pos)
            for base in k.bases:
                bases[base].append(pos)
            pos += 1
    return FieldIndex(name, text, surface, bases, wide)


def build_document(
    title: str, summary: str, text: str, normaliser: Normaliser, digest: str = ""
) -> Document:
    fields = (index_field("title", title, normaliser),
              index_field("summary", summary, normaliser),
              index_field("text", text, normaliser))
    return Document(digest or content_digest(title, summary, text), fields)


class DocumentCache:
    """Bounded LRU of prepared documents keyed by content hash."""

    def __init__(self, maxsize: int = CACHE_SIZE, normaliser: Normaliser | None = None) -> None:
        self.maxsize = maxsize
        self.normaliser = normaliser or Normaliser()
        self._docs: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()       # extraction may run in worker threads
        self.hits = 0
        self.misses = 0

    def prepare(self, title: str, summary: str, text: str) -> Document:
        digest = content_digest(title, summary, text)
        with self._lock:
            doc = self._docs.get(digest)
            if doc is not None:
                self.hits += 1
                self._docs.move_to_end(digest)
                return doc
            self.misses += 1
        doc = build_document(title, summary, text, self.normaliser, digest)
        with self._lock:
            self._docs[digest] = doc
            if len(self._docs) > self.maxsize:
                self._docs.popitem(last=False)
        return doc

    def __len__(self) -> int:
        return len(self._docs)


@functools.cache
def default_cache() -> DocumentCache:
    """The per-process cache (and normaliser) used when none is passed in."""
    return DocumentCache()


def article_document(*, title: str, feed_title: str = "", feed_summary: str = "",
                     text: str = "", status: str = "ok",
                     cache: DocumentCache | None = None) -> Document:
    """The one rule for what of an article is matched, used by the pipeline and ``explain``.

    The title is the page's, else the feed entry's; the summary is the feed entry's teaser;
    the body counts only when extraction found the article (``status == "ok"``): a consent
    wall, a paywall or a failed fetch leaves the title and the feed's teaser, never the
    wall's words or a second copy of the teaser.
    """
    body = text if status == "ok" else ""
    return prepare_document(title=title or feed_title, summary=feed_summary, text=body,
                            cache=cache)


def page_document(page: Page, *, feed_title: str = "", feed_summary: str = "",
                  cache: DocumentCache | None = None) -> Document:
    """``article_document`` of an extracted page and the feed entry that linked it."""
    return article_document(title=page.title, feed_title=feed_title, feed_summary=feed_summary,
                            text=page.text, status=page.status, cache=cache)


def prepare_document(
    *, title: str, summary: str, text: str, cache: DocumentCache | None = None
) -> Document:
    """Normalise an article once; the same content returns the cached ``Document``."""
    chosen = cache if cache is not None else default_cache()
    return chosen.prepare(title or "", summary or "", text or "")
