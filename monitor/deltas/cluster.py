"""Story clustering: the same story from several outlets (wire copy) becomes one cluster.

This module owns word shingles, MinHash signatures (datasketch) and the in-memory LSH index
that answers "which recent article is this one a copy of?". A signature is the MinHash hash
values serialised as little-endian uint64 (``num_perm`` x 8 bytes; 1,024 bytes at the
default 128), computed with a fixed seed and the pinned ``affine32`` scheme and datasketch's
sha1-based hash, so the same text gives the same bytes in every process and on every host.
Texts shorter than ``MIN_CLUSTER_WORDS`` words (after boilerplate removal) never cluster:
their signature is ``b""`` (too little evidence; two short teasers share phrasing by
chance), and ``ClusterIndex`` neither finds nor stores empty signatures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor.deltas.diff import cosmetic_normalise

log = logging.getLogger(__name__)

MIN_CLUSTER_WORDS = 40
SEED = 1
SCHEME = "affine32"  # pinned: datasketch's default changed in 2.0 and schemes do not compare
NO_SIGNATURE = b""
_DTYPE = np.dtype("<u8")
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(cosmetic_normalise(text).casefold())


def shingles(text: str, k: int = 5) -> set[str]:
    """Word k-shingles of the normalised, case-folded text (punctuation dropped).

    A text of fewer than ``k`` words yields one shingle of all its words (none when empty).
    """
    return _shingles_of(_words(text), k)


def _shingles_of(words: list[str], k: int) -> set[str]:
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def signature(text: str, *, num_perm: int = 128) -> bytes:
    """MinHash of the text's shingles as bytes; ``b""`` when the text is too short to cluster."""
    words = _words(text)
    if len(words) < MIN_CLUSTER_WORDS:
        return NO_SIGNATURE
    minhash = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME)
    minhash.update_batch(s.encode("utf-8") for s in _shingles_of(words, 5))
    return np.asarray(minhash.hashvalues, dtype=_DTYPE).tobytes()


def _decode(sig: bytes) -> np.ndarray | None:
    if not sig or len(sig) % _DTYPE.itemsize:
        return None
    return np.frombuffer(sig, dtype=_DTYPE)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures; 0.0 if either is empty or they differ in size."""
    va, vb = _decode(a), _decode(b)
    if va is None or vb is None or len(va) != len(vb):
        return 0.0
    return _jaccard(va, vb)


def _jaccard(va: np.ndarray, vb: np.ndarray) -> float:
    return float(np.count_nonzero(va == vb)) / len(va)


class ClusterIndex:
    """Recent articles' signatures in a MinHash LSH, to find the cluster a new article joins.

    Built from ``(article_id, cluster_id, signature)`` triples (the store's
    ``recent_signatures(since)``, default window 72 h). The LSH is built for
    ``lsh_threshold`` (0.3: generous, for recall); ``find`` then checks every candidate with
    the signature's Jaccard estimate. A ``find`` threshold below ``lsh_threshold`` falls back
    to comparing with every signature, so it never misses. Signatures of another size than
    ``num_perm`` (say, from an older configuration) and empty ones are skipped.
    """

    def __init__(
        self,
        entries: Iterable[tuple[int, int, bytes]] = (),
        *,
        num_perm: int = 128,
        lsh_threshold: float = 0.3,
    ) -> None:
        self._num_perm = num_perm
        self._lsh_threshold = lsh_threshold
        self._lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
        self._entries: dict[int, tuple[int, np.ndarray]] = {}
        for article_id, cluster_id, sig in entries:
            self.add(article_id, cluster_id, sig)

    def __len__(self) -> int:
        return len(self._entries)

    def _values(self, sig: bytes) -> np.ndarray | None:
        values = _decode(sig)
        if values is None or len(values) != self._num_perm:
            if sig:
                log.warning("signature skipped bytes=%d num_perm=%d", len(sig), self._num_perm)
            return None
        return values

    def _lean(self, values: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME)

    def add(self, article_id: int, cluster_id: int, sig: bytes) -> None:
        """Index an article; adding a known article again replaces its cluster and signature."""
        values = self._values(sig)
        if values is None:
            return
        if article_id in self._entries:
            self._lsh.remove(article_id)
        self._lsh.insert(article_id, self._lean(values))
        self._entries[article_id] = (cluster_id, values)

    def _candidates(self, values: np.ndarray, threshold: float) -> Iterable[int]:
        if threshold < self._lsh_threshold:
            return list(self._entries)
        return self._lsh.query(self._lean(values))

    def find(self, sig: bytes, *, threshold: float = 0.5) -> int | None:
        """Cluster id of the most similar indexed article with similarity >= threshold, or None."""
        values = self._values(sig)
        if values is None:
            return None
        best_score, best_cluster = threshold, None
        for article_id in sorted(self._candidates(values, threshold)):  # ties: oldest id wins
            cluster_id, other = self._entries[article_id]
            score = _jaccard(values, other)
            if score > best_score or (score == best_score and best_cluster is None):
                best_score, best_cluster = score, cluster_id
        return best_cluster


class RollingIndex:
    """A ``ClusterIndex`` kept in step with the store's window of recent signatures.

    Building the LSH for every new article costs the square of the articles in the window
    (50 s of CPU for 10,000 entries in the benchmark); this adds only the signatures it has
    not seen, and rebuilds only when articles have left the window.
    """

    def __init__(self) -> None:
        self._index = ClusterIndex()
        self._clusters: dict[int, int] = {}

    def find(self, rows: Sequence[tuple[int, int, bytes]], sig: bytes, *,
             threshold: float = 0.5) -> int | None:
        self._sync(rows)
        return self._index.find(sig, threshold=threshold)

    def _sync(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        current = {article_id: cluster_id for article_id, cluster_id, _ in rows}
        if any(article_id not in current for article_id in self._clusters):
            self._index = ClusterIndex(rows)
            self._clusters = current
            return
        for article_id, cluster_id, sig in rows:
            if self._clusters.get(article_id) != cluster_id:
                self._index.add(article_id, cluster_id, sig)
                self._clusters[article_id] = cluster_id
