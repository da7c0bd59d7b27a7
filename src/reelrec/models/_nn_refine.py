"""Closed-form refinement of the watch head: a ridge matrix factorisation of what the towers leave over.

The towers predict the watch ratio from features, ids and histories, a prediction every user and
video gets, cold ones included. Where a user and a video have many logged views, per-entity factors
fitted by alternating least squares capture interactions that the shared network smooths over
(Rendle et al. 2020: dot products of free embeddings are hard to learn through MLPs). So the
residuals ``z - tower(u, i)`` are factorised exactly (ALS with an L2 penalty ``lam`` on factors and
biases), and the final watch score is ``tower(u, i) + <p_u, q_i> + c_u + d_i``: still one dot product
of concatenated vectors. Entities without training pairs get zero residual factors and bias.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.models._mf import biased_als

#: Penalties tried on the validation pairs; ``inf`` means no residual model.
LAMBDA_GRID = (10.0, 30.0, 100.0, 300.0, float("inf"))


def residual_mf(
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    resid: NDArray[np.float32],
    n_users: int,
    n_items: int,
    k: int,
    lam: float,
    sweeps: int = 6,
    seed: int = 0,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """ALS factors ``[p_u | c_u]`` and ``[q_i | d_i]`` of residuals, shape (n_users, k + 1), (n_items, k + 1).

    ``user``/``item`` are distinct pairs sorted by user (as :class:`~reelrec.models._nn_data.Pairs`).
    ``lam=inf`` (or no pairs) returns zeros.
    """
    users = np.zeros((n_users, k + 1), np.float32)
    items = np.zeros((n_items, k + 1), np.float32)
    if not np.isfinite(lam) or len(user) == 0:
        return users, items
    p, c, q, d = biased_als(user, item, resid, n_users, n_items, k, lam, sweeps, np.random.default_rng([seed, 13]))
    users[:, :k], users[:, k] = p, c
    items[:, :k], items[:, k] = q, d
    return users, items


def residual_predict(
    user: NDArray[np.int32], item: NDArray[np.int32], users: NDArray[np.float32], items: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``<p_u, q_i> + c_u + d_i`` for aligned pairs."""
    k = users.shape[1] - 1
    u, v = users[user], items[item]
    return ((u[:, :k] * v[:, :k]).sum(1) + u[:, k] + v[:, k]).astype(np.float32)


def choose_lambda(
    train: tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]],
    val: tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]],
    n_users: int,
    n_items: int,
    k: int,
    seed: int = 0,
    grid: tuple[float, ...] = LAMBDA_GRID,
) -> tuple[float, dict[str, float], tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """The penalty whose residual model gives the lowest validation MSE, every MSE tried, and the
    chosen model's factors fitted on ``train`` (as :func:`residual_mf` returns them).

    ``train`` and ``val`` hold (user, item, residual) triples; residuals are relative to the towers.
    """
    scores = {}
    fitted = {}
    for lam in grid:
        fitted[lam] = residual_mf(*train, n_users, n_items, k, lam, seed=seed)
        err = val[2] - residual_predict(val[0], val[1], *fitted[lam])
        scores[str(lam)] = float(np.mean(err.astype(np.float64) ** 2))
    best = min(grid, key=lambda lam: scores[str(lam)])
    return float(best), scores, fitted[best]
