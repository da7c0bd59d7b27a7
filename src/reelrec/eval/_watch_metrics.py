"""XAUC and XGAUC, the pairwise watch-time metrics of short-video papers, exact in O(n log n).

XAUC (D2Q, KDD 2022; TPM, KDD 2023; CREAD, 2024) is the share of pairs of test views, among those
with different true values, that the prediction orders the same way; a tie in the prediction counts
one half. XGAUC computes it within each user and averages over the users where it is defined (at
least two distinct true values). Both are exact: no pair sampling.

How the pairs are counted in O(n log n) without a Python loop over views:

1. Sort the views by (user, true value ascending, prediction descending). A pair (j before i) then
   has ``truth_j <= truth_i``, and with equal truth ``pred_j >= pred_i``, so "earlier with a strictly
   smaller prediction" happens only for a concordant pair with different true values.
2. Count, for every view, the earlier views of its user with a strictly smaller prediction rank: an
   inversion count, done as an MSD radix partition over the bits of the rank. At bit ``b`` each
   segment (same user, same higher bits) is split stably into its 0s and 1s; a view with bit 1 is
   above every earlier view with bit 0 and the same higher bits. One vectorised O(n) pass per bit.
3. Ties in the prediction between different true values = pairs with equal prediction minus pairs
   with equal prediction and equal truth (run lengths of the sorted arrays).

Stability: provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reelrec.eval._metrics import MetricResult, check_pairs

# Largest (user, truth rank, prediction rank) key packed into one int64; beyond it a slower lexsort.
_KEY_LIMIT = 2**62


@dataclass(frozen=True)
class PairCounts:
    """Pair counts per group, the raw material of XAUC and XGAUC.

    Attributes
    ----------
    score : ndarray of float64, shape (n_groups,)
        Concordant pairs plus one half per pair tied in the prediction, among pairs with different truth.
    pairs : ndarray of int64, shape (n_groups,)
        Pairs with different true values (the denominator).
    """

    score: NDArray[np.float64]
    pairs: NDArray[np.int64]

    def ratio(self) -> NDArray[np.float64]:
        """``score / pairs`` per group, ``NaN`` where no pair has different true values."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.pairs > 0, self.score / np.maximum(self.pairs, 1), np.nan)


def _check(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64] | None]:
    pred, act = check_pairs(predicted, actual)
    if users is None:
        return pred, act, None
    rows = np.asarray(users)
    if rows.shape != pred.shape:
        raise ValueError(f"users must align with predicted, got shapes {rows.shape} and {pred.shape}")
    if rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0):
        raise ValueError("users must be non-negative integer row positions")
    return pred, act, rows.astype(np.int64, copy=False)


def _dense_rank(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], int]:
    """Dense rank of each value (equal values share one) and the number of distinct values."""
    distinct, rank = np.unique(values, return_inverse=True)
    return rank.astype(np.int64, copy=False), len(distinct)


def _run_pairs(sorted_key: NDArray[np.int64], group: NDArray[np.int64], n_groups: int) -> NDArray[np.int64]:
    """Pairs per group of equal keys, for keys sorted so that equal ones are adjacent."""
    n = len(sorted_key)
    if n < 2:
        return np.zeros(n_groups, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
    length = np.diff(np.append(starts, n))
    # float64 weights hold pair counts exactly up to 2**53.
    return np.bincount(group[starts], weights=length * (length - 1) // 2, minlength=n_groups).astype(np.int64)


def _run_ids(*sorted_columns: NDArray[np.int64]) -> NDArray[np.int64]:
    """An id per run of equal rows, for columns sorted together (ids ascend along the rows)."""
    change = np.zeros(len(sorted_columns[0]), bool)
    for col in sorted_columns:
        change[1:] |= col[1:] != col[:-1]
    return np.cumsum(change)


def _rank_in_group(
    rank: NDArray[np.int64], n_distinct: int, group: NDArray[np.int64], n_groups: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Dense rank within each group (fewer radix passes) and the tied pairs per group."""
    key = group * n_distinct + rank
    order = np.argsort(key)
    sorted_key = key[order]
    new = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    run = np.cumsum(new) - 1
    sorted_group = group[order]
    first = np.concatenate([[True], sorted_group[1:] != sorted_group[:-1]])
    out = np.empty_like(rank)
    out[order] = run - np.maximum.accumulate(np.where(first, run, 0))
    return out, _run_pairs(sorted_key, sorted_group, n_groups)


def _lower_earlier(rank: NDArray[np.int64], group_starts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per group, the pairs (earlier slot, later slot) of the same group where the earlier rank is smaller.

    ``rank`` is in the caller's order, groups are contiguous slices beginning at ``group_starts``.
    """
    n = len(rank)
    if n < 2:
        return np.zeros(len(group_starts), np.int64)
    small = np.int32 if n < 2**31 else np.int64  # half the memory traffic for any realistic test set
    r: NDArray[np.signedinteger[Any]] = rank.astype(small)
    acc: NDArray[np.signedinteger[Any]] = np.zeros(n, small)  # per slot; a slot's count never exceeds n
    # Segment starts: same group, same rank bits above b.
    bounds: NDArray[np.signedinteger[Any]] = group_starts.astype(small)
    idx: NDArray[np.signedinteger[Any]] = np.arange(n, dtype=small)
    zeros_at: NDArray[np.signedinteger[Any]] = np.zeros(n + 1, small)
    for b in reversed(range(int(rank.max()).bit_length())):
        seg_len = np.diff(bounds, append=small(n))
        start = np.repeat(bounds, seg_len)
        zero = (r & small(1 << b)) == 0
        np.cumsum(zero, out=zeros_at[1:])  # zeros_at[s] = zeros in slots before s
        in_seg = zeros_at[:-1] - zeros_at[start]  # zeros earlier in the same segment
        np.add(acc, in_seg, out=acc, where=~zero)
        seg_zeros = zeros_at[np.append(bounds[1:], small(n))] - zeros_at[bounds]
        # Stable partition of every segment: its zeros first, then its ones, order kept.
        pos = np.where(zero, start + in_seg, idx - in_seg + np.repeat(seg_zeros, seg_len))
        out = np.empty_like(r)
        out[pos] = r
        r = out
        # New segment starts: the old ones, plus each segment's first one where it has zeros and ones.
        cut = (seg_zeros > 0) & (seg_zeros < seg_len)
        both = np.stack([bounds, bounds + seg_zeros], axis=1)
        bounds = both[np.stack([np.ones(len(cut), bool), cut], axis=1)]
        if len(bounds) == n:  # every segment is a single view: nothing left to count
            break
    return np.add.reduceat(acc.astype(np.int64), group_starts)


def pair_counts(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike | None = None, n_users: int | None = None
) -> PairCounts:
    """Concordance counts of ``predicted`` against ``actual``, over all pairs or within each user.

    Parameters
    ----------
    predicted, actual : array-like of float, shape (n,)
        Finite predictions and true values of the same views.
    users : array-like of int, shape (n,), optional
        Row position of each view's user: only pairs of the same user count, per user. Default: one
        group holding every pair.
    n_users : int, optional
        Number of groups returned (default ``max(users) + 1``).

    Returns
    -------
    PairCounts
        Arrays of length ``n_users`` (or 1 without ``users``).
    """
    pred, act, rows = _check(predicted, actual, users)
    n = len(pred)
    if rows is None:
        rows = np.zeros(n, np.int64)
    n_groups = int(n_users) if n_users is not None else (int(rows.max()) + 1 if n else 1)
    if n and rows.max() >= n_groups:
        raise ValueError(f"users must be row positions in [0, {n_groups})")
    if n == 0:
        return PairCounts(np.zeros(n_groups), np.zeros(n_groups, np.int64))
    rank_p, n_p = _dense_rank(pred)
    rank_t, n_t = _dense_rank(act)
    if n_groups > 1:
        rank_p, pred_ties = _rank_in_group(rank_p, n_p, rows, n_groups)
        n_p = int(rank_p.max()) + 1
    else:
        counts = np.bincount(rank_p).astype(np.int64)
        pred_ties = np.array([int((counts * (counts - 1) // 2).sum())], np.int64)
    # One int64 key orders the views by (user, truth ascending, prediction descending).
    if n_groups * n_t * n_p < _KEY_LIMIT:
        key = (rows * n_t + rank_t) * n_p + (n_p - 1 - rank_p)
        order = np.argsort(key)
        key = key[order]
        truth_key = key // n_p
    else:
        order = np.lexsort((-rank_p, rank_t, rows))
        key = _run_ids(rows[order], rank_t[order], rank_p[order])
        truth_key = _run_ids(rows[order], rank_t[order])
    group = rows[order]
    truth_ties = _run_pairs(truth_key, group, n_groups)
    both_ties = _run_pairs(key, group, n_groups)
    sizes = np.bincount(rows, minlength=n_groups).astype(np.int64)
    group_starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    concordant = np.zeros(n_groups, np.int64)
    concordant[group[group_starts]] = _lower_earlier(rank_p[order], group_starts)
    pairs = sizes * (sizes - 1) // 2 - truth_ties
    score = concordant + 0.5 * (pred_ties - both_ties)
    return PairCounts(score.astype(np.float64), pairs)


def xauc(predicted: ArrayLike, actual: ArrayLike) -> float:
    """XAUC: among pairs of views with different true values, the share the prediction orders alike.

    A pair tied in the prediction counts 1/2. Exact, O(n log n) (see the module docstring).

    Parameters
    ----------
    predicted, actual : array-like of float, shape (n,)
        Finite predictions and true values (watch ratio, or watch time in seconds).

    Returns
    -------
    float
        In [0, 1]; 0.5 for a constant prediction. ``NaN`` when no pair has different true values
        (fewer than two views, or all true values equal): the order of the truth is undefined.
    """
    return float(pair_counts(predicted, actual).ratio()[0])


def xgauc(
    predicted: ArrayLike, actual: ArrayLike, users: ArrayLike, n_users: int | None = None
) -> MetricResult:
    """XGAUC: XAUC within each user, averaged (unweighted) over users with two or more distinct true values.

    Parameters
    ----------
    predicted, actual : array-like of float, shape (n,)
        Finite predictions and true values.
    users : array-like of int, shape (n,)
        Row position (``0..n_users-1``) of each view's user.
    n_users : int, optional
        Length of ``per_user`` (default ``max(users) + 1``).

    Returns
    -------
    MetricResult
        ``per_user``: each user's XAUC, ``NaN`` for users with one view or a single true value
        (excluded from the mean); ``mean`` over the rest; ``n`` = users in the mean.
    """
    if np.asarray(users).size == 0:
        _check(predicted, actual, users)
        return MetricResult(np.full(int(n_users or 0), np.nan, np.float32), float("nan"), 0)
    per_user = pair_counts(predicted, actual, users, n_users).ratio()
    defined = ~np.isnan(per_user)
    mean = float(per_user[defined].mean()) if defined.any() else float("nan")
    return MetricResult(per_user.astype(np.float32), mean, int(defined.sum()))
