"""Shared pieces of folding a short-term history into a user's state (the real-time feed).

A KuaiRec user has about 1,750 training views, so five fresh views added as five more rows would
not move the ranking. MF, iALS, EASE and ItemKNN therefore weigh the history *block* against the
training block (BPR, fitted by gradient steps, balances it against an anchor instead; see there):
each history view gets its recency weight (the newest 1, halving every ``half_life`` views back)
times one scale

    ``s = max(1, history_weight * n_train / (R + prior_views))``,  ``R = sum(recency)``.

The block's total weight ``history_weight * n_train * R / (R + prior_views)`` grows with the
evidence: a pseudo-count of ``prior_views`` views stands for the lifetime profile, so one fresh view
moves a heavy user a little and twenty move them a lot, approaching ``history_weight`` times the
training block's weight. A view never counts less than it would as a training row (a new or light
user's history counts view for view). The earlier rule (``prior_views = 0``) let a single view carry
the whole training block's weight and drowned the profile at short histories.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._history import DEFAULT_HALF_LIFE, History

#: Default weight of the full history block relative to the training block (MF, iALS, EASE,
#: ItemKNN). Chosen with ``PRIOR_VIEWS`` on the session validation splits of MovieLens-100K and
#: synthetic drifting KuaiRec (benchmarks/session_tune.py; docs/models.md, "Session history").
DEFAULT_HISTORY_WEIGHT = 2.0
#: Pseudo-count, in (recency-weighted) views, that the lifetime profile holds against the history:
#: the history gets half its full block weight once ``sum(recency)`` reaches it. Read at call time.
PRIOR_VIEWS = 20.0
#: BPR's default weight of its history term (a different quantity, not part of the block rule).
BPR_HISTORY_WEIGHT = 1.0
#: A skipped video's weight, as a share of a watched one's, where a model reads a skip as a
#: (negative) row of the history vector (EASE, ItemKNN). Not tuned: no public log here has skips.
SKIP_WEIGHT = 0.25


def check_history_weight(value: float) -> None:
    """``history_weight`` must be a finite number >= 0 (0: history views count as training rows)."""
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"history_weight={value!r}, must be a finite number >= 0")


def history_scale(
    n_train: int, recency: NDArray[np.float32], history_weight: float, prior_views: float | None = None
) -> float:
    """The scale ``s`` of every history view's recency weight (see the module docstring)."""
    prior = PRIOR_VIEWS if prior_views is None else prior_views
    total = float(recency.sum())
    if total <= 0:
        return 1.0
    return max(1.0, history_weight * n_train / (total + prior))


def train_counts(seen: sp.csr_matrix, users: NDArray[np.int32]) -> NDArray[np.int64]:
    """Training views of each user index (0 for ``-1``, a new user)."""
    counts = np.diff(seen.indptr)
    return np.where(users >= 0, counts[np.maximum(users, 0)], 0)


def view_weights(
    users: NDArray[np.int32],
    histories: list[History],
    seen: sp.csr_matrix,
    history_weight: float,
    half_life: float = DEFAULT_HALF_LIFE,
) -> list[NDArray[np.float32]]:
    """Each history view's weight: recency times the block scale; skips keep a positive weight too.

    Models decide what a skip means (a low label, negative evidence, a negative row); the weight
    only says how much the view counts. The scale comes from the watched views' recency (all
    views' when every one was skipped).
    """
    n_train = train_counts(seen, users)
    out = []
    for h, n in zip(histories, n_train, strict=True):
        r = h.recency_weights(half_life)
        watched = r[~h.skipped] if (~h.skipped).any() else r
        out.append((r * np.float32(history_scale(int(n), watched, history_weight))).astype(np.float32))
    return out


def history_rows(
    users: NDArray[np.int32],
    histories: list[History],
    seen: sp.csr_matrix,
    history_weight: float,
    skip_weight: float = SKIP_WEIGHT,
) -> sp.csr_matrix:
    """Training rows (0/1) plus weighted history rows, shape (len(users), n_items), float32.

    Watched history views add their weight; skipped ones subtract ``skip_weight`` times it. This
    is the input of the item-item models (EASE, ItemKNN), whose scores are linear in it.
    """
    n, n_items = len(users), seen.shape[1]
    weights = view_weights(users, histories, seen, history_weight)
    rows, cols, vals = [], [], []
    for r, (h, w) in enumerate(zip(histories, weights, strict=True)):
        rows.append(np.full(len(h), r, np.int32))
        cols.append(h.items)
        vals.append(np.where(h.skipped, -skip_weight * w, w).astype(np.float32))
    hist = sp.csr_matrix(
        (np.concatenate(vals or [np.zeros(0, np.float32)]),
         (np.concatenate(rows or [np.zeros(0, np.int32)]), np.concatenate(cols or [np.zeros(0, np.int32)]))),
        shape=(n, n_items),
        dtype=np.float32,
    )
    hist.sum_duplicates()
    known = sp.csr_matrix(seen[np.maximum(users, 0)], dtype=np.float32)
    known = sp.diags((users >= 0).astype(np.float32)) @ known
    return sp.csr_matrix(known + hist)


def ridge_fold(
    precision: NDArray[np.float64],
    anchor: NDArray[np.float64],
    rows: NDArray[np.float32],
    gram_weight: NDArray[np.float64],
    rhs_weight: NDArray[np.float64],
) -> NDArray[np.float64]:
    """One user's vector after adding history rows to a ridge solve already made: ``z`` solving
    ``(P + sum_h g_h x_h x_h') z = P z0 + sum_h r_h x_h`` with ``x_h = rows[h]``.

    ``P`` (``precision``, k x k) and ``z0`` (``anchor``, k) are the training block's normal matrix
    and solution, so an empty history returns ``z0``; the history rows enter as extra weighted
    equations (``g`` the weight of each quadratic term, ``r`` of each right-hand side).
    """
    x = rows.astype(np.float64)
    gram = precision + (x.T * gram_weight) @ x
    rhs = precision @ anchor + x.T @ rhs_weight
    return np.asarray(np.linalg.solve(gram, rhs), np.float64)
