"""Closed-form building blocks of the hybrid model: label kinds, feature ridge maps, EASE, blend scaling."""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.features import EncodedFeatures, FeaturePipeline
from reelrec.models._ease import ease_matrix

LabelKind = Literal["rating", "watch_ratio", "count", "binary"]
LABEL_KINDS: tuple[str, ...] = ("rating", "watch_ratio", "count", "binary")
#: Ridge penalty of the side-feature -> factor maps (features are standardised, so one value fits all).
FEATURE_REG = 10.0


def detect_label_kind(dataset: Dataset) -> LabelKind:
    """What the label means, read from its name and values.

    ``watch_ratio`` / ``rating`` names are trusted. Otherwise a single distinct value is ``binary``;
    integer labels with at most 10 distinct values from 0..10 read as ``rating``, other non-negative
    integers as ``count`` (plays, clicks), anything else as a continuous engagement label treated
    like ``watch_ratio``. Integer ratings 1-5 and small play counts look alike, hence the
    ``label_kind`` override.
    """
    if dataset.label_name == "watch_ratio":
        return "watch_ratio"
    if dataset.label_name == "rating":
        return "rating"
    label = dataset.interactions.label
    values = np.unique(label)
    if len(values) <= 1:
        return "binary"
    integer = bool(np.all(values == np.round(values)))
    if integer and values[0] >= 0 and values[-1] <= 10 and len(values) <= 10:
        return "rating"
    if integer and values[0] >= 0:
        return "count"
    return "watch_ratio"


def label_target(label: NDArray[np.float32], kind: LabelKind) -> NDArray[np.float64]:
    """The regression target of the label head: log1p for heavy-tailed kinds, raw ratings, 1 for binary."""
    y = label.astype(np.float64)
    if kind in ("watch_ratio", "count"):
        return np.log1p(np.maximum(y, 0.0))
    if kind == "binary":
        return np.ones_like(y)
    return y


def label_from_target(z: NDArray[np.float32], kind: str) -> NDArray[np.float32]:
    """Inverse of :func:`label_target` (in place where possible)."""
    if kind in ("watch_ratio", "count"):
        np.expm1(z, out=z)
    return z


# ---------------------------------------------------------------------------------------- side features
def feature_pipeline(table: FeatureTable | None) -> FeaturePipeline | None:
    """The encoder of one side-feature table (rare categories pooled so the ridge maps stay small)."""
    if table is None or not table.columns:
        return None
    return FeaturePipeline(min_count=5, max_categories=200)


def design_matrix(encoded: EncodedFeatures, pipe: FeaturePipeline) -> sp.csr_matrix:
    """Standardised numbers, one-hot categories and length-normalised multi-hot bags as one CSR matrix.

    Code 0 (missing / unknown) gets no column, so an unseen value falls back to the intercept.
    """
    spec = pipe.spec_
    n = len(encoded)
    blocks: list[sp.csr_matrix] = [
        sp.csr_matrix(encoded.numeric.astype(np.float32)),
        sp.csr_matrix(encoded.numeric_missing.astype(np.float32)),
    ]
    rows = np.arange(n)
    for j, card in enumerate(spec.categorical_cardinalities):
        codes = encoded.categorical[:, j]
        keep = codes > 0
        blocks.append(sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (rows[keep], codes[keep])), shape=(n, card)))
    for (offsets, codes), card in zip(encoded.multi, spec.multi_cardinalities, strict=True):
        lens = np.diff(offsets)
        weight = np.repeat(1.0 / np.sqrt(np.maximum(lens, 1)), lens).astype(np.float32)
        mat = sp.csr_matrix((weight, codes, offsets), shape=(n, card))
        mat.data[mat.indices == 0] = 0.0
        blocks.append(mat)
    out = sp.hstack(blocks, format="csr", dtype=np.float32)
    out.eliminate_zeros()
    return out


def ridge_map(design: sp.csr_matrix, target: NDArray[np.float32], reg: float) -> tuple[NDArray, NDArray]:
    """Weights ``W`` and intercept ``b`` of ``target ~ design @ W + b`` by ridge regression (float64 solve).

    Used to map side features to learned factors, so users and videos with no history get the
    factors their features predict (cold start, new videos).
    """
    mean_x = np.asarray(design.mean(axis=0)).ravel()
    mean_t = target.mean(axis=0)
    dense = design.toarray().astype(np.float64) - mean_x
    gram = dense.T @ dense
    gram[np.diag_indices_from(gram)] += reg
    weights = np.linalg.solve(gram, dense.T @ (target.astype(np.float64) - mean_t))
    intercept = mean_t - mean_x @ weights
    return weights.astype(np.float32), np.asarray(intercept, np.float32)


# ----------------------------------------------------------------------------------------------- EASE
def ease_weights(gram: NDArray[np.float64], reg: float) -> NDArray[np.float32]:
    """EASE's closed-form item-item matrix ``B = I - P / diag(P)`` with ``P = (G + reg I)^-1``, diag 0.

    Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019. ``gram`` is not modified.
    """
    return ease_matrix(gram, reg)


def fold_in(
    weights: sp.csr_matrix,
    targets: sp.csr_matrix,
    item_factors: NDArray[np.float32],
    item_bias: NDArray[np.float32],
    reg: float,
    prior: NDArray[np.float32] | None = None,
) -> NDArray[np.float32]:
    """MF user vectors of sessions: ``min_p sum_j w_j (t_j - c_j - q_j . p)^2 + reg |p - p0|^2`` per row.

    ``weights`` holds one row per session with view weights ``w_j`` (recency), ``targets`` the same
    pattern with each view's centred label ``t_j``; ``prior`` (``p0``, default 0) is the user's
    trained vector (or the one their features predict), so a known user's history moves their vector
    rather than replacing it.
    """
    k = item_factors.shape[1]
    out = np.zeros((weights.shape[0], k), np.float32) if prior is None else prior.astype(np.float32).copy()
    ridge = reg * np.eye(k)
    for r in range(weights.shape[0]):
        lo, hi = weights.indptr[r], weights.indptr[r + 1]
        if lo == hi:
            continue
        cols, w = weights.indices[lo:hi], weights.data[lo:hi].astype(np.float64)
        t = targets.data[lo:hi].astype(np.float64)
        q = item_factors[cols].astype(np.float64)
        rhs = q.T @ (w * (t - item_bias[cols])) + reg * out[r].astype(np.float64)
        out[r] = np.linalg.solve(q.T @ (q * w[:, None]) + ridge, rhs)
    return out


def ials_fold_in(
    confidence: sp.csr_matrix, item_factors: NDArray[np.float32], reg: float, prior: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """iALS user vectors of sessions: ``(Y'Y + Y'(C - I)Y + reg I) x = Y'C 1 + reg x0`` per row.

    ``confidence`` holds ``c_j - 1`` of each history view; ``prior`` (default 0) as in :func:`fold_in`.
    """
    k = item_factors.shape[1]
    yy = item_factors.T.astype(np.float64) @ item_factors.astype(np.float64) + reg * np.eye(k)
    out = np.zeros((confidence.shape[0], k), np.float32) if prior is None else prior.astype(np.float32).copy()
    for r in range(confidence.shape[0]):
        lo, hi = confidence.indptr[r], confidence.indptr[r + 1]
        if lo == hi:
            continue
        cols, c = confidence.indices[lo:hi], confidence.data[lo:hi].astype(np.float64)
        f = item_factors[cols].astype(np.float64)
        rhs = f.T @ (1.0 + c) + reg * out[r].astype(np.float64)
        out[r] = np.linalg.solve(yy + (f.T * c) @ f, rhs)
    return out


def ials_confidence(
    user: NDArray[np.int32], item: NDArray[np.int32], label: NDArray[np.float32], kind: str, alpha: float,
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """``c - 1`` of every distinct pair: ``alpha * log1p(count)`` for counts, ``alpha`` otherwise."""
    strength = np.log1p(np.maximum(label.astype(np.float64), 0.0)) if kind == "count" else np.ones(len(label))
    return sp.csr_matrix(((alpha * strength).astype(np.float32), (user, item)), shape=shape)


def simplex(parts: int, steps: int) -> list[tuple[float, ...]]:
    """Every weight vector of ``parts`` non-negative multiples of ``1 / steps`` summing to 1."""
    if parts == 1:
        return [(1.0,)]
    out = []
    for first in range(steps + 1):
        for rest in simplex(parts - 1, steps - first) if first < steps else [(0.0,) * (parts - 1)]:
            scale = (steps - first) / steps
            out.append((round(first / steps, 6), *(round(r * scale, 6) for r in rest)))
    return out


# ---------------------------------------------------------------------------------------------- blend
def standardise_rows(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each row minus its mean over the catalogue, divided by its standard deviation (in place).

    Puts components with different units (co-occurrence weights, watch ratios) on one scale per user,
    so a blend weight means the same thing for every user and every candidate list.
    """
    scores -= scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    scores /= std
    return scores
