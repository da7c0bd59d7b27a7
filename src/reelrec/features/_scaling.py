"""Numeric feature scaling: optional log1p, then standardisation with statistics from the fit rows only."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.errors import DataWarning

# Standardised values are clipped to +-Z_CLIP so float32 outputs stay finite for any input. Fit rows never
# reach it (|z| <= sqrt(n - 1) for n fit rows); only extreme unseen values do, and they trigger a warning.
Z_CLIP = 1e4
# 'auto' log1p: a non-negative column with at least this skewness, or this max/median ratio, is a counter.
AUTO_SKEW = 2.0
AUTO_MAX_OVER_MEDIAN = 50.0


@dataclass
class ColumnScaling:
    """How one numeric column is scaled: ``z = (log1p?(x) - mean) / std``; missing -> 0.

    Attributes
    ----------
    log1p : bool
        Whether ``log1p`` is applied before standardising.
    mean, std : float
        Fit-row statistics of the (log1p-transformed) finite values; ``std`` is 1.0 for constant columns.
    n_fit : int
        Number of fit rows.
    n_missing : int
        Fit rows whose value was missing (null, NaN or inf).
    """

    log1p: bool
    mean: float
    std: float
    n_fit: int
    n_missing: int

    @property
    def has_missing(self) -> bool:
        return self.n_missing > 0

    def to_json(self) -> dict[str, Any]:
        return {"log1p": self.log1p, "mean": self.mean, "std": self.std, "n_fit": self.n_fit,
                "n_missing": self.n_missing}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> ColumnScaling:
        """Rebuild from :meth:`to_json`; ``where`` names the JSON field in error messages."""
        for key, types in (("log1p", bool), ("mean", (int, float)), ("std", (int, float)), ("n_fit", int),
                           ("n_missing", int)):
            if key not in data:
                raise ValueError(f"{where} lacks key {key!r}")
            value = data[key]
            if not isinstance(value, types) or (key != "log1p" and isinstance(value, bool)):
                raise ValueError(f"{where}.{key} has the wrong type ({type(value).__name__})")
        if not np.isfinite(data["mean"]) or not (np.isfinite(data["std"]) and data["std"] > 0):
            raise ValueError(f"{where}: mean must be finite and std finite and > 0, got {data['mean']}, {data['std']}")
        return cls(data["log1p"], float(data["mean"]), float(data["std"]), data["n_fit"], data["n_missing"])


def is_heavy_tailed(values: NDArray[np.float64]) -> bool:
    """Whether finite ``values`` look like a non-negative counter with a long right tail.

    Needs at least three distinct values (a 0/1 flag is not a counter), no negative value, and either
    skewness > ``AUTO_SKEW`` or max/median > ``AUTO_MAX_OVER_MEDIAN``.
    """
    if values.size < 3 or values.min() < 0:
        return False
    top = float(values.max())
    if top == 0 or np.unique(values).size < 3:
        return False
    scaled = values / top  # in [0, 1]: moments cannot overflow
    median = float(np.median(scaled))
    if median > 0 and 1.0 / median > AUTO_MAX_OVER_MEDIAN:
        return True
    dev = scaled - scaled.mean()
    var = float(np.mean(dev**2))
    return var > 0 and float(np.mean(dev**3)) / var**1.5 > AUTO_SKEW


def fit_column(values: NDArray[np.float64], log1p: bool, column: str) -> ColumnScaling:
    """Statistics of one column over the fit rows; ``values`` holds NaN where the raw value was missing."""
    finite = values[np.isfinite(values)]
    if log1p:
        if finite.size and finite.min() < 0:
            raise ValueError(f"column {column!r} has negative values (min {finite.min():g}) in the fit rows; "
                             "log1p needs non-negative counters: leave it out of log1p")
        finite = np.log1p(finite)
    n_missing = int(values.size - finite.size)
    if finite.size == 0:
        warnings.warn(f"column {column!r} has no value in the fit rows; it encodes as 0.0 everywhere",
                      DataWarning, stacklevel=3)
        return ColumnScaling(log1p, 0.0, 1.0, int(values.size), n_missing)
    # Scale to [-1, 1] first so the mean and variance of huge values cannot overflow.
    scale = float(np.abs(finite).max())
    if scale == 0 or finite.min() == finite.max():
        return ColumnScaling(log1p, float(finite[0]), 1.0, int(values.size), n_missing)
    scaled = finite / scale
    mean_s = float(scaled.mean())
    std_s = float(scaled.std())
    mean = mean_s * scale
    # Rounding can leave a tiny spread on an (almost) constant column; treat it as constant (std 1).
    std = std_s * scale if std_s > 1e-12 else 1.0
    if not (np.isfinite(std) and std > 0):  # subnormal spreads underflow to 0
        std = 1.0
    return ColumnScaling(log1p, mean, std, int(values.size), n_missing)


def scale_matrix(
    raw: NDArray[np.float64], scalings: list[ColumnScaling], columns: list[str]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Scale a (n, d) block of raw values (NaN = missing) column-wise, all columns at once.

    Returns the standardised float32 block (missing -> 0.0) and the missing mask.
    """
    missing = ~np.isfinite(raw)
    z = np.where(missing, 0.0, raw)
    log_cols = np.flatnonzero([s.log1p for s in scalings])
    if log_cols.size:
        block = z[:, log_cols]
        negative = block < 0
        if negative.any():
            bad = [columns[log_cols[j]] for j in np.flatnonzero(negative.any(axis=0))]
            warnings.warn(f"{int(negative.sum())} negative values in log1p columns {bad} were set to 0 "
                          "(these columns were non-negative in the fit rows)", DataWarning, stacklevel=3)
            block[negative] = 0.0
        z[:, log_cols] = np.log1p(block)
    with np.errstate(over="ignore"):
        # Halving first keeps x - mean finite even at the float64 limits; dividing by a tiny std may
        # still overflow, to +-inf with the right sign (never NaN), which the clip below bounds.
        z *= 0.5
        z -= 0.5 * np.array([s.mean for s in scalings], dtype=np.float64)
        z /= np.array([s.std for s in scalings], dtype=np.float64)
        z *= 2.0
    z[missing] = 0.0
    beyond = np.abs(z) > Z_CLIP
    if beyond.any():
        bad = [columns[j] for j in np.flatnonzero(beyond.any(axis=0))]
        warnings.warn(f"{int(beyond.sum())} values in columns {bad} lie beyond {Z_CLIP:g} standard deviations "
                      "of the fit rows and were clipped", DataWarning, stacklevel=3)
        np.clip(z, -Z_CLIP, Z_CLIP, out=z)
    return z.astype(np.float32), missing
