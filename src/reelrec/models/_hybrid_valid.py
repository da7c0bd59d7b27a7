"""The hybrid model's own validation: a holdout carved from its training pairs, and the NDCG it maximises."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._topk import mask_seen, topk

_K = 10
_GAIN_CLIP = 5.0


def carve_pairs(
    user: NDArray[np.int32], n_users: int, fraction: float, max_users: int, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """True for the distinct pairs (sorted by user) held out for validation.

    A random ``fraction`` of each sampled user's pairs (at least one, and at least four left for
    training); at most ``max_users`` users, drawn among those with five pairs or more, so the
    automatic choices cost the same on a large log as on a small one.
    """
    counts = np.bincount(user, minlength=n_users)
    pool = np.flatnonzero(counts >= 5)
    chosen = np.zeros(n_users, bool)
    chosen[rng.choice(pool, size=min(max_users, len(pool)), replace=False)] = True
    draws = rng.random(len(user))
    order = np.lexsort((draws, user))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank = np.empty(len(user), np.int64)
    rank[order] = np.arange(len(user)) - starts[user[order]]
    n_out = np.maximum(1, np.minimum(np.floor(fraction * counts + 0.5), counts - 4)).astype(np.int64)
    return chosen[user] & (rank < n_out[user])


def dcg_weights(k: int = _K) -> NDArray[np.float64]:
    return 1.0 / np.log2(np.arange(2, k + 2))


def impression_ndcg(
    user: NDArray[np.int32], score: NDArray[np.float32], gain: NDArray[np.float64], k: int = _K
) -> float:
    """Mean graded NDCG@k of ranking each user's held-out views among themselves.

    On an impression log (every row is a shown video) this judges preference given exposure, as the
    KuaiRec protocol does on its fully observed block, so the old recommender's exposure policy cannot
    earn credit. Users without a positive gain are skipped.
    """
    disc = dcg_weights(k)

    def dcg(order: NDArray[np.intp]) -> NDArray[np.float64]:
        u = user[order]
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        top = rank < k
        sums = np.bincount(u[top], weights=gain[order][top] * disc[rank[top]], minlength=int(user.max()) + 1)
        return np.asarray(sums, dtype=np.float64)

    got = dcg(np.lexsort((-score, user)))
    ideal = dcg(np.lexsort((-gain, user)))
    ok = ideal > 0
    return float((got[ok] / ideal[ok]).mean()) if ok.any() else 0.0


def catalogue_ndcg(
    scores: NDArray[np.float32], seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = _K
) -> float:
    """Mean binary NDCG@k of full-catalogue rankings against held-out relevant items.

    ``scores`` (n, n_items) is one row per validation user, ``seen`` and ``relevant`` are CSR
    matrices with the same rows: training items (masked) and held-out relevant items. Users without a
    relevant held-out item are skipped. ``scores`` is modified.
    """
    disc = dcg_weights(k)
    mask_seen(scores, seen, np.arange(scores.shape[0], dtype=np.int32))
    idx, _ = topk(scores, k)
    hits = np.asarray(relevant[np.arange(len(idx))[:, None], np.maximum(idx, 0)].todense()) > 0
    hits &= idx >= 0
    n_rel = np.minimum(np.diff(relevant.indptr), k)
    ok = n_rel > 0
    if not ok.any():
        return 0.0
    ideal = np.cumsum(disc)[np.maximum(n_rel - 1, 0)]
    return float(((hits * disc).sum(axis=1)[ok] / ideal[ok]).mean())
