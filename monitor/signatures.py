"""MinHash signatures as stored bytes, and how alike two stories are by them (pure).

Owns the one signature format shared by the deltas stage (which makes signatures from text)
and the store (which keeps them and finds a new article's cluster): ``NUM_PERM`` (128) hash
values as little-endian uint64, so 1,024 bytes; ``b""`` means "no signature" (a text too
short to cluster). The estimated Jaccard similarity of two signatures is the share of equal
values. ``most_similar`` compares one signature with many at once, as a single numpy
matrix comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

NUM_PERM = 128
NO_SIGNATURE = b""
DTYPE = np.dtype("<u8")

Values = npt.NDArray[np.uint64]


def encode(values: Iterable[int] | Values) -> bytes:
    """Hash values as signature bytes."""
    return np.asarray(values, dtype=DTYPE).tobytes()


def decode(sig: bytes, *, num_perm: int | None = NUM_PERM) -> Values | None:
    """The hash values of ``sig``; None when it is empty, malformed or (with ``num_perm``)
    of another size."""
    if not sig or len(sig) % DTYPE.itemsize:
        return None
    if num_perm is not None and len(sig) != num_perm * DTYPE.itemsize:
        return None
    return np.frombuffer(sig, dtype=DTYPE)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity; 0.0 if either is empty or they differ in size."""
    va, vb = decode(a, num_perm=None), decode(b, num_perm=None)
    if va is None or vb is None or len(va) != len(vb):
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)


def most_similar(probe: bytes, others: Sequence[bytes], *,
                 threshold: float = 0.5) -> int | None:
    """The position in ``others`` of the signature most similar to ``probe`` with an estimated
    similarity of at least ``threshold``; ties go to the earliest position. None when there is
    none. Signatures of another size than ``NUM_PERM`` values, and empty ones, never match."""
    values = decode(probe)
    if values is None:
        _skipped(1 if probe else 0)
        return None
    sizes = list(map(len, others))         # one pass in C: hundreds of signatures a call
    fitting = sizes.count(len(probe))
    _skipped(len(sizes) - fitting - sizes.count(0))
    if not fitting:
        return None
    if fitting == len(others):             # the usual case: every signature fits
        usable: Sequence[int] = range(len(others))
        joined = b"".join(others)
    else:
        usable = [i for i, size in enumerate(sizes) if size == len(probe)]
        joined = b"".join(others[i] for i in usable)
    matrix = np.frombuffer(joined, dtype=DTYPE).reshape(fitting, NUM_PERM)
    scores = np.count_nonzero(matrix == values, axis=1) / NUM_PERM
    best = int(np.argmax(scores))          # the first of equal maxima
    return usable[best] if scores[best] >= threshold else None


def _skipped(count: int) -> None:
    if count:
        log.warning("signatures skipped count=%d num_perm=%d", count, NUM_PERM)
