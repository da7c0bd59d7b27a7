"""Hybrid: closed-form EASE item-item scores blended with a biased-MF label head, weights chosen on validation."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.features import FeaturePipeline
from reelrec.models._base import Recommender
from reelrec.models._ease import EASE, item_gram
from reelrec.models._hybrid_parts import (
    FEATURE_REG,
    LABEL_KINDS,
    LabelKind,
    design_matrix,
    detect_label_kind,
    ease_weights,
    feature_pipeline,
    fold_in,
    label_from_target,
    label_target,
    ridge_map,
    standardise_rows,
)
from reelrec.models._hybrid_select import Choice, choose
from reelrec.models._hybrid_valid import carve_pairs
from reelrec.models._item_mean import pair_means
from reelrec.models._mf import biased_als
from reelrec.models._space import Distribution, IntRange


class Hybrid(Recommender):
    """EASE on the interaction matrix plus a biased-MF head on the label, blended per user.

    ``score(u) = (1 - w) * z(x_u B) + w * z(p_u . Q + b_u + c)`` where ``z`` standardises a user's
    scores over the catalogue, ``B`` is EASE's item-item matrix (Steck, WWW 2019) and the MF head
    regresses the label's natural scale (log1p for watch ratios and counts, raw ratings). The
    EASE penalty, the MF penalty and ``w`` are chosen automatically on a validation holdout carved
    from the training pairs; the components are then refitted on everything. How the holdout is
    judged depends on the label kind: watch-ratio logs are impressions, so the held-out views of a
    user are ranked among themselves (preference given exposure); ratings, counts and binary logs are
    ranked over the whole catalogue. Counts are confidence of an implicit interaction, not a label
    to rank by, unless the validation prefers the count head.

    Side features give cold users (ridge map from user features to ``p_u, b_u``, blended with
    popularity) and new videos (ridge map from video features to ``q_i, c_i``) their scores;
    :meth:`recommend_history` ranks for a session known only by its recent views. ``predict``
    returns the label (watch ratio, rating, count) from the MF head.

    Parameters
    ----------
    label_kind : {"auto", "rating", "watch_ratio", "count", "binary"}
        How to read the label; ``"auto"`` detects it (see :func:`detect_label_kind`).
    embedding_size, epochs : int
        MF factors and ALS sweeps.
    ease_scales : list of float
        EASE penalties tried, as multiples of the mean item count (so one grid suits every data size).
    mf_regs : list of float
        MF L2 penalties tried.
    blend_steps : int
        ``w`` is tried on ``blend_steps + 1`` evenly spaced values in [0, 1].
    validation_fraction : float
        Share of a validation user's pairs held out for the automatic choices.
    max_validation_users : int
        Users sampled for the validation holdout (bounds the cost of the choices).
    max_memory_gb : float
        Catalogues whose EASE matrices would need more memory are fitted with the MF head alone.
    ease_input : {"binary", "residual"}
        What EASE reconstructs: the binary interaction matrix, or the label's residual after the MF
        biases (item-item co-variation of preference rather than of exposure). Experimental.
    seed : int
        Seed of the holdout draw and the MF initialisation.

    Stability: experimental.
    """

    name = "hybrid"
    regresses = True
    supports_cold_start = True

    def __init__(
        self,
        label_kind: str = "auto",
        embedding_size: int = 32,
        epochs: int = 8,
        ease_scales: list[float] | tuple[float, ...] = (2.0, 8.0, 32.0, 128.0),
        mf_regs: list[float] | tuple[float, ...] = (2.5, 5.0, 10.0, 20.0, 40.0),
        blend_steps: int = 10,
        validation_fraction: float = 0.1,
        max_validation_users: int = 2000,
        max_memory_gb: float = 4.0,
        ease_input: str = "binary",
        seed: int = 0,
    ) -> None:
        self.label_kind = label_kind
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.ease_scales = [float(s) for s in ease_scales]
        self.mf_regs = [float(r) for r in mf_regs]
        self.blend_steps = blend_steps
        self.validation_fraction = validation_fraction
        self.max_validation_users = max_validation_users
        self.max_memory_gb = max_memory_gb
        self.ease_input = ease_input
        self.seed = seed

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 8, "epochs": 3, "ease_scales": [4.0], "mf_regs": [1.0], "blend_steps": 4}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        # Penalties and the blend are chosen inside ``fit``; the factor count and ALS sweeps are not.
        return {"embedding_size": IntRange(8, 64, log=True), "epochs": IntRange(4, 16)}

    def _check_params(self) -> None:
        if self.label_kind != "auto" and self.label_kind not in LABEL_KINDS:
            raise ValueError(f"label_kind={self.label_kind!r}, must be 'auto' or one of {', '.join(LABEL_KINDS)}")
        for name in ("embedding_size", "epochs", "blend_steps", "max_validation_users"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}={value!r}, must be an integer >= 1")
        for name in ("ease_scales", "mf_regs"):
            values = getattr(self, name)
            if not values or not all(np.isfinite(v) and v > 0 for v in values):
                raise ValueError(f"{name}={values!r}, must be a non-empty list of numbers > 0")
        if self.ease_input not in ("binary", "residual"):
            raise ValueError(f"ease_input={self.ease_input!r}, must be 'binary' or 'residual'")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction!r}, must be in (0, 1)")

    # --------------------------------------------------------------------------------------------- fit
    def _fit(self, dataset: Dataset) -> None:
        self._check_params()
        kind = detect_label_kind(dataset) if self.label_kind == "auto" else cast(LabelKind, self.label_kind)
        user, item, label = pair_means(dataset.interactions, dataset.n_items)
        y = label_target(label, kind).astype(np.float32)
        n_users, n_items = dataset.n_users, dataset.n_items
        use_ease = EASE.memory_needed_gb(n_items) <= self.max_memory_gb
        rng = np.random.default_rng(self.seed)
        held = carve_pairs(user, n_users, self.validation_fraction, self.max_validation_users, rng)
        user_design = self._user_design(dataset)
        choice = choose(self, kind, user, item, label, y, held, (n_users, n_items), use_ease, user_design)
        self.label_kind_ = kind
        self.choice_ = choice
        self._fit_parts(user, item, y, n_users, n_items, choice, use_ease, dataset)

    def _user_design(self, dataset: Dataset) -> sp.csr_matrix | None:
        pipe = feature_pipeline(dataset.user_features)
        self.user_pipe_ = pipe
        if pipe is None or dataset.user_features is None:
            return None
        return design_matrix(pipe.fit_transform(dataset.user_features), pipe)

    def fit_mf(
        self,
        user: NDArray[np.int32],
        item: NDArray[np.int32],
        y: NDArray[np.float32],
        shape: tuple[int, int],
        reg: float,
        sweeps: int,
    ) -> tuple[float, NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        """Global mean, user factors, user biases, item factors and item biases of the label head."""
        mean = float(y.astype(np.float64).mean())
        rng = np.random.default_rng(self.seed)
        p, b, q, c = biased_als(
            user, item, (y - mean).astype(np.float32), *shape, int(self.embedding_size), reg, sweeps, rng
        )
        return mean, p, b, q, c

    def _fit_parts(
        self,
        user: NDArray[np.int32],
        item: NDArray[np.int32],
        y: NDArray[np.float32],
        n_users: int,
        n_items: int,
        choice: Choice,
        use_ease: bool,
        dataset: Dataset,
    ) -> None:
        mean, p, b, q, c = self.fit_mf(user, item, y, (n_users, n_items), choice.mf_reg, int(self.epochs))
        self.global_mean_ = mean
        # The label a history view is assumed to carry when folded into the MF head (a liked view).
        self.liked_target_ = float(np.quantile(y, 0.75)) - mean
        self.user_factors_, self.user_bias_ = p, b
        new_items = np.bincount(item, minlength=n_items) == 0
        if new_items.any() and dataset.item_features is not None and dataset.item_features.columns:
            # Videos never viewed in training get the factors their features predict.
            pipe = FeaturePipeline(min_count=5, max_categories=200)
            design = design_matrix(pipe.fit_transform(dataset.item_features), pipe)
            qc = np.hstack([q, c[:, None]])
            w, w0 = ridge_map(design[~new_items], qc[~new_items], FEATURE_REG)
            qc[new_items] = design[new_items] @ w + w0
            q, c = qc[:, :-1], qc[:, -1]
        self.item_factors_, self.item_bias_ = np.ascontiguousarray(q), np.ascontiguousarray(c)
        self.user_map_ = self.user_map_bias_ = None
        if self.user_pipe_ is not None and dataset.user_features is not None:
            design = design_matrix(self.user_pipe_.transform(dataset.user_features), self.user_pipe_)
            known = np.bincount(user, minlength=n_users) > 0
            pb = np.hstack([p, b[:, None]])
            self.user_map_, self.user_map_bias_ = ridge_map(design[known], pb[known], FEATURE_REG)
        self.log_popularity_ = np.log1p(self.item_popularity_).astype(np.float32)
        self.ease_weights_ = self.ease_values_ = None
        if self.ease_input == "residual":
            # Pairs are sorted by user then item, the order of seen_'s entries.
            self.ease_values_ = (y - mean - b[user] - self.item_bias_[item]).astype(np.float32)
        if use_ease and choice.blend_weight < 1.0:
            self.ease_weights_ = ease_weights(item_gram(self._ease_matrix()), choice.ease_reg)

    def _ease_matrix(self) -> sp.csr_matrix:
        """EASE's input rows for every user: the binary matrix, or the residual labels on its pattern."""
        if self.ease_values_ is None:
            return self.seen_
        return sp.csr_matrix((self.ease_values_, self.seen_.indices, self.seen_.indptr), shape=self.seen_.shape)

    # ----------------------------------------------------------------------------------------- scoring
    def _mf_scores(self, p: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
        z = p @ self.item_factors_.T
        z += b[:, None]
        z += self.item_bias_[None, :]
        return z

    def _blend(self, history: sp.csr_matrix, p: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
        w = self.choice_.blend_weight
        out = standardise_rows(self._mf_scores(p, b)) * np.float32(w)
        if self.ease_weights_ is not None and w < 1.0:
            ease = standardise_rows(np.asarray(history @ self.ease_weights_, dtype=np.float32))
            out += np.float32(1.0 - w) * ease
        return out

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._blend(self._ease_matrix()[users], self.user_factors_[users], self.user_bias_[users])

    def _cold_factors(self, user_features: FeatureTable) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        n, k = len(user_features), self.item_factors_.shape[1]
        if self.user_map_ is None or self.user_pipe_ is None:
            return np.zeros((n, k), np.float32), np.zeros(n, np.float32)
        pb = design_matrix(self.user_pipe_.transform(user_features), self.user_pipe_) @ self.user_map_
        pb = np.asarray(pb + self.user_map_bias_, np.float32)
        return pb[:, :k], pb[:, k]

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        p, b = self._cold_factors(user_features)
        v = np.float32(self.choice_.cold_weight)
        out = standardise_rows(self._mf_scores(p, b)) * (1 - v)
        pop = standardise_rows(np.broadcast_to(self.log_popularity_, (len(p), self.n_items)).copy())
        return out + v * pop

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        z = np.einsum("nd,nd->n", self.user_factors_[users], self.item_factors_[items])
        z += self.user_bias_[users] + self.item_bias_[items] + np.float32(self.global_mean_)
        return label_from_target(z.astype(np.float32), self.label_kind_)

    def recommend_history(
        self,
        histories: list[ArrayLike],
        k: int = 10,
        half_life: float = 10.0,
        candidates: ArrayLike | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` item indices for sessions known only by their recent views (oldest first).

        The short-term input of a real-time feed: each view weighs ``0.5 ** (age / half_life)``
        (age 0 = the latest), so the feed follows what was just watched. The EASE part sums the
        weighted item-item rows; the MF part folds the session in as a user vector (a weighted ridge
        solve assuming each view was a liked one, the training labels' upper quartile). Viewed items
        are excluded.
        """
        self._check_fitted()
        if not half_life > 0:
            raise ValueError(f"half_life={half_life!r}, must be > 0")
        rows, cols, vals = [], [], []
        for r, seq in enumerate(histories):
            seq = np.asarray(seq, dtype=np.int32).ravel()
            if len(seq) and (seq.min() < 0 or seq.max() >= self.n_items):
                raise KeyError(f"history {r}: item indices must be in [0, {self.n_items})")
            rows.append(np.full(len(seq), r))
            cols.append(seq)
            vals.append(0.5 ** (np.arange(len(seq))[::-1] / half_life))
        n = len(histories)
        none = np.zeros(0, np.int64)
        cells = (np.concatenate(rows) if rows else none, np.concatenate(cols) if cols else none)
        weights = np.concatenate(vals).astype(np.float32) if vals else np.zeros(0, np.float32)
        hist = sp.csr_matrix((weights, cells), shape=(n, self.n_items))
        p = fold_in(hist, self.item_factors_, self.item_bias_, self.liked_target_, self.choice_.mf_reg)
        if self.ease_values_ is not None:
            # Residual EASE input: each view carries the liked label minus the video's bias.
            hist = hist.multiply((self.liked_target_ - self.item_bias_)[None, :]).tocsr()

        def score(batch: NDArray[np.int32]) -> NDArray[np.float32]:
            return self._blend(hist[batch], p[batch], np.zeros(len(batch), np.float32))

        exclude = [np.unique(np.asarray(s, dtype=np.int32)) for s in histories]
        return self._rank(score, np.arange(n, dtype=np.int32), k, False, candidates, exclude)

    def item_embeddings(self) -> NDArray[np.float32]:
        """MF item factors, shape (n_items, embedding_size); do not modify."""
        self._check_fitted()
        return self.item_factors_

    # ------------------------------------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {
            "user_factors": self.user_factors_,
            "user_bias": self.user_bias_,
            "item_factors": self.item_factors_,
            "item_bias": self.item_bias_,
            "log_popularity": self.log_popularity_,
        }
        if self.ease_weights_ is not None:
            tensors["ease_weights"] = self.ease_weights_
        if self.ease_values_ is not None:
            tensors["ease_values"] = self.ease_values_
        if self.user_map_ is not None and self.user_map_bias_ is not None:
            tensors["user_map"], tensors["user_map_bias"] = self.user_map_, self.user_map_bias_
        extra = {
            "label_kind": self.label_kind_,
            "global_mean": self.global_mean_,
            "liked_target": self.liked_target_,
            "choice": self.choice_.to_dict(),
            "user_pipe": None if self.user_pipe_ is None else self.user_pipe_.to_json(),
        }
        return tensors, extra

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        for name in ("user_factors", "user_bias", "item_factors", "item_bias", "log_popularity"):
            setattr(self, name + "_", np.asarray(tensors[name], np.float32))
        self.ease_weights_ = tensors.get("ease_weights")
        self.ease_values_ = tensors.get("ease_values")
        self.user_map_ = tensors.get("user_map")
        self.user_map_bias_ = tensors.get("user_map_bias")
        self.label_kind_ = extra["label_kind"]
        self.global_mean_ = float(extra["global_mean"])
        self.liked_target_ = float(extra["liked_target"])
        self.choice_ = Choice.from_dict(extra["choice"])
        self.user_pipe_ = None if extra["user_pipe"] is None else FeaturePipeline.from_json(extra["user_pipe"])
