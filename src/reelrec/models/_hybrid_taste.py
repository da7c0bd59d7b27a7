"""The hybrid's side-feature taste: per-user ridge of the MF head's residual on video category / tag columns.

A biased MF learns a user's taste for a tag only through the videos' learned factors. Logs whose
label depends on who likes which *kind* of video (tag, category) carry a signal that a closed form
reads directly: each user's training residual ``r = y - mean - b_u - c_i - p_u . q_i`` regressed on
the video's categorical and multi-hot columns, ``r ~ v_i . w_u``. Each ``w_u`` is shrunk toward the
vector the user's *features* predict (a ridge map from user features fitted on the first-pass
``w_u``; the users' mean without user features), so light users borrow their feature group's taste
and users known only by features (cold, new sessions) still get one. Videos added later are scored
from their features (the same columns), so new videos get taste too. The head's score becomes
``s + weight * v_i . w_u`` in label units, with the weight and the penalty chosen on the internal
holdout (weight 0 turns the part off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.features import FeaturePipeline
from reelrec.models._hybrid_parts import FEATURE_REG, design_matrix, ridge_map

#: At most this many video columns (the most frequent categorical / tag columns): bounds the per-user solves.
MAX_COLUMNS = 64


@dataclass
class TasteColumns:
    """The video side of the taste part: the encoder and which of its design columns are used."""

    pipe: FeaturePipeline
    columns: NDArray[np.int64]

    def design(self, table: FeatureTable) -> NDArray[np.float32]:
        """Dense (n_videos, n_columns) float32 video columns of ``table``."""
        full = design_matrix(self.pipe.transform(table), self.pipe)
        return np.asarray(full[:, self.columns].toarray(), np.float32)


Encoded = tuple[FeaturePipeline, sp.csr_matrix]


def encode_videos(table: FeatureTable | None) -> Encoded | None:
    """The video encoder fitted once, and its design of the fitted rows (shared with the item map)."""
    if table is None or not table.columns:
        return None
    pipe = FeaturePipeline(min_count=5, max_categories=200)
    return pipe, design_matrix(pipe.fit_transform(table), pipe)


def taste_columns(encoded: Encoded | None, n_min: int = 5) -> tuple[TasteColumns, NDArray[np.float32]] | None:
    """Keep the video encoder's most frequent categorical and multi-hot columns.

    Numeric columns are left out: their per-video effect is the MF item bias already. Returns the
    columns and the design of the fitted rows, or None when no column is usable.
    """
    if encoded is None:
        return None
    pipe, full = encoded
    spec = pipe.spec_
    first = len(spec.numeric_columns) + len(spec.numeric_missing_columns)
    counts = np.asarray((full != 0).sum(axis=0)).ravel()
    counts[:first] = 0
    counts[counts >= full.shape[0]] = 0  # a column on every video says nothing about kinds of video
    order = np.argsort(-counts, kind="stable")
    keep = np.sort(order[: MAX_COLUMNS][counts[order[:MAX_COLUMNS]] >= n_min])
    if len(keep) == 0:
        return None
    cols = TasteColumns(pipe, keep.astype(np.int64))
    return cols, np.asarray(full[:, keep].toarray(), np.float32)


def mf_residual(
    user: NDArray[np.int32], item: NDArray[np.int32], y: NDArray[np.float32], mean: float,
    p: NDArray[np.float32], b: NDArray[np.float32], q: NDArray[np.float32], c: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Training residual of the MF head on each pair (the target the taste part regresses)."""
    fit = np.einsum("nd,nd->n", p[user], q[item]) + b[user] + c[item] + np.float32(mean)
    return (y - fit).astype(np.float32)


Grams = tuple[NDArray[np.float64], NDArray[np.float64]]


def user_grams(
    user: NDArray[np.int32], item: NDArray[np.int32], resid: NDArray[np.float32], videos: NDArray[np.float32],
    n_users: int,
) -> Grams:
    """Per-user ``V_u'V_u`` (n_users, d, d) and ``V_u' r_u`` (n_users, d), float64.

    Computed once as sparse products (each video's outer product is sparse: it has few kinds), so
    every penalty and both passes reuse them: a pass costs batched d x d solves, not a walk over pairs.
    """
    d = videos.shape[1]
    v = sp.csr_matrix(videos)
    pos, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.float64)]
    for lo, hi in zip(v.indptr[:-1], v.indptr[1:], strict=True):
        idx, val = v.indices[lo:hi].astype(np.int64), v.data[lo:hi].astype(np.float64)
        pos.append((idx[:, None] * d + idx[None, :]).ravel())
        vals.append(np.outer(val, val).ravel())
    owner = np.repeat(np.arange(v.shape[0]), np.diff(v.indptr) ** 2)
    outer = sp.csr_matrix((np.concatenate(vals), (owner, np.concatenate(pos))), shape=(v.shape[0], d * d))
    ones = sp.csr_matrix((np.ones(len(user)), (user, item)), shape=(n_users, v.shape[0]))
    gram = np.asarray((ones @ outer).toarray(), np.float64).reshape(n_users, d, d)
    r = sp.csr_matrix((resid.astype(np.float64), (user, item)), shape=(n_users, v.shape[0]))
    return gram, np.asarray(r @ videos.astype(np.float64), np.float64)


def _solve(grams: Grams, reg: float, prior: NDArray[np.float64]) -> NDArray[np.float32]:
    """``w_u = (V_u'V_u + reg I)^-1 (V_u' r_u + reg prior_u)`` for every user (the prior without pairs)."""
    gram, rhs = grams
    d = gram.shape[1]
    out = np.empty_like(rhs)
    for lo in range(0, len(gram), 4096):  # bounded temporaries on large user counts
        g = gram[lo : lo + 4096] + reg * np.eye(d)
        out[lo : lo + 4096] = np.linalg.solve(g, (rhs[lo : lo + 4096] + reg * prior[lo : lo + 4096])[..., None])[..., 0]
    return out.astype(np.float32)


@dataclass
class Taste:
    """Fitted taste: per-user weights, the user-feature map of their prior, and the video columns."""

    user_weights: NDArray[np.float32]
    videos: NDArray[np.float32]
    user_map: NDArray[np.float32] | None
    user_map_bias: NDArray[np.float32]

    def prior(self, user_design: sp.csr_matrix | None, n: int) -> NDArray[np.float32]:
        """Taste vectors users' features predict (the users' mean without a feature map)."""
        if self.user_map is None or user_design is None:
            return np.broadcast_to(self.user_map_bias, (n, len(self.user_map_bias))).astype(np.float32)
        return np.asarray(user_design @ self.user_map + self.user_map_bias, np.float32)

    def vectors(
        self, users: NDArray[np.int32], user_features: FeatureTable | None, user_pipe: FeaturePipeline | None
    ) -> NDArray[np.float32]:
        """Taste of users given by index (their fitted vector) or -1 (the one ``user_features`` rows predict)."""
        design = None
        if user_features is not None and user_pipe is not None:
            design = design_matrix(user_pipe.transform(user_features), user_pipe)
        out = self.prior(design, len(users))
        known = users >= 0
        out[known] = self.user_weights[users[known]]
        return out

    def scores(self, weights: NDArray[np.float32]) -> NDArray[np.float32]:
        """(n, n_videos) taste scores of users with taste vectors ``weights``."""
        return np.asarray(weights @ self.videos.T, np.float32)


def fit_taste(
    user: NDArray[np.int32], item: NDArray[np.int32], resid: NDArray[np.float32], videos: NDArray[np.float32],
    n_users: int, reg: float, user_design: sp.csr_matrix | None, grams: Grams | None = None,
) -> Taste:
    """Two passes: plain per-user ridge, then ridge toward the vector the user features predict."""
    d = videos.shape[1]
    grams = user_grams(user, item, resid, videos, n_users) if grams is None else grams
    first = _solve(grams, reg, np.zeros((n_users, d)))
    known = np.bincount(user, minlength=n_users) > 0
    mean_w = first[known].mean(axis=0) if known.any() else np.zeros(d, np.float32)
    user_map, bias = None, mean_w.astype(np.float32)
    if user_design is not None and known.sum() >= 10:
        user_map, bias = ridge_map(user_design[known], first[known], FEATURE_REG)
    taste = Taste(first, videos, user_map, np.asarray(bias, np.float32))
    prior = taste.prior(user_design, n_users).astype(np.float64)
    taste.user_weights = _solve(grams, reg, prior)
    return taste


def choose_taste(
    judge: Callable[[NDArray[np.float32]], float],
    user: NDArray[np.int32], item: NDArray[np.int32], y: NDArray[np.float32], train: NDArray[np.bool_],
    mf_best: tuple[Any, ...], val_users: NDArray[np.integer], videos: NDArray[np.float32],
    user_design: sp.csr_matrix | None, log: dict[str, float], regs: list[float], weights: list[float],
) -> tuple[float, float, NDArray[np.float32]]:
    """Weight and penalty of the taste part on the holdout, and the validation users' MF + taste scores.

    ``mf_best`` is the chosen MF head fitted on the training pairs (validation scores first); its
    residual is regressed for each penalty in ``regs`` (in units of views: a user with ``reg`` views is
    half prior, half their own), and each of ``weights`` is judged on ``s + weight * taste``. Weight 0
    (the MF head alone) is always a candidate and wins ties.
    """
    s, mean, p, b, q, c = mf_best
    u, i = user[train], item[train]
    resid = mf_residual(u, i, y[train], mean, p, b, q, c)
    best = (judge(s.copy()), 0.0, 0.0)
    best_s = s
    grams = user_grams(u, i, resid, videos, p.shape[0]) if weights else None
    for reg in regs if weights else []:
        taste = fit_taste(u, i, resid, videos, p.shape[0], reg, user_design, grams)
        extra = taste.scores(taste.user_weights[val_users])
        for w in weights:
            mix = s + np.float32(w) * extra
            log[f"taste reg={reg:g} weight={w:g}"] = score = judge(mix.copy())
            if score > best[0]:
                best, best_s = (score, w, reg), mix
    return best[1], best[2], best_s
