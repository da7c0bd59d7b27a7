"""Biased matrix factorisation regressing the label, fitted by batched alternating least squares."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.errors import DataError
from reelrec.models._base import Recommender
from reelrec.models._fold import DEFAULT_HISTORY_WEIGHT, check_history_weight, ridge_fold, view_weights
from reelrec.models._history import History
from reelrec.models._item_mean import pair_means
from reelrec.models._ridge_rows import RowBatches, row_batches, solve_rows
from reelrec.models._space import Distribution, IntRange, LogUniform

__all__ = ["BiasedMF", "FactorCollapseWarning", "RowBatches", "biased_als", "row_batches", "solve_rows"]

Transform = Literal["auto", "none", "log1p"]


class FactorCollapseWarning(UserWarning):
    """ALS converged to (almost) zero latent factors: ``reg`` is too strong for the data."""


def biased_als(
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    y: NDArray[np.float32],
    n_users: int,
    n_items: int,
    k: int,
    reg: float,
    sweeps: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Alternating ridge solves of ``y ~ <p_u, q_i> + b_u + c_i``: user factors, user biases, item
    factors, item biases.

    ``user``/``item`` are pairs sorted by user (the user-side CSR is the pair order itself); ``reg`` is
    the L2 penalty on factors and biases; item factors start small and random from ``rng``.
    """
    u_indptr = np.zeros(n_users + 1, np.int64)
    np.cumsum(np.bincount(user, minlength=n_users), out=u_indptr[1:])
    by_item = np.argsort(item, kind="stable")
    i_indptr = np.zeros(n_items + 1, np.int64)
    np.cumsum(np.bincount(item, minlength=n_items), out=i_indptr[1:])
    i_cols, i_y = user[by_item], y[by_item]
    q = (rng.standard_normal((n_items, k)) * 0.1).astype(np.float32)
    c = np.zeros(n_items, np.float32)
    p, b = np.zeros((n_users, k), np.float32), np.zeros(n_users, np.float32)
    ones_i = np.ones((n_items, 1), np.float32)
    ones_u = np.ones((n_users, 1), np.float32)
    u_batches = row_batches(u_indptr, item, n_items, k + 1)
    i_batches = row_batches(i_indptr, i_cols, n_users, k + 1)
    for _ in range(sweeps):
        w = solve_rows(u_indptr, item, y - c[item], np.hstack([q, ones_i]), reg, batches=u_batches)
        p, b = w[:, :k], w[:, k]
        w = solve_rows(i_indptr, i_cols, i_y - b[i_cols], np.hstack([p, ones_u]), reg, batches=i_batches)
        q, c = w[:, :k], w[:, k]
    return p, b, q, c


class BiasedMF(Recommender):
    """Biased matrix factorisation of the label (watch ratio, rating), fitted by ALS.

    ``f(label) ~ mu + b_u + c_i + p_u . q_i`` with ``f`` the chosen transform, fitted by alternating
    least squares with an L2 penalty ``reg`` on factors and biases alike. The biases live inside ALS:
    when solving users, every item vector is augmented with a constant ``1`` (whose coefficient is the
    user bias) and the item bias is moved to the target; items are solved symmetrically. Each half
    sweep is a batch of small ridge regressions solved together (:func:`solve_rows`), so a sweep over
    full KuaiRec (10 M pairs) takes seconds, not minutes, on two CPU cores.

    Repeat views of a (user, video) pair are averaged into one observation before fitting. Predictions
    and ranking scores are in label units (the transform is undone). Regression ranks poorly on sparse
    catalogues (MovieLens: NDCG@10 about 0.12), because unobserved cells are never trained; it is the
    right baseline for fully observed data such as KuaiRec's small matrix.

    Parameters
    ----------
    embedding_size : int
        Latent dimension ``d``.
    epochs : int
        ALS sweeps (users then items).
    reg : float
        L2 penalty (``> 0``), absolute rather than scaled by activity; for the biases it acts as a
        pseudo-count pulling them to zero. The default suits MovieLens ratings and KuaiRec-sized
        logs; on small data or small label scales it can shrink every factor to zero, which the fit
        reports with a :class:`FactorCollapseWarning` (lower ``reg`` then, e.g. to 1).
    transform : {"auto", "none", "log1p"}
        Label transform before fitting; ``"auto"`` picks ``log1p`` for ``watch_ratio`` labels (heavy
        right tail) and ``"none"`` otherwise.
    seed : int
        Seed of the item-factor initialisation.
    history_weight : float
        Session fold-in (``recommend_session``): the user's ``(p_u, b_u)`` is re-solved by the same
        ridge regression as ALS's user step, over the training views plus the history views with
        their watch ratios as labels, each history view weighted by recency (newest most) and the
        block scaled to at least ``history_weight`` times the training views' count. A skip without a
        watch ratio is the label 0 (swiped away at once: a low label, not left out); a view without
        one is a complete play (1.0) on watch-ratio models, the global mean otherwise. A new user
        is solved from the history alone.

    Stability: stable.
    """

    name = "mf"
    regresses = True

    user_factors_: NDArray[np.float32]
    item_factors_: NDArray[np.float32]
    user_bias_: NDArray[np.float32]
    item_bias_: NDArray[np.float32]
    global_mean_: float
    transform_: Literal["none", "log1p"]

    def __init__(
        self,
        embedding_size: int = 32,
        epochs: int = 10,
        reg: float = 10.0,
        transform: Transform = "auto",
        seed: int = 0,
        history_weight: float = DEFAULT_HISTORY_WEIGHT,
    ) -> None:
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.reg = reg
        self.transform = transform
        self.seed = seed
        self.history_weight = history_weight

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 8, "epochs": 4, "reg": 1.0}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {
            "embedding_size": IntRange(8, 64, log=True),
            "reg": LogUniform(0.1, 100.0),
            "epochs": IntRange(3, 20),
        }

    def _check_params(self) -> None:
        if not isinstance(self.embedding_size, int | np.integer) or self.embedding_size < 1:
            raise ValueError(f"embedding_size={self.embedding_size!r}, must be an integer >= 1")
        if not isinstance(self.epochs, int | np.integer) or self.epochs < 1:
            raise ValueError(f"epochs={self.epochs!r}, must be an integer >= 1")
        if not np.isfinite(self.reg) or self.reg <= 0:
            raise ValueError(f"reg={self.reg!r}, must be a finite number > 0")
        if self.transform not in ("auto", "none", "log1p"):
            raise ValueError(f"transform={self.transform!r}, must be one of 'auto', 'none', 'log1p'")
        check_history_weight(self.history_weight)

    def _fit(self, dataset: Dataset) -> None:
        self._check_params()
        self.transform_ = (
            ("log1p" if dataset.label_name == "watch_ratio" else "none") if self.transform == "auto" else self.transform
        )
        user, item, label = pair_means(dataset.interactions, dataset.n_items)
        if self.transform_ == "log1p":
            if (label <= -1).any():
                # Name a raw row (not a pair) so the user can find it in the input.
                row = int(np.flatnonzero(dataset.interactions.label <= -1)[0])
                raise DataError(
                    f"interactions.label row {row} is {dataset.interactions.label[row]!r}; transform='log1p' "
                    "needs labels > -1 (use transform='none')"
                )
            y = np.log1p(label.astype(np.float64))
        else:
            y = label.astype(np.float64)
        self.global_mean_ = float(y.mean())
        y = (y - self.global_mean_).astype(np.float32)

        rng = np.random.default_rng(self.seed)
        p, b, q, c = biased_als(
            user, item, y, dataset.n_users, dataset.n_items, int(self.embedding_size), self.reg, int(self.epochs), rng
        )
        self.user_factors_ = np.ascontiguousarray(p)
        self.user_bias_ = np.ascontiguousarray(b)
        self.item_factors_ = np.ascontiguousarray(q)
        self.item_bias_ = np.ascontiguousarray(c)
        for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"ALS diverged: {name} holds NaN or inf; increase reg (now {self.reg})")
        self._warn_if_collapsed(user, item, y)

    def _warn_if_collapsed(self, user: NDArray[np.int32], item: NDArray[np.int32], y: NDArray[np.float32]) -> None:
        """Warn when the L2 penalty has shrunk every latent factor to (almost) zero.

        ``reg`` is an absolute penalty: when the data are small or the label's scale is small
        (log watch ratio), it can beat the signal and ALS converges to the biases-only model.
        """
        take = np.random.default_rng(0).choice(len(y), size=min(len(y), 100_000), replace=False)
        latent = np.einsum("nd,nd->n", self.user_factors_[user[take]], self.item_factors_[item[take]])
        spread = float(np.std(y[take]))
        if spread > 0 and float(np.sqrt(np.mean(latent.astype(np.float64) ** 2))) < 1e-2 * spread:
            warnings.warn(
                f"BiasedMF: reg={self.reg} shrank the latent factors to almost zero, so the model is "
                "global mean + biases only; lower reg for data this small or this weakly scaled",
                FactorCollapseWarning,
                stacklevel=4,
            )

    def _to_label(self, z: NDArray[np.float32]) -> NDArray[np.float32]:
        """Undo the fitting transform (in place where possible)."""
        z += np.float32(self.global_mean_)
        if self.transform_ == "log1p":
            np.expm1(z, out=z)
        return z

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        z = self.user_factors_[users] @ self.item_factors_.T
        z += self.user_bias_[users, None]
        z += self.item_bias_[None, :]
        return self._to_label(z)

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        # A user the model never saw has zero factors and bias: the prior mean plus the item bias.
        z = np.broadcast_to(self.item_bias_, (len(user_features), self.n_items)).copy()
        return self._to_label(z)

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        z = np.einsum("nd,nd->n", self.user_factors_[users], self.item_factors_[items])
        z += self.user_bias_[users] + self.item_bias_[items]
        return self._to_label(z.astype(np.float32))

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        self._check_scoring(scoring)
        weights = view_weights(users, histories, self.seen_, float(self.history_weight))
        out = np.empty((len(users), self.n_items), np.float32)
        for r, (u, h, w) in enumerate(zip(users, histories, weights, strict=True)):
            z = self.fold_in(h.items, self._history_labels(h), w, user=int(u)).astype(np.float32)
            out[r] = self._to_label(self.item_factors_ @ z[:-1] + (z[-1] + self.item_bias_))
        return out

    def _history_labels(self, history: History) -> NDArray[np.float64]:
        """History labels in label units: a skip without a watch ratio is 0, a plain view a full play."""
        label = history.watch_ratio.astype(np.float64)
        unknown = np.isnan(label)
        plain = self.global_mean_ if self.transform_ == "none" else 1.0
        label[unknown] = np.where(history.skipped[unknown], 0.0, plain)
        return label

    def fold_in(
        self,
        items: NDArray[np.int32],
        labels: NDArray[np.float64],
        weights: NDArray[np.float32] | None = None,
        user: int = -1,
    ) -> NDArray[np.float64]:
        """A user's ``(p_u, b_u)`` (shape ``(embedding_size + 1,)``) refitted with extra labelled views.

        The ALS user step again, item side fixed: the training views of ``user`` (none for ``-1``)
        plus ``items`` with ``labels`` (label units) and ``weights`` (default 1). With no extra
        views it returns the trained vector; folding a user's training views into a new user gives
        back (about) the trained vector.
        """
        self._check_fitted()
        k = self.item_factors_.shape[1]
        precision = self.reg * np.eye(k + 1)
        anchor = np.zeros(k + 1)
        if user >= 0:
            seen = self.seen_.indices[self.seen_.indptr[user] : self.seen_.indptr[user + 1]]
            train = np.hstack([self.item_factors_[seen], np.ones((len(seen), 1), np.float32)]).astype(np.float64)
            precision += train.T @ train
            anchor = np.append(self.user_factors_[user], self.user_bias_[user]).astype(np.float64)
        y = np.log1p(np.maximum(labels, 0.0)) if self.transform_ == "log1p" else np.asarray(labels, np.float64)
        y = y - self.global_mean_ - self.item_bias_[items]
        w = np.ones(len(items)) if weights is None else np.asarray(weights, np.float64)
        rows = np.hstack([self.item_factors_[items], np.ones((len(items), 1), np.float32)])
        return ridge_fold(precision, anchor, rows, w, w * y)

    def item_embeddings(self) -> NDArray[np.float32]:
        """Item factors ``q_i``, shape (n_items, embedding_size); do not modify."""
        self._check_fitted()
        return self.item_factors_

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
        }
        return tensors, {"global_mean": self.global_mean_, "transform": self.transform_}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.user_factors_ = np.asarray(tensors["user_factors"], np.float32)
        self.item_factors_ = np.asarray(tensors["item_factors"], np.float32)
        self.user_bias_ = np.asarray(tensors["user_bias"], np.float32)
        self.item_bias_ = np.asarray(tensors["item_bias"], np.float32)
        self.global_mean_ = float(extra["global_mean"])
        self.transform_ = extra["transform"]
