"""Prepared documents: an article's fields normalised once, indexed, and cached.

A ``Document`` holds, per field (title, summary, text), the field text (NFC), its word
entries with character offsets, and two dictionaries from folded surface form and from
folded base form (lemma) to entries, plus the sorted surface keys for prefix wildcards.
Every topic evaluates the same ``Document``; ``DocumentCache`` keeps recently prepared
documents by content hash (bounded LRU) so several topics and re-checks of an unchanged
article never normalise it twice. ``prepare_document`` uses a per-process default cache
and normaliser unless given others.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

from monitor.match.normalise import Entry, Normaliser

FIELDS = ("title", "summary", "text")
LEAD_CHARS = 300          # the first characters of the body count as its lead
CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class FieldIndex:
    """One field of a document, tokenised and indexed."""

    name: str
    text: str
    entries: tuple[Entry, ...]
    surface: dict[str, list[int]]     # folded surface form -> entry numbers
    bases: dict[str, list[int]]       # folded lemma/base form -> entry numbers
    sorted_keys: tuple[str, ...]      # surface keys, sorted, for prefix search
    lead_end: int                     # entries starting before this offset are the lead

    def prefixed(self, prefix: str) -> list[int]:
        """Entry numbers of every word whose surface form starts with ``prefix``."""
        keys = self.sorted_keys
        i = bisect.bisect_left(keys, prefix)
        found: list[int] = []
        while i < len(keys) and keys[i].startswith(prefix):
            found.extend(self.surface[keys[i]])
            i += 1
        return found


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
    entries = tuple(normaliser.entries(text))
    surface: dict[str, list[int]] = {}
    bases: dict[str, list[int]] = {}
    for n, entry in enumerate(entries):
        keys = entry.keys
        found = surface.get(keys.surface)
        if found is None:
            surface[keys.surface] = [n]
        else:
            found.append(n)
        for base in keys.bases:
            found = bases.get(base)
            if found is None:
                bases[base] = [n]
            else:
                found.append(n)
    lead_end = {"title": len(text), "summary": len(text)}.get(name, LEAD_CHARS)
    return FieldIndex(name, text, entries, surface, bases, tuple(sorted(surface)), lead_end)


def build_document(
    title: str, summary: str, text: str, normaliser: Normaliser, digest: str = ""
) -> Document:
    fields = tuple(index_field(n, t, normaliser) for n, t in zip(FIELDS, (title, summary, text)))
    digest = digest or content_digest(title, summary, text)
    return Document(digest, fields)  # type: ignore[arg-type]


class DocumentCache:
    """Bounded LRU of prepared documents keyed by content hash."""

    def __init__(self, maxsize: int = CACHE_SIZE, normaliser: Normaliser | None = None) -> None:
        self.maxsize = maxsize
        self.normaliser = normaliser or Normaliser()
        self._docs: OrderedDict[str, Document] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def prepare(self, title: str, summary: str, text: str) -> Document:
        digest = content_digest(title, summary, text)
        doc = self._docs.get(digest)
        if doc is not None:
            self.hits += 1
            self._docs.move_to_end(digest)
            return doc
        self.misses += 1
        doc = build_document(title, summary, text, self.normaliser, digest)
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


def prepare_document(
    *, title: str, summary: str, text: str, cache: DocumentCache | None = None
) -> Document:
    """Normalise an article once; the same content returns the cached ``Document``."""
    chosen = cache if cache is not None else default_cache()
    return chosen.prepare(title or "", summary or "", text or "")
