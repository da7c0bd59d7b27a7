"""BPR: matrix factorisation trained to rank a viewed video above an unviewed one (Rendle et al., 2009)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.models._base import Recommender
from reelrec.models._fold import BPR_HISTORY_WEIGHT, SKIP_WEIGHT, check_history_weight
from reelrec.models._history import History
from reelrec.models._space import Distribution, IntRange, LogUniform

# Gradient-ascent steps of the session fold-in.
_FOLD_STEPS = 20

# Redraws of a negative that turned out to be one of the user's own videos; the rare survivors stay.
_RESAMPLE_ROUNDS = 10


def sample_negatives(
    seen: sp.csr_matrix, users: NDArray[np.int32], rng: np.random.Generator
) -> NDArray[np.int32]:
    """One video per user drawn uniformly from the catalogue, redrawn while the user has viewed it.

    Parameters
    ----------
    seen : scipy.sparse.csr_matrix, shape (n_users, n_items)
        Viewed cells, sorted indices.
    users : ndarray of int32, shape (n,)

    Returns
    -------
    ndarray of int32, shape (n,)
    """
    n_items = seen.shape[1]
    keys = np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr)) * n_items + seen.indices
    neg = rng.integers(0, n_items, len(users)).astype(np.int32)
    todo = np.arange(len(users))
    for _ in range(_RESAMPLE_ROUNDS):
        key = users[todo].astype(np.int64) * n_items + neg[todo]
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        todo = todo[keys[pos] == key]
        if len(todo) == 0:
            break
        neg[todo] = rng.integers(0, n_items, len(todo))
    return neg


def _sgd_step(
    user_f: NDArray[np.float32],
    item_f: NDArray[np.float32],
    item_b: NDArray[np.float32],
    u: NDArray[np.int32],
    i: NDArray[np.int32],
    j: NDArray[np.int32],
    lr: np.float32,
    reg: np.float32,
) -> None:
    """One ascent step on ``log sigmoid(s_ui - s_uj) - reg |rows|^2`` for a batch, in place.

    Per-triple gradients are summed into the rows they touch (torch's ``index_add_`` on the numpy
    buffers: 30x faster than ``np.add.at`` and, on CPU, adds repeats in a fixed order); untouched rows
    cost nothing, unlike a dense optimiser state.
    """
    xu, yi, yj = user_f[u], item_f[i], item_f[j]
    margin = np.einsum("nd,nd->n", xu, yi - yj) + item_b[i] - item_b[j]
    g = (0.5 * (1.0 - np.tanh(0.5 * margin))).astype(np.float32)  # sigmoid(-margin), overflow-free
    ut, it, jt = (torch.from_numpy(a.astype(np.int64)) for a in (u, i, j))
    users, items, bias = torch.from_numpy(user_f), torch.from_numpy(item_f), torch.from_numpy(item_b)
    users.index_add_(0, ut, torch.from_numpy(lr * (g[:, None] * (yi - yj) - reg * xu)))
    items.index_add_(0, it, torch.from_numpy(lr * (g[:, None] * xu - reg * yi)))
    items.index_add_(0, jt, torch.from_numpy(lr * (-g[:, None] * xu - reg * yj)))
    bias.index_add_(0, it, torch.from_numpy(lr * (g - reg * item_b[i])))
    bias.index_add_(0, jt, torch.from_numpy(lr * (-g - reg * item_b[j])))


class BPR(Recommender):
    """Bayesian personalised ranking: ``x_u . y_i + b_i`` trained so viewed videos outrank unviewed ones.

    Each step takes a batch of viewed (user, video) pairs, draws one unviewed video per pair uniformly
    from the catalogue, and minimises ``-log sigmoid(s_ui - s_uj)`` plus an L2 penalty ``reg`` on the
    rows used, by stochastic gradient descent summed over the batch (S. Rendle et al., "BPR: Bayesian
    Personalized Ranking from Implicit Feedback", UAI 2009). Labels are ignored: a view is a view.
    Scores rank; ``predict`` is not supported, like EASE and ItemKNN.

    Parameters
    ----------
    embedding_size : int
        Latent dimension.
    epochs : int
        Passes over the viewed pairs.
    learning_rate : float
        SGD step size.
    reg : float
        L2 penalty per sampled row (``>= 0``).
    batch_size : int
        Pairs per step.
    seed : int
        Initialisation, pair order and negative draws.
    history_weight : float
        Session fold-in (``recommend_session``): starting from the trained ``x_u`` (0 for a new
        user), a few full-gradient ascent steps on ``history_weight * H(x) - m/2 |x - x_u|^2``,
        item side fixed. ``H`` is the BPR log-likelihood of each history view outranking the whole
        catalogue (the expectation over every negative, so no sampling), averaged with recency
        weights (newest most); a skipped view enters reversed at a quarter weight. ``m`` is the
        curvature of BPR's log-likelihood at zero margin per direction (``E|y_i - y_j|^2 / 4k``),
        standing in for the training block's, so the balance does not depend on the factors' scale.

    Stability: provisional.
    """

    name = "bpr"

    user_factors_: NDArray[np.float32]
    item_factors_: NDArray[np.float32]
    item_bias_: NDArray[np.float32]

    def __init__(
        self,
        embedding_size: int = 64,
        epochs: int = 30,
        learning_rate: float = 0.05,
        reg: float = 0.01,
        batch_size: int = 1024,
        seed: int = 0,
        history_weight: float = BPR_HISTORY_WEIGHT,
    ) -> None:
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.reg = reg
        self.batch_size = batch_size
        self.seed = seed
        self.history_weight = history_weight

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 8, "epochs": 3}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {
            "embedding_size": IntRange(16, 128, log=True),
            "learning_rate": LogUniform(0.005, 0.5),
            "reg": LogUniform(1e-4, 0.1),
            "epochs": IntRange(5, 60, log=True),
        }

    def _check_params(self) -> None:
        for name in ("embedding_size", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}={value!r}, must be an integer >= 1")
        if not np.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate={self.learning_rate!r}, must be a finite number > 0")
        if not np.isfinite(self.reg) or self.reg < 0:
            raise ValueError(f"reg={self.reg!r}, must be a finite number >= 0")
        check_history_weight(self.history_weight)

    def _fit(self, dataset: Dataset) -> None:
        self._check_params()
        seen = self.seen_.copy()
        seen.sort_indices()
        pos_user = np.repeat(np.arange(seen.shape[0], dtype=np.int32), np.diff(seen.indptr))
        pos_item = seen.indices.astype(np.int32)
        rng = np.random.default_rng(self.seed)
        k = int(self.embedding_size)
        user_f = (rng.standard_normal((seen.shape[0], k)) * 0.1).astype(np.float32)
        item_f = (rng.standard_normal((seen.shape[1], k)) * 0.1).astype(np.float32)
        item_b = np.zeros(seen.shape[1], np.float32)
        lr, reg, step = np.float32(self.learning_rate), np.float32(self.reg), int(self.batch_size)
        for _ in range(int(self.epochs)):
            order = rng.permutation(len(pos_user))
            users, items = pos_user[order], pos_item[order]
            negs = sample_negatives(seen, users, rng)
            for lo in range(0, len(order), step):
                u, i, j = users[lo : lo + step], items[lo : lo + step], negs[lo : lo + step]
                _sgd_step(user_f, item_f, item_b, u, i, j, lr, reg)
        self.user_factors_, self.item_factors_, self.item_bias_ = user_f, item_f, item_b
        if not all(np.isfinite(a).all() for a in (self.user_factors_, self.item_factors_, self.item_bias_)):
            raise ValueError(f"BPR diverged: factors hold NaN or inf; lower learning_rate (now {self.learning_rate})")

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        scores = self.user_factors_[users] @ self.item_factors_.T
        scores += self.item_bias_[None, :]
        return scores

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        self._check_scoring(scoring)
        y, b = self.item_factors_.astype(np.float64), self.item_bias_.astype(np.float64)
        sq = np.einsum("nd,nd->n", y, y)
        # The curvature of the BPR log-likelihood at zero margin, 0.25 E|y_i - y_j|^2, spread over
        # the k directions: what one (averaged) training block holds the user vector with at most.
        anchor_strength = max(0.5 * float(y.var(axis=0).sum()) / y.shape[1], 1e-12)
        out = np.empty((len(users), self.n_items), np.float32)
        for r, (u, h) in enumerate(zip(users, histories, strict=True)):
            x0 = self.user_factors_[u].astype(np.float64) if u >= 0 else np.zeros(y.shape[1])
            x = x0.copy()
            if len(h):
                rec = h.recency_weights().astype(np.float64)
                watched = rec[~h.skipped].sum() if (~h.skipped).any() else rec.sum()
                w = float(self.history_weight) * rec / watched
                w[h.skipped] *= SKIP_WEIGHT
                # The gradient of H is Lipschitz with constant <= max |y|^2 * sum(w): a safe step.
                step = 1.0 / (float(sq.max()) * float(w.sum()) + anchor_strength)
                for _ in range(_FOLD_STEPS):
                    x += step * (_history_gradient(x, y, b, h, w) - anchor_strength * (x - x0))
            out[r] = (y @ x + b).astype(np.float32)
        return out

    def item_embeddings(self) -> NDArray[np.float32]:
        """Item factors ``y_i``, shape (n_items, embedding_size); do not modify."""
        self._check_fitted()
        return self.item_factors_

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {"user_factors": self.user_factors_, "item_factors": self.item_factors_, "item_bias": self.item_bias_}
        return tensors, {}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.user_factors_ = np.asarray(tensors["user_factors"], np.float32)
        self.item_factors_ = np.asarray(tensors["item_factors"], np.float32)
        self.item_bias_ = np.asarray(tensors["item_bias"], np.float32)


def _history_gradient(
    x: NDArray[np.float64], y: NDArray[np.float64], b: NDArray[np.float64], history: History, w: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Gradient in ``x`` of ``sum_h w_h mean_j log sigmoid(+-(s_h - s_j))``, ``s = y x + b``.

    Watched views want ``s_h`` above every ``s_j`` (sign +), skips below (sign -).
    """
    s = y @ x + b
    margin = s[history.items, None] - s[None, :]
    sign = np.where(history.skipped, -1.0, 1.0)[:, None]
    # d/dm log sigmoid(sign * m) = sign * sigmoid(-sign * m), written overflow-free with tanh.
    coef = w[:, None] * sign * 0.5 * (1.0 - np.tanh(0.5 * sign * margin)) / y.shape[0]
    return np.asarray(coef.sum(axis=1) @ y[history.items] - coef.sum(axis=0) @ y, np.float64)
