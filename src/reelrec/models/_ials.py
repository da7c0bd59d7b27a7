"""Implicit ALS: confidence-weighted matrix factorisation of who watched what (Hu, Koren & Volinsky 2008)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.errors import DataError
from reelrec.models._base import Recommender
from reelrec.models._fold import DEFAULT_HISTORY_WEIGHT, check_history_weight, ridge_fold, view_weights
from reelrec.models._history import History
from reelrec.models._ridge_rows import solve_rows
from reelrec.models._space import Distribution, IntRange, LogUniform

Scaling = Literal["identity", "log1p"]


def confidence_matrix(dataset: Dataset, alpha: float, scaling: Scaling) -> sp.csr_matrix:
    """``C - 1 = alpha * f(label)`` on the observed pairs, CSR (n_users, n_items), float32.

    Repeat views of a pair add up before ``f`` (three plays are more evidence than one), as in
    the paper's play counts. ``f(label)`` must be ``>= 0`` so every confidence is at least 1.

    Raises
    ------
    DataError
        If a label is not finite or ``f(label) < 0`` (names the first offending row).
    """
    inter = dataset.interactions
    label = inter.label.astype(np.float64)
    bad = ~np.isfinite(label) | (label < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"interactions.label row {row} is {float(inter.label[row])!r}; ials needs finite labels >= 0 "
            f"({int(bad.sum())} rows are not)"
        )
    summed = sp.csr_matrix((label, (inter.user, inter.item)), shape=(dataset.n_users, dataset.n_items))
    summed.sum_duplicates()
    strength = np.log1p(summed.data) if scaling == "log1p" else summed.data
    summed.data = (alpha * strength).astype(np.float64)
    return summed.astype(np.float32)


def implicit_als(
    extra: sp.csr_matrix, k: int, reg: float, sweeps: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """User and item factors minimising ``sum_ui c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2)``.

    ``extra`` holds ``c_ui - 1`` on the observed pairs (``p_ui = 1`` there, ``0`` and ``c = 1``
    elsewhere). Each half sweep solves every row exactly (Cholesky) with the Gram matrix
    ``Y'Y + Y'(C_u - I)Y``: the shared ``Y'Y`` once per half sweep, plus one term per observed pair,
    so a sweep costs ``O(nnz k^2)`` rather than ``O(n_users n_items k^2)``.
    """
    n_users, n_items = extra.shape
    by_user = extra.tocsr()
    by_item = extra.T.tocsr()
    y = (rng.standard_normal((n_items, k)) * 0.01).astype(np.float32)
    x = np.zeros((n_users, k), np.float32)
    for _ in range(sweeps):
        x = _half_sweep(by_user, y, reg)
        y = _half_sweep(by_item, x, reg)
    return x, y


def _half_sweep(extra: sp.csr_matrix, other: NDArray[np.float32], reg: float) -> NDArray[np.float32]:
    weight = extra.data.astype(np.float32)
    prior = other.T.astype(np.float64) @ other.astype(np.float64)
    return solve_rows(
        extra.indptr.astype(np.int64), extra.indices.astype(np.int32), weight + 1.0, other, reg,
        weight=weight, prior=prior,
    )


class ImplicitALS(Recommender):
    """Confidence-weighted implicit matrix factorisation: iALS (the ``implicit`` library's ALS model).

    Every (user, video) cell is a preference ``p = 1`` if viewed, else ``0``, trusted with confidence
    ``c = 1 + alpha * f(label)`` on viewed cells and ``1`` elsewhere; alternating exact least squares
    fit ``x_u . y_i`` to ``p`` under an L2 penalty ``reg``. Unlike ``mf`` it learns from what users
    did *not* watch, which is what ranking a sparse catalogue needs. Ranking scores are ``x_u . y_i``
    (not a label): ``predict`` is not supported, like EASE and ItemKNN.

    Parameters
    ----------
    embedding_size : int
        Latent dimension.
    epochs : int
        ALS sweeps (users, then items).
    reg : float
        L2 penalty (``> 0``).
    alpha : float
        Confidence slope (``>= 0``; 0 ignores the label and weighs every view alike).
    scaling : {"identity", "log1p"}
        ``f`` applied to the (summed) label before ``alpha``.
    seed : int
        Seed of the item-factor initialisation.
    history_weight : float
        Session fold-in (``recommend_session``): the user's ``x_u`` is re-solved by the paper's
        confidence-weighted user step over the training views plus the history, each history view a
        cell with preference 1 and confidence ``1 + alpha f(watch ratio)`` (a full play when the
        ratio is unknown) times its recency weight (newest most), the block scaled to at least
        ``history_weight`` times the training views' count. A skip is negative evidence: preference
        0 with the same extra confidence (at least 1). The training block enters through its normal
        matrix, each training view at the user's mean training confidence (kept from the fit).

    Stability: provisional.
    """

    name = "ials"

    user_factors_: NDArray[np.float32]
    item_factors_: NDArray[np.float32]
    #: Mean ``c - 1`` over each user's training views (the fold-in's training block).
    user_confidence_: NDArray[np.float32]

    def __init__(
        self,
        embedding_size: int = 64,
        epochs: int = 10,
        reg: float = 1.0,
        alpha: float = 1.0,
        scaling: Scaling = "identity",
        seed: int = 0,
        history_weight: float = DEFAULT_HISTORY_WEIGHT,
    ) -> None:
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.reg = reg
        self.alpha = alpha
        self.scaling = scaling
        self.seed = seed
        self.history_weight = history_weight

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 8, "epochs": 4}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {
            "embedding_size": IntRange(16, 96, log=True),
            "reg": LogUniform(1e-2, 1e3),
            "alpha": LogUniform(0.1, 100.0),
            "epochs": IntRange(3, 15),
        }

    def _check_params(self) -> None:
        for name in ("embedding_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}={value!r}, must be an integer >= 1")
        if not np.isfinite(self.reg) or self.reg <= 0:
            raise ValueError(f"reg={self.reg!r}, must be a finite number > 0")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha={self.alpha!r}, must be a finite number >= 0")
        if self.scaling not in ("identity", "log1p"):
            raise ValueError(f"scaling={self.scaling!r}, must be 'identity' or 'log1p'")
        check_history_weight(self.history_weight)

    def _fit(self, dataset: Dataset) -> None:
        self._check_params()
        extra = confidence_matrix(dataset, float(self.alpha), self.scaling)
        x, y = implicit_als(
            extra, int(self.embedding_size), float(self.reg), int(self.epochs), np.random.default_rng(self.seed)
        )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError(f"iALS diverged: factors hold NaN or inf; increase reg (now {self.reg})")
        self.user_factors_, self.item_factors_ = x, y
        counts = np.diff(extra.indptr)
        sums = np.bincount(np.repeat(np.arange(len(counts)), counts), weights=extra.data, minlength=len(counts))
        self.user_confidence_ = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0).astype(np.float32)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self.user_factors_[users] @ self.item_factors_.T

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        self._check_scoring(scoring)
        y = self.item_factors_
        base = y.T.astype(np.float64) @ y.astype(np.float64) + self.reg * np.eye(y.shape[1])
        weights = view_weights(users, histories, self.seen_, float(self.history_weight))
        out = np.empty((len(users), self.n_items), np.float32)
        for r, (u, h, w) in enumerate(zip(users, histories, weights, strict=True)):
            precision, anchor = base, np.zeros(y.shape[1])
            if u >= 0:
                seen = y[self.seen_.indices[self.seen_.indptr[u] : self.seen_.indptr[u + 1]]].astype(np.float64)
                precision = base + float(self.user_confidence_[u]) * (seen.T @ seen)
                anchor = self.user_factors_[u].astype(np.float64)
            extra = self._history_confidence(h)
            gram_w = w * extra
            rhs_w = np.where(h.skipped, 0.0, w * (1.0 + extra))
            out[r] = y @ ridge_fold(precision, anchor, y[h.items], gram_w, rhs_w).astype(np.float32)
        return out

    def _history_confidence(self, history: History) -> NDArray[np.float64]:
        """``c - 1`` of each history view (a full play when the ratio is unknown); skips at least 1."""
        label = np.nan_to_num(history.watch_ratio.astype(np.float64), nan=1.0)
        label = np.maximum(label, 0.0)
        strength = np.log1p(label) if self.scaling == "log1p" else label
        skip = max(float(self.alpha) * (np.log(2.0) if self.scaling == "log1p" else 1.0), 1.0)
        return np.where(history.skipped, skip, float(self.alpha) * strength)

    def item_embeddings(self) -> NDArray[np.float32]:
        """Item factors ``y_i``, shape (n_items, embedding_size); do not modify."""
        self._check_fitted()
        return self.item_factors_

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "user_confidence": self.user_confidence_,
        }
        return tensors, {}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.user_factors_ = np.asarray(tensors["user_factors"], np.float32)
        self.item_factors_ = np.asarray(tensors["item_factors"], np.float32)
        # Artifacts saved before sessions existed lack it: every view then counts as a full play.
        full_play = float(self.alpha) * (np.log(2.0) if self.scaling == "log1p" else 1.0)
        default = np.full(len(self.user_factors_), full_play, np.float32)
        self.user_confidence_ = np.asarray(tensors.get("user_confidence", default), np.float32)
