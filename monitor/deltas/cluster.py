"""Story clustering, the text half: word shingles and the MinHash signature of an article.

This module owns turning text into a signature (datasketch MinHash over word 5-shingles),
computed with a fixed seed, the pinned ``affine32`` scheme and datasketch's sha1-based hash,
so the same text gives the same bytes in every process and on every host; the bytes are in
the format of ``monitor.signatures``. Texts shorter than ``MIN_CLUSTER_WORDS`` words (after
boilerplate removal) never cluster: their signature is ``b""`` (too little evidence; two
short teasers share phrasing by chance).

Which cluster a new article joins is decided by the store, inside its write transaction,
from the plain signature: it compares it with every recent signature in one numpy matrix
comparison (``monitor.signatures.SignatureTable``, which the store keeps up to date from the
revisions saved since its last look). That is exact, cheap for the window of a few days
(thousands of articles: milliseconds), and needs no LSH index that each process would have to
keep in step with the database.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from monitor.deltas.diff import cosmetic_normalise
from monitor.signatures import NO_SIGNATURE, NUM_PERM, encode

__all__ = ["MIN_CLUSTER_WORDS", "NO_SIGNATURE", "SCHEME", "SEED", "shingles", "signature"]

MIN_CLUSTER_WORDS = 40
SEED = 1
SCHEME = "affine32"  # pinned: datasketch's default changed in 2.0 and schemes do not compare
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


def signature(text: str, *, num_perm: int = NUM_PERM) -> bytes:
    """MinHash of the text's shingles as bytes; ``b""`` when the text is too short to cluster."""
    words = _words(text)
    if len(words) < MIN_CLUSTER_WORDS:
        return NO_SIGNATURE
    minhash = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME, hashfunc=int,
                      permutations=_permutations(num_perm))
    minhash.update_batch(shingle_hashes(_shingles_of(words, 5)))
    return encode(minhash.hashvalues)


def shingle_hashes(items: Iterable[str]) -> tuple[int, ...]:
    """datasketch's default hash (``sha1_hash32``: the first four bytes of the SHA-1 of the
    UTF-8 text, little-endian) of every shingle, in one pass: the digests are joined and
    unpacked at once, not a Python call and a ``struct.unpack`` per shingle (a third of a
    signature's time). ``MinHash`` then takes them with ``hashfunc=int``."""
    sha1 = hashlib.sha1
    digests = b"".join([sha1(s.encode("utf-8")).digest()[:4] for s in items])
    return struct.unpack(f"<{len(digests) // 4}I", digests)


@functools.cache
def _permutations(num_perm: int) -> npt.NDArray[np.uint64]:
    """The seeded hash permutations, drawn once a process rather than for every text."""
    permutations: npt.NDArray[np.uint64] = MinHash(num_perm=num_perm, seed=SEED,
                                                   scheme=SCHEME).permutations
    return permutations
