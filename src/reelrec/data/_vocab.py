"""Vocabularies: raw user/video ids to contiguous int32 indices and back, built once at load time."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray


class IdMap:
    """A bidirectional map between raw ids and contiguous ``int32`` indices.

    Raw ids are either integers (stored as ``int64``) or strings (stored as a numpy unicode array).
    Position ``i`` of :attr:`raw_ids` is the raw id of index ``i``.

    Parameters
    ----------
    raw_ids : array-like, shape (n,)
        Distinct raw ids; their order defines the indices.
    """

    def __init__(self, raw_ids: ArrayLike) -> None:
        ids = np.asarray(raw_ids)
        if ids.ndim != 1:
            raise ValueError(f"raw_ids must be one-dimensional, got shape {ids.shape}")
        if ids.dtype.kind in "iu":
            ids = ids.astype(np.int64, copy=False)
        elif ids.dtype.kind in "US" or ids.dtype.kind == "O":
            ids = ids.astype(str)
        else:
            raise TypeError(f"raw ids must be integers or strings, got dtype {ids.dtype}")
        if len(ids) >= np.iinfo(np.int32).max:
            raise ValueError(f"{len(ids)} ids do not fit int32 indices")
        self.raw_ids: NDArray = ids
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        if len(ids) > 1 and (self._sorted[1:] == self._sorted[:-1]).any():
            dup = self._sorted[1:][self._sorted[1:] == self._sorted[:-1]][0]
            raise ValueError(f"raw ids must be distinct; {dup!r} appears more than once")

    @classmethod
    def from_values(cls, values: ArrayLike) -> IdMap:
        """Build a map over the distinct values, sorted ascending (a stable, reproducible order)."""
        return cls(np.unique(np.asarray(values)))

    def __len__(self) -> int:
        return len(self.raw_ids)

    def __contains__(self, raw: object) -> bool:
        return bool(self.index(np.asarray([raw]), missing="negative")[0] >= 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self.raw_ids, other.raw_ids)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)}, dtype={self.raw_ids.dtype})"

    @property
    def is_integer(self) -> bool:
        return self.raw_ids.dtype.kind == "i"

    def coerce(self, raw: ArrayLike) -> NDArray:
        """Convert user-supplied ids (e.g. strings from a URL) to this map's id dtype.

        Raises ``KeyError`` naming the first value that cannot be an id of this map.
        """
        arr = np.atleast_1d(np.asarray(raw))
        if self.is_integer and arr.dtype.kind not in "iu":
            try:
                return arr.astype(np.int64)
            except (TypeError, ValueError):
                bad = next(v for v in arr.tolist() if not _is_int_like(v))
                raise KeyError(f"id {bad!r} is not an integer id") from None
        if not self.is_integer:
            return arr.astype(str)
        return arr.astype(np.int64, copy=False)

    def index(
        self, raw: ArrayLike, missing: Literal["error", "negative"] = "error"
    ) -> NDArray[np.int32]:
        """Indices of raw ids, shape like ``raw``.

        Unknown ids raise ``KeyError`` naming how many and which, or become ``-1`` with
        ``missing="negative"``.
        """
        arr = self.coerce(raw)
        if len(self._sorted) == 0:
            pos = np.zeros(arr.shape, dtype=np.int64)
            found = np.zeros(arr.shape, dtype=bool)
        else:
            pos = np.searchsorted(self._sorted, arr)
            pos = np.minimum(pos, len(self._sorted) - 1)
            found = self._sorted[pos] == arr
        out = np.where(found, self._order[pos], -1).astype(np.int32)
        if missing == "error" and not found.all():
            unknown = arr[~found]
            shown = ", ".join(repr(x) for x in unknown[:5].tolist())
            raise KeyError(f"{len(unknown)} of {arr.size} ids not in the vocabulary: {shown}")
        return out

    def raw(self, indices: ArrayLike) -> NDArray:
        """Raw ids of indices (``-1`` is not allowed here)."""
        return self.raw_ids[np.asarray(indices)]

    def to_list(self) -> list:
        """Raw ids as a JSON-friendly list."""
        return self.raw_ids.tolist()


def _is_int_like(value: object) -> bool:
    try:
        int(str(value))
    except ValueError:
        return False
    return True
