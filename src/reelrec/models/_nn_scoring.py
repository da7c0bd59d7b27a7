"""How the two-tower's heads become one ranking score, and the held-out choice of the watch weight."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._topk import MASKED, mask_seen, topk

#: Smallest predicted label that enters a log (a watch ratio of 0 would otherwise be -inf).
EPS = 1e-3
#: Watch weights tried by ``watch_weight="auto"``.
WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)


def expected_score(
    logit: NDArray[np.float32], predicted: NDArray[np.float32], weight: float
) -> NDArray[np.float32]:
    """``logit + weight * log(predicted)``: log P(watch) plus log of how much, i.e. log expected gain.

    With ``weight = 1`` this is the log of the expected label per impression; larger weights trade
    watch probability for predicted watch length (or rating).
    """
    return (logit + np.float32(weight) * np.log(np.maximum(predicted, EPS))).astype(np.float32, copy=False)


def graded_ndcg(
    scores: NDArray[np.float32],
    seen: sp.csr_matrix,
    gains: sp.csr_matrix,
    rows: NDArray[np.int32],
    k: int = 10,
    chunk: int = 1024,
) -> float:
    """Mean graded NDCG@k over users with a positive gain.

    Parameters
    ----------
    scores : ndarray of float32, shape (n, n_items)
        Scores of the users ``rows`` (row ``r`` of ``scores`` is user ``rows[r]``).
    seen : csr_matrix, shape (n_users, n_items)
        Training items, masked before ranking.
    gains : csr_matrix, shape (n, n_items)
        Held-out gains aligned with ``scores``.
    """
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    total, count = 0.0, 0
    for lo in range(0, len(rows), chunk):
        hi = min(len(rows), lo + chunk)
        block = scores[lo:hi].copy()
        mask_seen(block, seen, rows[lo:hi])
        idx, _ = topk(block, k)
        dense = gains[lo:hi].toarray()
        got = np.take_along_axis(dense, np.maximum(idx, 0), axis=1) * (idx >= 0)
        ideal = -np.sort(-dense, axis=1)[:, :k]
        idcg = ideal @ disc[: ideal.shape[1]]
        ok = idcg > 0
        total += float(((got @ disc)[ok] / idcg[ok]).sum())
        count += int(ok.sum())
    return total / count if count else 0.0


def tune_watch_weight(
    logits: NDArray[np.float32],
    predicted: NDArray[np.float32],
    seen: sp.csr_matrix,
    gains: sp.csr_matrix,
    rows: NDArray[np.int32],
    grid: tuple[float, ...] = WEIGHT_GRID,
    tolerance: float = 0.01,
) -> tuple[float, dict[str, float]]:
    """The weight of the ``expected`` score that ranks held-out pairs best (graded NDCG@10).

    The smallest weight within ``tolerance`` (relative) of the best NDCG wins: a larger weight must be
    clearly better to be chosen, since held-out pairs are few and noisy (the spirit of the
    one-standard-error rule). Returns the weight and the NDCG of every weight tried.
    """
    results = {}
    for w in grid:
        results[str(w)] = graded_ndcg(expected_score(logits, predicted, w), seen, gains, rows)
    top = max(results.values())
    best = min(w for w in grid if results[str(w)] >= top * (1.0 - tolerance))
    return float(best), results


__all__ = ["EPS", "MASKED", "expected_score", "graded_ndcg", "tune_watch_weight"]
