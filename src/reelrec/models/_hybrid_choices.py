"""The hybrid's per-part choices on the carved holdout: the EASE penalty, the iALS setting and the cold-user share.

Each takes the judge :func:`reelrec.models._hybrid_select.make_judge` built and logs every option's
validation NDCG@10; :func:`reelrec.models._hybrid_select.choose` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._ease import ease_scores, item_gram
from reelrec.models._hybrid_parts import (
    FEATURE_REG,
    ials_confidence,
    ridge_map,
    standardise_rows,
)
from reelrec.models._hybrid_progress import (
    PLANNED_INVERSES,
    FitClock,
    gram_units,
    ials_units,
    inverse_units,
)
from reelrec.models._ials import implicit_als

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid


#: Share of the score given to popularity for users known by features only, tried on validation.
COLD_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)

#: A validation judge: NDCG@10 of a (validation users x catalogue) score matrix.
Judge = Callable[[NDArray[np.float32]], float]


def walk(n: int, score: Callable[[int], float], start: int | None = None) -> int:
    """Index of the best grid point found by a local walk from ``start`` (default the middle; a unimodal
    curve: ~3 fits, not n)."""
    seen: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in seen:
            seen[i] = score(i)
        return seen[i]

    origin = i = n // 2 if start is None else start
    at(i)
    while True:
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                at(j)
        best = max(seen, key=lambda j: (seen[j], -abs(j - origin)))
        if best == i:
            return i
        i = best


def choose_sweeps(model: Hybrid) -> int:
    """ALS sweeps of each option's fit while choosing: the ranking of options settles long before the factors do."""
    return max(2, int(model.epochs) // 2)

def choose_ease(
    model: Hybrid, x_train: sp.csr_matrix, y: NDArray[np.float32], user: NDArray[np.int32],
    item: NDArray[np.int32], train: NDArray[np.bool_], mf_best: tuple[Any, ...], val_users: NDArray[np.integer],
    judge: Judge, log: dict[str, float], base: NDArray[np.float32], clock: FitClock,
) -> tuple[float, NDArray[np.float32]]:
    """EASE penalty by a walk over multiples of the mean item count, all from one Gram matrix.

    Each step is an ``n^3`` solve, so the walk stops at its first point when EASE there earns no
    weight in a blend with ``base`` (the MF head's standardised scores, the final blend's steps): on
    impression logs EASE loses to the label head at every penalty and would walk the whole grid.
    """
    x_ease = x_train
    if model.ease_input == "residual":
        _, mean, _, b, _, c = mf_best
        resid = y[train] - mean - b[user[train]] - c[item[train]]
        x_ease = sp.csr_matrix((resid.astype(np.float32), (user[train], item[train])), shape=x_train.shape)
    n_users, n_items = x_ease.shape
    gram = item_gram(x_ease)
    clock.advance(gram_units(x_ease.nnz, n_users, n_items), "EASE Gram matrix")
    counts = np.diag(gram)
    anchor = float(counts[counts > 0].mean()) if (counts > 0).any() else 1.0
    regs = [s * anchor for s in model.ease_scales]
    rows = x_ease[val_users]
    found: dict[int, tuple[float, NDArray[np.float32]]] = {}

    def at(i: int) -> float:
        if i not in found:
            s = ease_scores(gram, regs[i], rows)
            log[f"ease reg={regs[i]:.4g}"] = score = judge(s.copy())
            found[i] = (score, s)
            clock.advance(inverse_units(n_items), f"EASE reg={regs[i]:.4g}")
        return found[i][0]

    start = len(regs) // 2  # where the walk starts
    at(start)
    stop = not earns_weight(judge, base, standardise_rows(found[start][1].copy()), int(model.blend_steps))
    if stop:
        clock.add_plan(-(PLANNED_INVERSES - 1) * inverse_units(n_items))
    best = start if stop else walk(len(regs), at)
    return regs[best], standardise_rows(found[best][1])


def earns_weight(judge: Judge, base: NDArray[np.float32], part: NDArray[np.float32], steps: int) -> bool:
    """Whether some positive multiple of ``1 / steps`` of ``part`` in a blend with ``base`` beats ``base`` alone."""
    scores = [judge(np.float32(1 - j / steps) * base + np.float32(j / steps) * part) for j in range(steps + 1)]
    return int(np.argmax(scores)) > 0


def choose_ials(
    model: Hybrid, kind: str, user: NDArray[np.int32], item: NDArray[np.int32], label: NDArray[np.float32],
    train: NDArray[np.bool_], shape: tuple[int, int], val_users: NDArray[np.integer], judge: Judge,
    log: dict[str, float], clock: FitClock, options: list[list[float]] | None = None,
) -> tuple[tuple[float, float], NDArray[np.float32]]:
    """iALS (reg, alpha) among ``options`` (default ``model.ials_options``): the implicit factor component."""
    best, best_score, best_s = (1.0, 1.0), -1.0, np.zeros(0, np.float32)
    for reg, alpha in model.ials_options if options is None else options:
        extra = ials_confidence(user[train], item[train], label[train], kind, float(alpha), shape)
        sweeps = choose_sweeps(model)
        x, q = implicit_als(extra, int(model.ials_size), float(reg), sweeps, np.random.default_rng(model.seed))
        s = x[val_users] @ q.T
        log[f"ials reg={reg:g} alpha={alpha:g}"] = score = judge(s.copy())
        clock.advance(ials_units(extra.nnz, *shape, int(model.ials_size), sweeps), f"iALS reg={reg:g} alpha={alpha:g}")
        if score > best_score:
            best, best_score, best_s = (float(reg), float(alpha)), score, s
    return best, standardise_rows(best_s)


def choose_cold(
    user_design: sp.csr_matrix, mf_best: tuple[Any, ...], user: NDArray[np.int32], train: NDArray[np.bool_],
    val_users: NDArray[np.integer], x_train: sp.csr_matrix, n_users: int, judge: Judge, log: dict[str, float],
) -> float:
    """Popularity's share for users scored from features (validation users mapped from their features)."""
    _, _, p, b, q, c = mf_best
    has_pairs = np.bincount(user[train], minlength=n_users) > 0
    known = has_pairs.copy()
    known[val_users] = False
    if known.sum() < 10:
        # Small data where nearly every user is a validation user: map from everyone (optimistic).
        known = has_pairs
    if not known.any():
        return 1.0
    w_map, w0 = ridge_map(user_design[known], np.hstack([p, b[:, None]])[known], FEATURE_REG)
    pb = np.asarray(user_design[val_users] @ w_map + w0, np.float32)
    k = q.shape[1]
    s_cold = standardise_rows(pb[:, :k] @ q.T + pb[:, k, None] + c[None, :])
    pop = np.log1p(np.asarray(x_train.sum(axis=0), np.float32)).ravel()
    s_pop = standardise_rows(np.broadcast_to(pop, s_cold.shape).copy())
    scores = {v: judge((1 - v) * s_cold + v * s_pop) for v in COLD_WEIGHTS}
    log.update({f"cold pop={v:g}": s for v, s in scores.items()})
    return float(max(scores, key=lambda v: scores[v]))
