"""Top-K ranking metrics and rating errors, vectorised over users, on full-catalogue recommendation lists.

Conventions shared by every ranking metric here:

- ``recs`` is an ``(n_users, width)`` int32 matrix of item indices, best first, padded with ``-1``
  where a user got fewer than ``width`` recommendations. Padding is never relevant.
- ``relevance`` is a users x items sparse matrix of non-negative gains, rows aligned with ``recs``.
  Binary metrics count an item as relevant when its gain is ``> 0``; graded NDCG uses the gain itself.
- An item recommended twice in one list counts once, at its first position; the later copy is
  treated like padding (it occupies a slot but can never be a hit). Otherwise a model could inflate
  precision past 1 by repeating its best guess.
- A user with no relevant item has no defined value: their per-user entry is ``NaN`` and means are
  taken over the users where the metric is defined ("users with no relevant test item are not scored").

Definitions (``hits`` = relevant items among the top ``K``, positions ``i = 1..K``):

- Precision@K = hits / K (padding slots count in K); Recall@K = hits / |relevant|;
  HitRate@K = 1 if hits > 0 else 0.
- NDCG@K = DCG / IDCG with DCG = sum over relevant positions of 1 / log2(i + 1) and IDCG the same
  for ``min(|relevant|, K)`` hits at the top.
- MAP@K = (sum over relevant positions i of Precision@i) / min(|relevant|, K).
- Graded NDCG@K: DCG = sum of gain_i / log2(i + 1); the ideal ranking is the user's own items sorted
  by gain, cut at K.
- Coverage@K = distinct items in anyone's top K / catalogue size.

Stability: stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike, NDArray

# Dense scratch block for the ideal-DCG top-k, in float32 cells (64 MiB).
_IDEAL_BLOCK_CELLS = 2**24


@dataclass(frozen=True)
class MetricResult:
    """One metric over a set of users.

    Attributes
    ----------
    per_user : ndarray of float32, shape (n_users,)
        The metric per row of the input, ``NaN`` where it is undefined (no relevant item, or for
        error metrics no test pair). Keep it for paired significance tests and histograms.
    mean : float
        Ranking metrics: the mean of ``per_user`` over the users where it is defined.
        Error metrics: the figure pooled over all pairs (MAE, or the root of the mean squared error).
        ``NaN`` when nothing is defined.
    n : int
        How many values ``mean`` pools: users for ranking metrics, pairs for error metrics.
    """

    per_user: NDArray[np.float32]
    mean: float
    n: int


# ---------------------------------------------------------------- validation
def _check_recs(recs: ArrayLike) -> NDArray[np.int32]:
    arr = np.asarray(recs)
    if arr.ndim != 2:
        raise ValueError(f"recs must be a 2-D (n_users, K) matrix of item indices, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"recs must hold integer item indices (-1 = padding), got dtype {arr.dtype}")
    return arr.astype(np.int32, copy=False)


def _check_k(k: int, width: int) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool):
        raise TypeError(f"k={k!r}, must be an int")
    if k < 1 or k > width:
        raise ValueError(f"k={k}, must be in [1, {width}] (the width of recs)")
    return int(k)


# ------------------------------------------------------------------- kernels
def _discounts(k: int) -> NDArray[np.float64]:
    """``1 / log2(i + 1)`` for positions ``i = 1..k``."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _sorted_rows(recs: NDArray[np.int32]) -> tuple[NDArray[np.intp], NDArray[np.int32], NDArray[np.bool_]]:
    """Per-row stable sort of ``recs``: (order, sorted items, True where a sorted slot repeats the previous)."""
    # A stable sort keeps equal items in column order, so each later copy follows its first one.
    order = np.argsort(recs, axis=1, kind="stable")
    ordered = np.take_along_axis(recs, order, axis=1)
    repeat = np.zeros(recs.shape, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return order, ordered, repeat


class Relevance:
    """A users x items matrix of non-negative gains, checked and indexed once for repeated scoring.

    Building it costs O(nnz); every lookup afterwards costs O(n_users * K * log nnz), so one
    instance can score many models (see :func:`reelrec.eval.compare`).

    Parameters
    ----------
    matrix : scipy sparse matrix, shape (n_users, n_items)
        Gains (``> 0`` = relevant for binary metrics). Duplicate entries are summed, explicit zeros
        dropped; negative or non-finite gains are a ``ValueError`` naming the first bad cell.
    """

    def __init__(self, matrix: sp.spmatrix | sp.sparray) -> None:
        if isinstance(matrix, Relevance):
            matrix = matrix.matrix
        if not sp.issparse(matrix):
            raise TypeError(f"relevance must be a scipy sparse matrix (users x items), got {type(matrix).__name__}")
        rel = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        bad = ~np.isfinite(rel.data) | (rel.data < 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(rel.indptr, pos, side="right") - 1)
            raise ValueError(
                f"relevance gains must be finite and >= 0; {int(bad.sum())} are not "
                f"(first: row {row}, item {int(rel.indices[pos])}, value {rel.data[pos]})"
            )
        rel.sum_duplicates()
        rel.eliminate_zeros()
        #: The canonical CSR (sorted indices, float32 gains). Do not modify.
        self.matrix: sp.csr_matrix = rel
        #: Relevant items per row, shape (n_users,), int64.
        self.n_relevant: NDArray[np.int64] = np.diff(rel.indptr).astype(np.int64)
        # Row-major (row * n_items + item) keys of the stored cells: sorted because the CSR is canonical.
        rows = np.repeat(np.arange(rel.shape[0], dtype=np.int64), self.n_relevant)
        self._keys = rows * rel.shape[1] + rel.indices
        self._ideal: NDArray[np.float64] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def check(self, recs: NDArray[np.int32]) -> None:
        """Raise ``ValueError`` unless ``recs`` rows align with this matrix and hold valid item indices."""
        if recs.shape[0] != self.shape[0]:
            raise ValueError(f"relevance has {self.shape[0]} rows but recs has {recs.shape[0]}; rows must align")
        if recs.size and (recs.min() < -1 or recs.max() >= self.shape[1]):
            raise ValueError(f"recs must hold item indices in [0, {self.shape[1]}) or -1 for padding")

    def gains_at(self, recs: NDArray[np.int32]) -> NDArray[np.float64]:
        """Gain of each slot of ``recs``: 0 for padding, misses and repeats of an earlier slot."""
        n, width = recs.shape
        out = np.zeros(recs.shape, np.float64)
        if n == 0 or width == 0 or len(self._keys) == 0:
            return out
        order, ordered, repeat = _sorted_rows(recs)
        # Sorted query keys let searchsorted walk the key array forwards (cache friendly).
        keys = (np.arange(n, dtype=np.int64)[:, None] * self.shape[1] + ordered).ravel()
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        found = (self._keys[pos] == keys) & (ordered.ravel() >= 0) & ~repeat.ravel()
        values = np.where(found, self.matrix.data[pos], 0.0).reshape(n, width)
        np.put_along_axis(out, order, values, axis=1)
        return out

    def ideal(self, k: int) -> NDArray[np.float64]:
        """Each row's ``k`` largest gains, descending, zero-padded: shape (n_users, k) (cached)."""
        if self._ideal is None or self._ideal.shape[1] < k:
            self._ideal = _top_gains(self.matrix, self.n_relevant, k)
        return self._ideal[:, :k]


#: What the metric functions accept as relevance: any scipy sparse matrix, or a prepared :class:`Relevance`.
RelevanceLike: TypeAlias = sp.spmatrix | sp.sparray | Relevance


def _top_gains(rel: sp.csr_matrix, lengths: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    n = rel.shape[0]
    out = np.zeros((n, k), np.float64)
    if rel.nnz == 0:
        return out
    width = int(lengths.max())
    kk = min(k, width)
    step = max(1, _IDEAL_BLOCK_CELLS // width)
    # Rows go through padded dense blocks and a partial top-k: far faster than sorting every gain.
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        sub = lengths[lo:hi]
        a, b = int(rel.indptr[lo]), int(rel.indptr[hi])
        block = np.zeros((hi - lo, width), np.float32)
        r = np.repeat(np.arange(hi - lo), sub)
        c = np.arange(b - a) - np.repeat(rel.indptr[lo:hi].astype(np.int64) - a, sub)
        block[r, c] = rel.data[a:b]
        out[lo:hi, :kk] = torch.topk(torch.from_numpy(block), kk, dim=1, sorted=True).values.numpy()
    return out


def _prepare(relevance: RelevanceLike, recs: NDArray[np.int32]) -> Relevance:
    rel = relevance if isinstance(relevance, Relevance) else Relevance(relevance)
    rel.check(recs)
    return rel


def _finish(per_user: NDArray[np.float64], defined: NDArray[np.bool_]) -> MetricResult:
    values = np.where(defined, per_user, np.nan).astype(np.float32)
    n = int(defined.sum())
    mean = float(per_user[defined].mean()) if n else float("nan")
    return MetricResult(values, mean, n)


# --------------------------------------------------------------- public API
def ranking_metrics(
    recs: ArrayLike,
    relevance: RelevanceLike,
    ks: Sequence[int] = (10,),
    gains: RelevanceLike | None = None,
) -> dict[str, MetricResult]:
    """Every binary top-K metric (and graded NDCG when ``gains`` is given) at each ``k`` in one pass.

    Parameters
    ----------
    recs : array-like of int, shape (n_users, width)
        Recommended item indices per user, best first, ``-1`` padding.
    relevance : scipy sparse matrix, shape (n_users, n_items)
        Rows aligned with ``recs``; entries ``> 0`` mark relevant items.
    ks : sequence of int
        Cut-offs, each in ``[1, width]``.
    gains : scipy sparse matrix, shape (n_users, n_items), optional
        Non-negative gains for graded NDCG (e.g. the clipped watch ratio of every test item).

    Returns
    -------
    dict
        ``"precision@k"``, ``"recall@k"``, ``"ndcg@k"``, ``"map@k"``, ``"hit_rate@k"`` (and
        ``"graded_ndcg@k"``) -> :class:`MetricResult`, per-user arrays aligned with ``recs`` rows.
    """
    recs = _check_recs(recs)
    ks = [_check_k(k, recs.shape[1]) for k in ks]
    if not ks:
        raise ValueError("ks is empty; give at least one cut-off")
    rel = _prepare(relevance, recs)
    kmax = max(ks)
    recs = recs[:, :kmax]
    hits = rel.gains_at(recs) > 0
    n_rel = rel.n_relevant
    defined = n_rel > 0
    disc = _discounts(kmax)
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    positions = np.arange(1, kmax + 1, dtype=np.float64)
    cum_hits = np.cumsum(hits, axis=1, dtype=np.float64)
    safe_rel = np.maximum(n_rel, 1)

    out: dict[str, MetricResult] = {}
    for k in ks:
        h = hits[:, :k]
        n_hits = cum_hits[:, k - 1]
        denom = np.minimum(n_rel, k)
        idcg = ideal_cum[denom]
        out[f"precision@{k}"] = _finish(n_hits / k, defined)
        out[f"recall@{k}"] = _finish(n_hits / safe_rel, defined)
        out[f"ndcg@{k}"] = _finish((h @ disc[:k]) / np.where(defined, idcg, 1.0), defined)
        prec_at_hits = np.where(h, cum_hits[:, :k] / positions[:k], 0.0).sum(axis=1)
        out[f"map@{k}"] = _finish(prec_at_hits / np.maximum(denom, 1), defined)
        out[f"hit_rate@{k}"] = _finish((n_hits > 0).astype(np.float64), defined)
    if gains is not None:
        out.update(_graded(recs, _prepare(gains, recs), ks))
    return out


def _graded(recs: NDArray[np.int32], gains: Relevance, ks: list[int]) -> dict[str, MetricResult]:
    kmax = max(ks)
    got = gains.gains_at(recs[:, :kmax])
    ideal = gains.ideal(kmax)
    disc = _discounts(kmax)
    out = {}
    for k in ks:
        idcg = ideal[:, :k] @ disc[:k]
        defined = idcg > 0
        dcg = got[:, :k] @ disc[:k]
        out[f"graded_ndcg@{k}"] = _finish(dcg / np.where(defined, idcg, 1.0), defined)
    return out


def _single(name: str, recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    return ranking_metrics(recs, relevance, (k,))[f"{name}@{k}"]


def precision_at_k(recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    """Precision@K = hits / K per user (padding slots count in K). See :func:`ranking_metrics`."""
    return _single("precision", recs, relevance, k)


def recall_at_k(recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    """Recall@K = hits / |relevant| per user. See :func:`ranking_metrics`."""
    return _single("recall", recs, relevance, k)


def ndcg_at_k(recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    """Binary NDCG@K with IDCG over ``min(|relevant|, K)`` hits. See :func:`ranking_metrics`."""
    return _single("ndcg", recs, relevance, k)


def map_at_k(recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    """MAP@K: summed Precision@i at hit positions over ``min(|relevant|, K)``. See :func:`ranking_metrics`."""
    return _single("map", recs, relevance, k)


def hit_rate_at_k(recs: ArrayLike, relevance: RelevanceLike, k: int) -> MetricResult:
    """HitRate@K = 1 when any relevant item is in the top K. See :func:`ranking_metrics`."""
    return _single("hit_rate", recs, relevance, k)


def graded_ndcg_at_k(recs: ArrayLike, gains: RelevanceLike, k: int) -> MetricResult:
    """Graded NDCG@K with arbitrary non-negative gains; the ideal is the user's own items by gain.

    Parameters
    ----------
    recs : array-like of int, shape (n_users, width)
        Recommended item indices, ``-1`` padding.
    gains : scipy sparse matrix, shape (n_users, n_items)
        Gain of each of the user's test items; absent items have gain 0.
    k : int
        Cut-off in ``[1, width]``.
    """
    recs = _check_recs(recs)
    k = _check_k(k, recs.shape[1])
    return _graded(recs, _prepare(gains, recs), [k])[f"graded_ndcg@{k}"]


def coverage_at_k(recs: ArrayLike, k: int, catalogue_size: int) -> float:
    """Distinct items in anyone's top ``k`` divided by ``catalogue_size`` (the items that could be shown)."""
    recs = _check_recs(recs)
    k = _check_k(k, recs.shape[1])
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size={catalogue_size}, must be >= 1")
    top = recs[:, :k]
    distinct = np.unique(top[top >= 0])
    if len(distinct) > catalogue_size:
        raise ValueError(f"{len(distinct)} distinct items recommended but catalogue_size={catalogue_size}")
    return len(distinct) / catalogue_size


def check_pairs(predicted: ArrayLike, actual: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``predicted`` and ``actual`` as aligned 1-D float64 arrays; ``ValueError`` if misaligned or not finite."""
    pred = np.asarray(predicted, dtype=np.float64)
    act = np.asarray(actual, dtype=np.float64)
    if pred.ndim != 1 or pred.shape != act.shape:
        raise ValueError(f"predicted and actual must be 1-D and aligned, got shapes {pred.shape} and {act.shape}")
    for name, arr in (("predicted", pred), ("actual", act)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{int(bad.sum())} of {len(arr)} {name} values are not finite (first at {bad.argmax()})")
    return pred, act


def _errors(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike | None, n_users: int | None
) -> tuple[NDArray[np.float64], NDArray[np.int64] | None, int]:
    pred, act = check_pairs(predicted, actual)
    if len(pred) == 0:
        raise ValueError("no (prediction, label) pairs to score")
    if users is None:
        return pred - act, None, 0
    rows = np.asarray(users, dtype=np.int64)
    if rows.shape != pred.shape:
        raise ValueError(f"users must align with predicted, got shapes {rows.shape} and {pred.shape}")
    n = int(rows.max()) + 1 if n_users is None else int(n_users)
    if rows.min() < 0 or rows.max() >= n:
        raise ValueError(f"users must be row positions in [0, {n})")
    return pred - act, rows, n


def mae(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike | None = None, n_users: int | None = None
) -> MetricResult:
    """Mean absolute error, pooled over pairs; per user too when ``users`` (row positions) is given.

    Parameters
    ----------
    predicted, actual : array-like of float, shape (n_pairs,)
        Predicted and observed labels; both must be finite.
    users : array-like of int, shape (n_pairs,), optional
        Row position (``0..n_users-1``) of each pair's user, for ``per_user``.
    n_users : int, optional
        Length of ``per_user`` (default: ``max(users) + 1``).
    """
    diff, rows, n = _errors(predicted, actual, users, n_users)
    per_user = np.zeros(0, np.float32)
    if rows is not None:
        counts = np.bincount(rows, minlength=n)
        sums = np.bincount(rows, weights=np.abs(diff), minlength=n)
        per_user = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
    return MetricResult(per_user, float(np.abs(diff).mean()), len(diff))


def rmse(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike | None = None, n_users: int | None = None
) -> MetricResult:
    """Root mean squared error, pooled over pairs; per user too when ``users`` is given (see :func:`mae`)."""
    diff, rows, n = _errors(predicted, actual, users, n_users)
    per_user = np.zeros(0, np.float32)
    if rows is not None:
        counts = np.bincount(rows, minlength=n)
        sums = np.bincount(rows, weights=diff**2, minlength=n)
        per_user = np.where(counts > 0, np.sqrt(sums / np.maximum(counts, 1)), np.nan).astype(np.float32)
    return MetricResult(per_user, float(np.sqrt((diff**2).mean())), len(diff))
