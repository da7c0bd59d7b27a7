"""Deterministic hashing of raw ids into a fixed number of buckets (hashed ID embeddings with an OOV bucket)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser (Steele et al., OOPSLA 2014): a bijection of uint64 with full avalanche.

    Arrays wrap modulo 2**64 without warnings, which is what the mixer relies on.
    """
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    return x ^ (x >> np.uint64(31))


def _string_words(ids: NDArray[np.str_]) -> NDArray[np.uint64]:
    """One uint64 per string from its code points, looping over character positions, never over rows."""
    width = ids.dtype.itemsize // 4
    width += width % 2  # an even width lets two code points (< 2**21 each) pack into one uint64 word
    # Little-endian on every platform, so the packed words (and the buckets) do not depend on the machine.
    flat = np.ascontiguousarray(ids.ravel()).astype(f"<U{width}", copy=False)
    words = flat.view("<u8").reshape(len(flat), width // 2).astype(np.uint64, copy=False)
    lengths = np.char.str_len(flat)
    n_words = (lengths + 1) // 2
    h = _mix64(lengths.astype(np.uint64) ^ np.uint64(0x5851F42D4C957F2D))
    for j in range(words.shape[1]):
        # Only a string's own words count, so the bucket does not depend on the array's padded width.
        h = np.where(n_words > j, _mix64(h ^ words[:, j]) + _GOLDEN, h)
    return h.reshape(ids.shape)


def hash_bucket(ids: ArrayLike, n_buckets: int, seed: int = 0) -> NDArray[np.int64]:
    """Bucket of each raw id in ``[1, n_buckets)``; 0 stays free for padding / out-of-vocabulary.

    The hash is fixed arithmetic (SplitMix64 mixing), so buckets are identical across processes,
    platforms and library versions, unlike Python's salted ``hash``. Integers hash by value; strings by
    their characters, so ``5`` and ``"5"`` land in different buckets: coerce ids to one type first.

    Stability: stable (changing the hash would silently remap every saved hashed-embedding table).

    Parameters
    ----------
    ids : array-like of int or str, any shape
        Raw ids (user or video ids as in the source files).
    n_buckets : int
        Embedding table size, including bucket 0; at least 2.
    seed : int
        Picks an independent hash function (e.g. one per table for multi-hash embeddings).

    Returns
    -------
    ndarray of int64, same shape as ``ids``
    """
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, int | np.integer) or n_buckets < 2:
        raise ValueError(f"n_buckets={n_buckets!r}, must be an integer >= 2 (bucket 0 is reserved)")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    arr = np.asarray(ids)
    if arr.dtype == object:
        values = arr.ravel().tolist()
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
            arr = np.asarray(values, dtype=np.int64).reshape(arr.shape)
        elif all(isinstance(v, str) for v in values):
            arr = arr.astype(str)
        else:
            kinds = sorted({type(v).__name__ for v in values})
            raise TypeError(f"ids must be all integers or all strings, got a mix of {kinds}")
    if arr.dtype.kind in "iu":
        words = arr.astype(np.int64, copy=False).view(np.uint64) if arr.dtype.kind == "i" else arr.astype(np.uint64)
    elif arr.dtype.kind == "U":
        words = _string_words(arr)
    elif arr.dtype.kind == "S":
        words = _string_words(np.char.decode(arr, "utf-8"))
    else:
        raise TypeError(f"ids must be integers or strings, got dtype {arr.dtype}")
    # SplitMix64 steps its state by the golden gamma before mixing; this also keeps id 0 off a fixed point.
    salt = _mix64(np.array([int(seed) & _MASK64], dtype=np.uint64) + _GOLDEN)[0]
    h = _mix64(words ^ salt) if words.size else words.astype(np.uint64)
    return (h % np.uint64(n_buckets - 1)).astype(np.int64) + 1
