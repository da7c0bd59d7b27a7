"""The hybrid model's real-time inputs: a short-term history folded into the user, new videos from features.

History (``session_scores``, under either scoring rule; its weights say which parts count): each
view weighs ``History.recency_weights(half_life)``. The EASE part adds the weighted watched views to
the user's training row; the MF head re-solves the user vector with the views as labelled
observations (the watch ratio when the client sent one, else the training labels' upper quartile,
a liked view), the trained vector (or the one the user features predict) as the ridge prior, so
recent views move the user rather than replace them; the iALS part re-solves its vector the same
way with the views as confident positives. **Skips** are negative in
the MF head (the training labels' 5th percentile) and ignored by EASE and iALS (a swipe-away is
not consumption).

New videos (``add_items``): the ridge map from video features to the MF factors and bias (and the
iALS factors), fitted on the trained videos, gives them their factors; EASE has no row for them and
scores them 0 before standardising (a neutral score, so only the factor components rank them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.data._vocab import IdMap
from reelrec.features import FeaturePipeline
from reelrec.models._history import History
from reelrec.models._hybrid_parts import FEATURE_REG, design_matrix, fold_in, ials_fold_in, label_target, ridge_map

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid


@dataclass
class ItemMap:
    """Ridge map from encoded video features to ``[q, c, (iALS y)]`` of a video."""

    pipe: FeaturePipeline
    weights: NDArray[np.float32]
    intercept: NDArray[np.float32]

    def predict(self, table: FeatureTable) -> NDArray[np.float32]:
        design = design_matrix(self.pipe.transform(table), self.pipe)
        return np.asarray(design @ self.weights + self.intercept, np.float32)


def _item_targets(model: Hybrid) -> NDArray[np.float32]:
    parts = [model.item_factors_, model.item_bias_[:, None]]
    if model.ials_item_ is not None:
        parts.append(model.ials_item_)
    return np.hstack(parts).astype(np.float32)


def _set_item_targets(model: Hybrid, out: NDArray[np.float32]) -> None:
    k = model.item_factors_.shape[1]
    model.item_factors_ = np.ascontiguousarray(out[:, :k])
    model.item_bias_ = np.ascontiguousarray(out[:, k])
    if model.ials_item_ is not None:
        model.ials_item_ = np.ascontiguousarray(out[:, k + 1 :])


def fit_item_map(
    model: Hybrid, dataset: Dataset, item: NDArray[np.int32],
    encoded: tuple[FeaturePipeline, sp.csr_matrix] | None = None,
) -> ItemMap | None:
    """Fit the feature map on videos with training views; give never-viewed videos its prediction.

    ``encoded``: the video encoder already fitted on ``dataset.item_features`` and its design (saves a refit).
    """
    table = dataset.item_features
    if table is None or not table.columns:
        return None
    if encoded is None:
        pipe = FeaturePipeline(min_count=5, max_categories=200)
        encoded = pipe, design_matrix(pipe.fit_transform(table), pipe)
    pipe, design = encoded
    viewed = np.bincount(item, minlength=dataset.n_items) > 0
    target = _item_targets(model)
    weights, intercept = ridge_map(design[viewed], target[viewed], FEATURE_REG)
    if (~viewed).any():
        target[~viewed] = np.asarray(design[~viewed] @ weights + intercept, np.float32)
        _set_item_targets(model, target)
    return ItemMap(pipe, weights, intercept)


def add_items(model: Hybrid, item_ids: NDArray, item_features: FeatureTable) -> NDArray[np.int32]:
    """Append new videos with the factors their features predict; returns their indices."""
    if model.item_map_ is None:
        raise ValueError("this hybrid was fitted without video features, so it cannot score new videos from features")
    new = model.item_map_.predict(item_features)
    n_old, m = model.n_items, len(item_ids)
    _set_item_targets(model, np.vstack([_item_targets(model), new]))
    model.items_ = IdMap(np.concatenate([model.items_.raw_ids, model.items_.coerce(item_ids)]))
    seen = model.seen_
    model.seen_ = sp.csr_matrix((seen.data, seen.indices, seen.indptr), shape=(seen.shape[0], n_old + m))
    model.item_popularity_ = np.r_[model.item_popularity_, np.zeros(m, np.float32)]
    model.log_popularity_ = np.r_[model.log_popularity_, np.zeros(m, np.float32)]
    taste = getattr(model, "taste_", None)
    if taste is not None and model.taste_cols_ is not None:  # new videos get taste from their features too
        taste.videos = np.vstack([taste.videos, model.taste_cols_.design(item_features)])
    return np.arange(n_old, n_old + m, dtype=np.int32)


def _cat(parts: list[NDArray], dtype: type) -> NDArray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def session_scores(
    model: Hybrid,
    users: NDArray[np.int32],
    histories: list[History],
    user_features: FeatureTable | None,
    scoring: str | None = None,
) -> NDArray[np.float32]:
    """Scores of users (index, or -1 for new) under the rule ``scoring`` after folding in their recent views.

    Only the parts the rule weighs are folded in (the iALS solve is skipped when it has no share).
    """
    n, n_items = len(users), model.n_items
    known = users >= 0
    cold_p, cold_b = np.zeros((n, model.item_factors_.shape[1]), np.float32), np.zeros(n, np.float32)
    if user_features is not None and (~known).any():
        cold_p, cold_b = model.cold_factors(user_features)
    safe = np.maximum(users, 0)
    prior = np.where(known[:, None], model.user_factors_[safe], cold_p).astype(np.float32)
    bias = np.where(known, model.user_bias_[safe], cold_b).astype(np.float32)
    rows, cols, weight, target, watched = [], [], [], [], []
    for r, h in enumerate(histories):
        w = h.recency_weights(model.half_life)
        t = np.full(len(h), model.liked_target_, np.float32)
        if model.label_kind_ == "watch_ratio":
            told = np.isfinite(h.watch_ratio)
            t[told] = label_target(h.watch_ratio[told], "watch_ratio") - model.global_mean_
        t[h.skipped] = model.skip_target_
        # A video viewed twice in one history counts once, by its latest view.
        _, first_from_end = np.unique(h.items[::-1], return_index=True)
        keep = len(h) - 1 - first_from_end
        rows.append(np.full(len(keep), r))
        cols.append(h.items[keep])
        weight.append(w[keep])
        target.append(t[keep] - bias[r])
        watched.append(~h.skipped[keep])
    r_, c_ = _cat(rows, np.int64), _cat(cols, np.int64)
    w_, t_, v_ = _cat(weight, np.float32), _cat(target, np.float32), _cat(watched, np.bool_)
    pattern = (r_, c_)
    w_mat = sp.csr_matrix((w_, pattern), shape=(n, n_items))
    t_mat = sp.csr_matrix((t_, pattern), shape=(n, n_items))
    c = model.choice_
    p = fold_in(w_mat, t_mat, model.item_factors_, model.item_bias_, c.mf_reg, prior)
    x = None
    if model.ials_item_ is not None and model.ials_user_ is not None and model.rule_weights(scoring)[2] > 0:
        ials_prior = np.where(known[:, None], model.ials_user_[safe], 0.0).astype(np.float32)
        conf = sp.csr_matrix((c.ials_alpha * w_[v_], (r_[v_], c_[v_])), shape=(n, n_items))
        x = ials_fold_in(conf, model.ials_item_, c.ials_reg, ials_prior)
    views = sp.csr_matrix((w_[v_], (r_[v_], c_[v_])), shape=(n, n_items))
    if model.ease_values_ is not None:
        # Residual EASE input: each view carries the liked label minus the video's bias.
        views = views.multiply((model.liked_target_ - model.item_bias_)[None, :]).tocsr()
    base = model._ease_matrix()[safe].multiply(known[:, None].astype(np.float32)).tocsr()
    scores = model.blend((base + views).tocsr(), p, bias, x, model.taste_vectors(users, user_features), scoring)
    empty_new = ~known & (np.asarray([len(h) for h in histories]) == 0)
    if empty_new.any():
        rows_new = np.flatnonzero(empty_new)
        if user_features is not None:
            scores[rows_new] = model.cold_scores(user_features.take(rows_new), scoring)
        else:
            scores[rows_new] = model.log_popularity_
    return scores


def recommend_history(
    model: Hybrid, histories: list[ArrayLike], k: int, half_life: float | None, candidates: ArrayLike | None
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """New users' sessions given as plain lists of item indices (``Hybrid.recommend_history``)."""
    model._check_fitted()
    if half_life is not None and not half_life > 0:
        raise ValueError(f"half_life={half_life!r}, must be > 0")
    hist = []
    for r, seq in enumerate(histories):
        arr = np.asarray(seq, dtype=np.int64).ravel()
        if len(arr) and (arr.min() < 0 or arr.max() >= model.n_items):
            raise KeyError(f"history {r}: item indices must be in [0, {model.n_items})")
        hist.append(History.of(arr.astype(np.int32)))
    previous = model.half_life
    model.half_life = previous if half_life is None else half_life
    try:
        return model.recommend_session_indices(hist, k=k, candidates=candidates)
    finally:
        model.half_life = previous
