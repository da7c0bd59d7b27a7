"""The model-ready output of the feature pipeline (:class:`EncodedFeatures`) and its shape (:class:`FeatureSpec`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass
class FeatureSpec:
    """What a model needs to size its input layers, fixed at ``fit`` time.

    Attributes
    ----------
    numeric_columns : list of str
        Columns of :attr:`EncodedFeatures.numeric`, in order.
    categorical_columns : list of str
        Columns of :attr:`EncodedFeatures.categorical`, in order.
    categorical_cardinalities : list of int
        Embedding table size per categorical column, including the 0 (missing / OOV) bucket.
    multi_columns : list of str
        Entries of :attr:`EncodedFeatures.multi`, in order.
    multi_cardinalities : list of int
        Embedding table size per multi column, including the 0 (OOV) bucket.
    numeric_missing_columns : list of str
        Columns of :attr:`EncodedFeatures.numeric_missing`: the numeric columns that had missing values in
        the fit rows (a subset of ``numeric_columns``, same order).
    """

    numeric_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    categorical_cardinalities: list[int] = field(default_factory=list)
    multi_columns: list[str] = field(default_factory=list)
    multi_cardinalities: list[int] = field(default_factory=list)
    numeric_missing_columns: list[str] = field(default_factory=list)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric_columns)

    @property
    def n_categorical(self) -> int:
        return len(self.categorical_columns)

    @property
    def n_multi(self) -> int:
        return len(self.multi_columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy."""
        return asdict(self)


@dataclass
class EncodedFeatures:
    """Encoded side features of ``n`` entities, row-aligned with the requested rows.

    Stability: provisional (the field layout is what the neural models consume).

    Attributes
    ----------
    numeric : ndarray of float32, shape (n, n_numeric)
        Standardised values (after optional ``log1p``); a missing raw value becomes 0.0, the fit mean.
    numeric_missing : ndarray of float32, shape (n, n_numeric_missing)
        1.0 where the raw value was missing (null, NaN, inf), for the columns in
        :attr:`FeatureSpec.numeric_missing_columns`.
    categorical : ndarray of int64, shape (n, n_categorical)
        Codes in ``[0, cardinality)``; 0 means missing or out of vocabulary.
    multi : list of (offsets, codes)
        One pair per multi-valued column: ``offsets`` int64 of shape (n + 1,) and ``codes`` int64 of shape
        (offsets[-1],); row ``i`` holds ``codes[offsets[i]:offsets[i + 1]]`` (possibly empty); code 0 is OOV.
        This is the ``input`` / ``offsets`` layout of ``torch.nn.EmbeddingBag(..., include_last_offset=True)``.
    """

    numeric: NDArray[np.float32]
    numeric_missing: NDArray[np.float32]
    categorical: NDArray[np.int64]
    multi: list[tuple[NDArray[np.int64], NDArray[np.int64]]]

    def __post_init__(self) -> None:
        n = self.numeric.shape[0] if self.numeric.ndim == 2 else -1
        for name, arr, dtype in (
            ("numeric", self.numeric, np.float32),
            ("numeric_missing", self.numeric_missing, np.float32),
            ("categorical", self.categorical, np.int64),
        ):
            if arr.dtype != dtype or arr.ndim != 2:
                raise TypeError(f"EncodedFeatures.{name} must be a 2-d {np.dtype(dtype)} array, "
                                f"got {arr.ndim}-d {arr.dtype}")
            if arr.shape[0] != n:
                raise ValueError(f"EncodedFeatures.{name} has {arr.shape[0]} rows, expected {n}")
        for j, (offsets, codes) in enumerate(self.multi):
            if offsets.dtype != np.int64 or codes.dtype != np.int64:
                raise TypeError(f"EncodedFeatures.multi[{j}] must hold int64 offsets and codes, "
                                f"got {offsets.dtype} and {codes.dtype}")
            if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != len(codes):
                raise ValueError(f"EncodedFeatures.multi[{j}] offsets must have shape ({n + 1},), start at 0 "
                                 f"and end at len(codes)={len(codes)}")

    def __len__(self) -> int:
        return int(self.numeric.shape[0])

    @property
    def n_rows(self) -> int:
        return len(self)

    def take(self, rows: ArrayLike) -> EncodedFeatures:
        """The given rows (an index array or a boolean mask of length ``n``), as a new, aligned copy.

        Parameters
        ----------
        rows : array-like of int or bool, shape (m,) or (n,)
            Row positions (repeats allowed) or a mask.
        """
        idx = np.asarray(rows)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean rows mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        if idx.dtype.kind not in "iu" and idx.size:
            raise TypeError(f"rows must be integer positions or a boolean mask, got dtype {idx.dtype}")
        idx = idx.astype(np.int64, copy=False).ravel()
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"rows out of range for {len(self)} encoded rows")
        idx = np.where(idx < 0, idx + len(self), idx)
        multi = [_take_ragged(offsets, codes, idx) for offsets, codes in self.multi]
        return EncodedFeatures(self.numeric[idx], self.numeric_missing[idx], self.categorical[idx], multi)


def _take_ragged(
    offsets: NDArray[np.int64], codes: NDArray[np.int64], idx: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Gather rows of a CSR-style ragged array without a Python loop over rows."""
    starts = offsets[idx]
    lengths = offsets[idx + 1] - starts
    new_offsets = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    # Position k of the output reads codes[starts[row] + (k - new_offsets[row])].
    gather = np.repeat(starts - new_offsets[:-1], lengths) + np.arange(new_offsets[-1], dtype=np.int64)
    return new_offsets, codes[gather]
