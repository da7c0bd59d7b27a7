"""Hybrid: EASE item-item scores, an implicit-ALS component and a biased-MF label head, blended on validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.features import FeaturePipeline
from reelrec.models._base import Recommender
from reelrec.models._history import History
from reelrec.models._hybrid_fit import fit_hybrid
from reelrec.models._hybrid_parts import (
    LabelKind,
    design_matrix,
    label_from_target,
    standardise_rows,
)
from reelrec.models._hybrid_select import Choice
from reelrec.models._hybrid_session import ItemMap, add_items, recommend_history, session_scores
from reelrec.models._hybrid_state import check_params, get_state, set_state
from reelrec.models._hybrid_taste import Taste, TasteColumns
from reelrec.models._mf import biased_als
from reelrec.models._space import Distribution, IntRange


class Hybrid(Recommender):
    """EASE and iALS on who-watched-what plus a biased-MF head on the label, blended per user.

    ``score(u) = w_mf z(p_u . q + b_u + c) + w_ease z(x_u B) + w_ials z(x_u . y)``, where ``z``
    standardises a user's scores over the catalogue, ``B`` is EASE's item-item matrix (Steck,
    WWW 2019), the iALS factors weigh every unobserved cell (Hu, Koren & Volinsky 2008) and the MF
    head regresses the label's natural scale (log1p for watch ratios and counts, raw ratings). The
    penalties, the MF factor count and the weights (a simplex grid) are chosen automatically on a
    validation holdout carved from the training pairs; the components are then refitted on
    everything. Watch-ratio logs are impressions: their held-out views are ranked among themselves
    (preference given exposure) and the implicit iALS component is not tried there. Ratings are
    judged on the mean of the two readings (relevant = rated >= 4, relevant = rated at all).

    With video features, the MF head's score gains a side-feature taste term ``w_taste v_i . t_u``
    (``reelrec.models._hybrid_taste``: each user's MF residual regressed on the video's category /
    tag columns, shrunk toward what the user features predict), its weight and penalty chosen on the
    same holdout (weight 0 leaves it out); ``predict`` includes it.

    Side features give cold users (ridge map from user features to ``p_u, b_u``, blended with
    popularity) and new videos (ridge map from video features to their MF and iALS factors, see
    :meth:`add_items`) their scores; :meth:`recommend_session` folds a short-term, recency-weighted
    history in. ``predict`` returns the label (watch ratio, rating, count) from the MF head.

    Scoring rules (``scorings``), both in units of a user's standard deviation over the catalogue
    (comparable across users and candidate lists, not a label):

    - ``"blend"`` (default): the weights above, chosen by the kind's judge (on watch ratios: held-out
      views ranked among themselves, i.e. which shown video the user will like).
    - ``"catalogue"``: the same parts (plus iALS on watch-ratio logs) weighted by a second blend
      chosen on the same holdout by a whole-catalogue judge (relevant = held-out views with watch
      ratio >= 2, training views masked): which of all videos the user will watch next, the feed's
      question. On ratings, counts and binary logs the first judge already asks that, so the two
      rules share one blend. Cold users get the rule's own popularity share.

    Parameters
    ----------
    label_kind : {"auto", "rating", "watch_ratio", "count", "binary"}
        How to read the label; ``"auto"`` detects it (see :func:`detect_label_kind`) and
        ``label_kind_`` says what was used.
    embedding_size : int
        MF factors of the penalty search; ``other_sizes`` are also tried at the chosen penalty.
    epochs : int
        ALS sweeps (MF and iALS).
    ease_scales : list of float
        EASE penalties, as multiples of the mean item count (so one grid suits every data size).
    mf_regs : list of float
        MF L2 penalties (walked from the middle: about three fits, not one per value).
    ials_options : list of [reg, alpha]
        iALS settings tried (empty: no iALS component); ``ials_size`` factors.
    blend_steps : int
        Blend weights are multiples of ``1 / blend_steps``.
    rating_judge : {"both", "high"}
        How ratings are judged on validation: mean of ">= 4" and "any" relevance, or ">= 4" only.
    half_life : float
        Views this many positions back weigh half in a session history (``History.recency_weights``).
    validation_fraction, max_validation_users :
        Share of a validation user's pairs held out, and how many users are sampled (bounds the cost).
    max_memory_gb : float
        Catalogues whose EASE matrices would need more memory are fitted without EASE.
    ease_input : {"binary", "residual"}
        What EASE reconstructs: the binary matrix, or the label's residual after the MF biases.
    taste_regs, taste_weights : list of float
        Side-feature taste (``reelrec.models._hybrid_taste``): per-user ridge penalties and weights of
        its score added to the MF head, tried on validation besides weight 0 (empty weights: not tried).
    seed : int
        Seed of the holdout draw and the factor initialisations.
    progress : bool or "auto"
        Run option, not saved with the model: one progress bar with an ETA on stderr for the whole fit
        (``"auto"``, the default: only when stderr is a terminal, as the two-tower does).
        ``fit_seconds_`` (saved) holds the fit's wall seconds per phase either way.

    Stability: provisional (the default model since it beat the two-tower on every data set measured).
    """

    name = "hybrid"
    regresses = True
    supports_cold_start = True
    supports_new_items = True
    scorings: ClassVar[tuple[str, ...]] = ("blend", "catalogue")
    run_params: ClassVar[tuple[str, ...]] = ("progress",)

    # Learned state: set by ``fit_hybrid`` (``_hybrid_fit``) or loaded by ``_hybrid_state``.
    label_kind_: LabelKind
    choice_: Choice
    fit_seconds_: dict[str, float]
    global_mean_: float
    liked_target_: float
    skip_target_: float
    user_factors_: NDArray[np.float32]
    user_bias_: NDArray[np.float32]
    item_factors_: NDArray[np.float32]
    item_bias_: NDArray[np.float32]
    ials_user_: NDArray[np.float32] | None
    ials_item_: NDArray[np.float32] | None
    ease_weights_: NDArray[np.float32] | None
    ease_values_: NDArray[np.float32] | None
    item_map_: ItemMap | None
    user_pipe_: FeaturePipeline | None
    user_map_: NDArray | None
    user_map_bias_: NDArray | None
    log_popularity_: NDArray[np.float32]
    taste_: Taste | None
    taste_cols_: TasteColumns | None

    def __init__(
        self,
        label_kind: str = "auto",
        embedding_size: int = 32,
        epochs: int = 8,
        ease_scales: list[float] | tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0),
        mf_regs: list[float] | tuple[float, ...] = (2.5, 5.0, 10.0, 20.0, 40.0),
        other_sizes: list[int] | tuple[int, ...] = (16,),
        ials_options: list[list[float]] | tuple[tuple[float, float], ...] = ((1.0, 2.0), (10.0, 10.0)),
        ials_size: int = 32,
        blend_steps: int = 10,
        rating_judge: str = "both",
        half_life: float = 10.0,
        validation_fraction: float = 0.1,
        max_validation_users: int = 2000,
        max_memory_gb: float = 4.0,
        ease_input: str = "binary",
        taste_regs: list[float] | tuple[float, ...] = (10.0, 40.0, 160.0),
        taste_weights: list[float] | tuple[float, ...] = (0.5, 1.0),
        seed: int = 0,
        progress: bool | Literal["auto"] = "auto",
    ) -> None:
        self.label_kind = label_kind
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.ease_scales = [float(s) for s in ease_scales]
        self.mf_regs = [float(r) for r in mf_regs]
        self.other_sizes = [int(k) for k in other_sizes]
        self.ials_options = [[float(r), float(a)] for r, a in ials_options]
        self.ials_size = ials_size
        self.blend_steps = blend_steps
        self.rating_judge = rating_judge
        self.half_life = half_life
        self.validation_fraction = validation_fraction
        self.max_validation_users = max_validation_users
        self.max_memory_gb = max_memory_gb
        self.ease_input = ease_input
        self.taste_regs = [float(r) for r in taste_regs]
        self.taste_weights = [float(w) for w in taste_weights]
        self.seed = seed
        self.progress = progress

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 8, "epochs": 3, "ease_scales": [4.0], "mf_regs": [1.0], "other_sizes": [],
                "ials_options": [[1.0, 2.0]], "ials_size": 8, "blend_steps": 4, "taste_regs": [40.0]}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        # Penalties, the factor count and the blend are chosen inside ``fit``; the ALS sweeps are not.
        return {"embedding_size": IntRange(8, 64, log=True), "epochs": IntRange(4, 16)}

    def _check_params(self) -> None:
        check_params(self)

    # --------------------------------------------------------------------------------------------- fit
    def _fit(self, dataset: Dataset) -> None:
        fit_hybrid(self, dataset)

    def fit_mf(
        self,
        user: NDArray[np.int32],
        item: NDArray[np.int32],
        y: NDArray[np.float32],
        shape: tuple[int, int],
        reg: float,
        sweeps: int,
        k: int | None = None,
    ) -> tuple[float, NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        """Global mean, user factors, user biases, item factors and item biases of the label head."""
        mean = float(y.astype(np.float64).mean())
        rng = np.random.default_rng(self.seed)
        size = int(self.embedding_size if k is None else k)
        p, b, q, c = biased_als(user, item, (y - mean).astype(np.float32), *shape, size, reg, sweeps, rng)
        return mean, p, b, q, c

    def _ease_matrix(self) -> sp.csr_matrix:
        """EASE's input rows for every user: the binary matrix, or the residual labels on its pattern."""
        if self.ease_values_ is None:
            return self.seen_
        return sp.csr_matrix((self.ease_values_, self.seen_.indices, self.seen_.indptr), shape=self.seen_.shape)

    # ----------------------------------------------------------------------------------------- scoring
    def _mf_scores(
        self, p: NDArray[np.float32], b: NDArray[np.float32], t: NDArray[np.float32] | None = None
    ) -> NDArray[np.float32]:
        z = p @ self.item_factors_.T
        z += b[:, None]
        z += self.item_bias_[None, :]
        taste = getattr(self, "taste_", None)
        if taste is not None and t is not None:
            z += np.float32(self.choice_.taste_weight) * taste.scores(t)
        return z

    def rule_weights(self, scoring: str | None = None) -> tuple[float, float, float, float]:
        """Shares of MF, EASE and iALS, and the cold users' popularity share, under a scoring rule."""
        c = self.choice_
        if self._check_scoring(scoring) == "catalogue":
            return c.catalogue_mf_weight, c.catalogue_ease_weight, c.catalogue_ials_weight, c.catalogue_cold_weight
        return c.blend_weight, c.ease_weight, c.ials_weight, c.cold_weight

    def taste_vectors(self, users: NDArray[np.int32], user_features: FeatureTable | None) -> NDArray[np.float32] | None:
        """Side-feature taste of users (index, or -1: the vector their features predict); None without it."""
        taste = getattr(self, "taste_", None)
        return None if taste is None else taste.vectors(users, user_features, self.user_pipe_)

    def blend(
        self,
        rows: sp.csr_matrix,
        p: NDArray[np.float32],
        b: NDArray[np.float32],
        x: NDArray[np.float32] | None,
        t: NDArray[np.float32] | None = None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        """The score of users given by EASE input ``rows``, MF state ``p, b`` and iALS vectors ``x``.

        ``scoring`` names the rule whose weights apply (the default, ``"blend"``, when omitted).
        Videos added after the fit have no EASE column: they score 0 there (before standardising).
        ``t`` holds the users' side-feature taste vectors (:meth:`taste_vectors`).
        """
        w_mf, w_ease, w_ials, _ = self.rule_weights(scoring)
        out = np.zeros((len(p), self.n_items), np.float32)
        if w_mf > 0:
            out += standardise_rows(self._mf_scores(p, b, t)) * np.float32(w_mf)
        if self.ease_weights_ is not None and w_ease > 0:
            n_old = self.ease_weights_.shape[0]
            ease = np.zeros((rows.shape[0], self.n_items), np.float32)
            ease[:, :n_old] = np.asarray(rows[:, :n_old] @ self.ease_weights_, dtype=np.float32)
            out += np.float32(w_ease) * standardise_rows(ease)
        if self.ials_item_ is not None and x is not None and w_ials > 0:
            out += np.float32(w_ials) * standardise_rows(x @ self.ials_item_.T)
        return out

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._score_rule(users, None)

    def _score_rule(self, users: NDArray[np.int32], scoring: str | None) -> NDArray[np.float32]:
        x = None if self.ials_user_ is None else self.ials_user_[users]
        rows = self._ease_matrix()[users]
        t = self.taste_vectors(users, None)
        return self.blend(rows, self.user_factors_[users], self.user_bias_[users], x, t, scoring)

    def _scorers(
        self, candidates: ArrayLike | None, scoring: str | None = None
    ) -> tuple[Callable[[NDArray[np.int32]], NDArray[np.float32]], Callable[[FeatureTable], NDArray[np.float32]]]:
        """Known-user and cold-user scores under the rule ``scoring`` names (whatever the candidates)."""
        rule = self._check_scoring(scoring)
        return (lambda users: self._score_rule(users, rule)), (lambda table: self.cold_scores(table, rule))

    def cold_factors(self, user_features: FeatureTable) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """MF factors and biases the user features predict (zeros without a feature map)."""
        n, k = len(user_features), self.item_factors_.shape[1]
        if self.user_map_ is None or self.user_pipe_ is None:
            return np.zeros((n, k), np.float32), np.zeros(n, np.float32)
        pb = design_matrix(self.user_pipe_.transform(user_features), self.user_pipe_) @ self.user_map_
        pb = np.asarray(pb + self.user_map_bias_, np.float32)
        return pb[:, :k], pb[:, k]

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        return self.cold_scores(user_features, None)

    def cold_scores(self, user_features: FeatureTable, scoring: str | None = None) -> NDArray[np.float32]:
        """Scores of users known by features only: the MF head they predict blended with popularity."""
        p, b = self.cold_factors(user_features)
        v = np.float32(self.rule_weights(scoring)[3])
        t = self.taste_vectors(np.full(len(p), -1, np.int32), user_features)
        out = standardise_rows(self._mf_scores(p, b, t)) * (1 - v)
        pop = standardise_rows(np.broadcast_to(self.log_popularity_, (len(p), self.n_items)).copy())
        return out + v * pop

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        return session_scores(self, users, histories, user_features, self._check_scoring(scoring))

    def _add_items(self, item_ids: NDArray, item_features: FeatureTable) -> NDArray[np.int32]:
        return add_items(self, item_ids, item_features)

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        z = np.einsum("nd,nd->n", self.user_factors_[users], self.item_factors_[items])
        z += self.user_bias_[users] + self.item_bias_[items] + np.float32(self.global_mean_)
        taste = getattr(self, "taste_", None)
        if taste is not None:
            t = np.einsum("nd,nd->n", taste.user_weights[users], taste.videos[items])
            z += np.float32(self.choice_.taste_weight) * t
        return label_from_target(z.astype(np.float32), self.label_kind_)

    def recommend_history(
        self, histories: list[ArrayLike], k: int = 10, half_life: float | None = None,
        candidates: ArrayLike | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` item indices for new users known only by recent views (oldest first); see
        :meth:`recommend_session_indices`, which this wraps (``half_life`` overrides the model's)."""
        return recommend_history(self, histories, k, half_life, candidates)

    def item_embeddings(self) -> NDArray[np.float32]:
        """MF item factors, shape (n_items, factors); do not modify."""
        self._check_fitted()
        return self.item_factors_

    # ------------------------------------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        return get_state(self)

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        set_state(self, tensors, extra)
