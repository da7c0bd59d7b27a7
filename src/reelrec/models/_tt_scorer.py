"""Scores from the two-tower's exported vectors: pure numpy, no network, one meaning per rule.

A user row is ``[retrieval (d) | watch factors (r) | watch bias (1)]``, a video row the same plus its
retrieval log-prior last (``r`` counts the towers' watch factors plus the ALS residual's). The rules:

- ``retrieval``: the retrieval logit, ``log P(next view = video)`` up to a per-user constant (a dot
  product plus a per-video bias, so an inner-product index can serve it);
- ``watch``: the predicted watch ratio (the label's unit: a rating on explicit data);
- ``expected``: ``log P(next view = video) + w * log(predicted watch ratio)`` with the softmax taken
  over the whole catalogue; with ``w = 1`` it is the log of the watch ratio the video is expected
  to earn on the user's next view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

#: Smallest predicted label that enters a log (a watch ratio of 0 would otherwise be -inf).
EPS = 1e-3


@dataclass(frozen=True)
class TargetScale:
    """How the watch head's standardised output maps back to the label (and the label to it)."""

    target: str  # "log1p" | "identity"
    mean: float
    std: float
    low: float  # standardised range seen in training: predictions are clipped to it
    high: float

    def transform(self, label: NDArray[np.floating]) -> NDArray[np.float64]:
        wide = np.asarray(label, np.float64)
        return np.log1p(np.maximum(wide, 0.0)) if self.target == "log1p" else wide

    def standardize(self, label: NDArray[np.floating]) -> NDArray[np.float32]:
        return ((self.transform(label) - self.mean) / self.std).astype(np.float32)

    def inverse(self, z: NDArray[np.float32]) -> NDArray[np.float32]:
        raw = np.clip(z, self.low, self.high).astype(np.float32) * np.float32(self.std) + np.float32(self.mean)
        return (np.expm1(raw) if self.target == "log1p" else raw).astype(np.float32, copy=False)


def log_softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise ``log softmax`` (stable), float32."""
    top = logits.max(axis=1, keepdims=True)
    shifted = logits - top
    return (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).astype(np.float32, copy=False)


@dataclass
class TowerScorer:
    """Every rule's scores for user rows against the whole item matrix (contiguous pieces cached)."""

    item_factors: NDArray[np.float32]
    retrieval_dim: int
    watch_dim: int
    offset: float
    scale: TargetScale
    watch_weight: float
    _parts: dict[str, NDArray[np.float32]] = field(default_factory=dict, repr=False)

    @property
    def has_retrieval(self) -> bool:
        return self.retrieval_dim > 0

    @property
    def has_watch(self) -> bool:
        return self.watch_dim > 0

    def parts(self) -> dict[str, NDArray[np.float32]]:
        if not self._parts:
            d, r, f = self.retrieval_dim, self.watch_dim, self.item_factors
            self._parts = {
                "ret_t": np.ascontiguousarray(f[:, :d].T),
                "ret_b": np.ascontiguousarray(f[:, -1]),
                "reg_t": np.ascontiguousarray(f[:, d : d + r].T),
                "reg_b": np.ascontiguousarray(f[:, d + r]) + np.float32(self.offset),
            }
        return self._parts

    def logits(self, uf: NDArray[np.float32]) -> NDArray[np.float32]:
        p = self.parts()
        return uf[:, : self.retrieval_dim] @ p["ret_t"] + p["ret_b"]

    def watch_z(self, uf: NDArray[np.float32]) -> NDArray[np.float32]:
        """The watch head's standardised output for every video."""
        p, d, r = self.parts(), self.retrieval_dim, self.watch_dim
        return uf[:, d : d + r] @ p["reg_t"] + p["reg_b"] + uf[:, d + r : d + r + 1]

    def expected(self, uf: NDArray[np.float32], weight: float | None = None) -> NDArray[np.float32]:
        w = self.watch_weight if weight is None else weight
        predicted = self.scale.inverse(self.watch_z(uf))
        return (log_softmax(self.logits(uf)) + np.float32(w) * np.log(np.maximum(predicted, EPS))).astype(
            np.float32, copy=False
        )

    def scores(self, uf: NDArray[np.float32], rule: str) -> NDArray[np.float32]:
        """Scores of every video for user rows ``uf`` under ``rule`` (see the module doc)."""
        if rule == "retrieval":
            return self.logits(uf)
        if rule == "watch":
            return self.scale.inverse(self.watch_z(uf))
        return self.expected(uf)

    def pair_z(self, uf: NDArray[np.float32], itf: NDArray[np.float32]) -> NDArray[np.float32]:
        """Standardised watch prediction for aligned user and video rows."""
        d, r = self.retrieval_dim, self.watch_dim
        z = (uf[:, d : d + r] * itf[:, d : d + r]).sum(1) + uf[:, d + r] + itf[:, d + r]
        return (z + np.float32(self.offset)).astype(np.float32)

    def predict(self, uf: NDArray[np.float32], itf: NDArray[np.float32]) -> NDArray[np.float32]:
        """Predicted watch ratio (label units) for aligned user and video rows."""
        return self.scale.inverse(self.pair_z(uf, itf))


def insert_residual(factors: NDArray[np.float32], res: NDArray[np.float32], split: int) -> NDArray[np.float32]:
    """``[ret | g | b | rest]`` to ``[ret | g | p | b + c | rest]`` for residual rows ``[p | c]``.

    ``split`` is where the towers' watch factors end (retrieval width plus the towers' watch width).
    """
    k = res.shape[1] - 1
    out = np.concatenate([factors[:, :split], res[:, :k], factors[:, split:]], axis=1)
    out[:, split + k] += res[:, k]
    return np.ascontiguousarray(out, dtype=np.float32)
