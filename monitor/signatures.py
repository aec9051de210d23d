"""MinHash signatures as stored bytes, and how alike two stories are by them (pure).

Owns the one signature format shared by the deltas stage (which makes signatures from text)
and the store (which keeps them and finds a new article's cluster): ``NUM_PERM`` (128) hash
values as little-endian uint64, so 1,024 bytes; ``b""`` means "no signature" (a text too
short to cluster). The estimated Jaccard similarity of two signatures is the share of equal
values. ``SignatureTable`` keeps many signatures as one matrix and compares a signature with
all of them at once, as a single numpy comparison; ``most_similar`` is that for one list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TypeVar

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
    table = SignatureTable()
    for position, sig in enumerate(others):
        table.put(position, position, sig, 0)
    return table.best(probe, since=0, threshold=threshold)


class SignatureTable:
    """Signatures kept for many comparisons: each row a key (an article id), the group it
    answers for (its cluster), when it was seen (any ordered integer, such as microseconds)
    and its values, in one matrix grown in place. A comparison is then one numpy operation
    over rows laid out already, not a join of every signature's bytes for each look.
    ``put`` of a key stored already replaces its row."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}
        self._size = 0
        self._keys = np.zeros(0, dtype=np.int64)
        self._groups = np.zeros(0, dtype=np.int64)
        self._seen = np.zeros(0, dtype=np.int64)
        self._fits = np.zeros(0, dtype=bool)      # NUM_PERM values
        self._misfits = np.zeros(0, dtype=bool)   # neither fitting nor empty: warned about
        self._matrix: npt.NDArray[np.uint64] = np.zeros((0, NUM_PERM), dtype=DTYPE)

    def __len__(self) -> int:
        return self._size

    def put(self, key: int, group: int, sig: bytes, seen: int) -> None:
        row = self._rows.get(key)
        if row is None:
            row = self._size
            self._grow(row + 1)
            self._rows[key], self._size = row, row + 1
        values = decode(sig)
        self._keys[row], self._groups[row], self._seen[row] = key, group, seen
        self._fits[row], self._misfits[row] = values is not None, values is None and bool(sig)
        self._matrix[row] = 0 if values is None else values

    def best(self, probe: bytes, *, since: int, threshold: float,
             exclude: int | None = None) -> int | None:
        """The group of the row most similar to ``probe`` among those seen at ``since`` or
        later (but ``exclude``), with an estimated similarity of at least ``threshold``;
        of equally similar rows the one of the lowest key. None when there is none."""
        values = decode(probe)
        if values is None:
            _skipped(1 if probe else 0)
            return None
        size = self._size
        live = self._seen[:size] >= since
        if exclude is not None:
            live &= self._keys[:size] != exclude
        _skipped(int(np.count_nonzero(live & self._misfits[:size])))
        usable = live & self._fits[:size]
        if not usable.any():
            return None
        counts = np.count_nonzero(self._matrix[:size] == values, axis=1)
        counts[~usable] = -1
        top = counts.max()
        tied = np.flatnonzero(counts == top)
        row = tied[np.argmin(self._keys[tied])]
        return int(self._groups[row]) if top / NUM_PERM >= threshold else None

    def _grow(self, needed: int) -> None:
        capacity = len(self._keys)
        if needed <= capacity:
            return
        capacity = max(64, 2 * capacity, needed)
        self._keys = _resized(self._keys, capacity)
        self._groups = _resized(self._groups, capacity)
        self._seen = _resized(self._seen, capacity)
        self._fits = _resized(self._fits, capacity)
        self._misfits = _resized(self._misfits, capacity)
        self._matrix = _resized(self._matrix, capacity)


ArrayT = TypeVar("ArrayT", bound=np.ndarray)


def _resized(array: ArrayT, rows: int) -> ArrayT:
    """``array`` with room for ``rows`` rows; the rows it had are kept, the new ones zero."""
    grown = np.zeros((rows, *array.shape[1:]), dtype=array.dtype)
    grown[:len(array)] = array
    return grown  # type: ignore[return-value]


def _skipped(count: int) -> None:
    if count:
        log.warning("signatures skipped count=%d num_perm=%d", count, NUM_PERM)
