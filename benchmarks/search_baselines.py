"""Baselines and search spaces of the default-model search: an iALS reference and each model's trial grid.

iALS (Hu, Koren & Volinsky, ICDM 2008) lives here, not in the registry, until the evaluation work
adds its own; it is a plain exact-solve implementation (one ridge system per user and per item),
fine for the benchmark's data sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models import Recommender, create_model
from reelrec.models._hybrid_parts import detect_label_kind


def _half_sweep(
    conf: sp.csr_matrix, fixed: NDArray[np.float64], reg: float
) -> NDArray[np.float64]:
    """Solve every row's ``(F'F + F_u'(C_u - 1)F_u + reg I) x = F_u' C_u 1`` (implicit ALS)."""
    k = fixed.shape[1]
    base = fixed.T @ fixed + reg * np.eye(k)
    out = np.zeros((conf.shape[0], k))
    for r in range(conf.shape[0]):
        lo, hi = conf.indptr[r], conf.indptr[r + 1]
        if lo == hi:
            continue
        f = fixed[conf.indices[lo:hi]]
        c = conf.data[lo:hi]
        out[r] = np.linalg.solve(base + (f.T * (c - 1.0)) @ f, f.T @ c)
    return out


class IALS(Recommender):
    """Confidence-weighted implicit ALS: ``c_ui = 1 + alpha * v_ui``, ``v = log1p(count)`` for counts, else 1."""

    name = "ials"

    def __init__(
        self, factors: int = 64, reg: float = 1.0, alpha: float = 10.0, epochs: int = 10, seed: int = 0
    ) -> None:
        self.factors = factors
        self.reg = reg
        self.alpha = alpha
        self.epochs = epochs
        self.seed = seed

    def _fit(self, dataset: Dataset) -> None:
        inter = dataset.interactions
        shape = (dataset.n_users, dataset.n_items)
        if detect_label_kind(dataset) == "count":
            value = inter.to_csr(*shape, values="label", duplicates="sum")
            value.data = np.log1p(value.data)
        else:
            value = self.seen_.copy()
        conf = value.astype(np.float64)
        conf.data = 1.0 + self.alpha * conf.data
        conf_t = conf.T.tocsr()
        rng = np.random.default_rng(self.seed)
        q = rng.standard_normal((shape[1], self.factors)) * 0.01
        for _ in range(self.epochs):
            p = _half_sweep(conf, q, self.reg)
            q = _half_sweep(conf_t, p, self.reg)
        self.user_factors_, self.item_factors_ = p.astype(np.float32), q.astype(np.float32)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self.user_factors_[users] @ self.item_factors_.T

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}, {}


def _grid(**axes: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{}]
    for name, values in axes.items():
        out = [{**row, name: v} for row in out for v in values]
    return out


#: Each baseline's declared trial grid: every model gets the same number of trials from its own grid.
SPACES: dict[str, list[dict[str, Any]]] = {
    "ease": _grid(reg=[25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]),
    "itemknn": _grid(neighbours=[20, 50, 100, 200], shrinkage=[0.0, 50.0]),
    "mf": _grid(embedding_size=[16, 32], reg=[2.5, 5.0, 10.0, 20.0]),
    "ials": _grid(factors=[32, 64], reg=[0.1, 1.0], alpha=[2.0, 10.0]),
    "item-mean": _grid(shrinkage=[0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]),
    "popularity": [{}],
    # The candidate default takes no external trials: its automatic choices happen inside fit.
    "hybrid": [{}],
}


def trials(name: str, budget: int) -> list[dict[str, Any]]:
    """``budget`` configurations spread evenly over the model's grid (all of it when smaller)."""
    space = SPACES[name]
    if len(space) <= budget:
        return space
    picks = np.unique(np.linspace(0, len(space) - 1, budget).round().astype(int))
    return [space[i] for i in picks]


def build(name: str, params: dict[str, Any]) -> Recommender:
    """A model by name (the iALS reference included) with the given hyperparameters."""
    return IALS(**params) if name == "ials" else create_model(name, **params)
