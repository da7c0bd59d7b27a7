"""Item-based k-nearest neighbours: cosine similarity on the binary matrix, top neighbours kept sparse."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._ease import item_gram
from reelrec.models._fold import DEFAULT_HISTORY_WEIGHT, check_history_weight
from reelrec.models._item_item import ItemItemRecommender
from reelrec.models._space import Distribution, IntRange, Uniform

# Cells of one dense (n_items x chunk) similarity block.
_BLOCK_CELLS = 2**24


class ItemKNN(ItemItemRecommender):
    """Score an item by the summed similarity of its nearest neighbours that the user has seen.

    ``sim(i, j) = |U_i & U_j| / (sqrt(|U_i|) sqrt(|U_j|) + shrinkage)`` (cosine on the binary
    user-item matrix, optionally shrunk so pairs with little co-occurrence count less). For every
    target item only its ``neighbours`` most similar items are kept, so the model is a sparse
    ``S`` (column ``i`` holds item ``i``'s neighbours) and ``scores = X_u @ S``. Labels are ignored.

    Parameters
    ----------
    neighbours : int
        Neighbours kept per item (``>= 1``).
    shrinkage : float
        Added to the cosine denominator (``>= 0``; 0 is plain cosine).
    history_weight : float
        Weight of a session history against the training row (``recommend_session``): the
        recency-weighted history vector (newest views count most) is scaled to at least this share
        of the training row's mass; skipped videos subtract a quarter of a view's weight.

    Stability: stable.
    """

    name = "itemknn"

    similarity_: sp.csr_matrix

    def __init__(
        self, neighbours: int = 100, shrinkage: float = 0.0, history_weight: float = DEFAULT_HISTORY_WEIGHT
    ) -> None:
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.history_weight = history_weight

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {"neighbours": IntRange(5, 1000, log=True), "shrinkage": Uniform(0.0, 100.0)}

    def _fit(self, dataset: Dataset) -> None:
        if not isinstance(self.neighbours, int | np.integer) or self.neighbours < 1:
            raise ValueError(f"neighbours={self.neighbours!r}, must be an integer >= 1")
        if not np.isfinite(self.shrinkage) or self.shrinkage < 0:
            raise ValueError(f"shrinkage={self.shrinkage!r}, must be a finite number >= 0")
        check_history_weight(self.history_weight)
        seen = self.seen_
        n = seen.shape[1]
        norms = np.sqrt(self.item_popularity_.astype(np.float64))
        keep = min(int(self.neighbours), max(1, n - 1))
        step = max(1, _BLOCK_CELLS // max(1, n))
        rows, cols, vals = [], [], []
        for lo in range(0, n, step):
            targets = np.arange(lo, min(n, lo + step), dtype=np.int32)
            co = item_gram(seen, targets)
            denom = norms[:, None] * norms[None, targets] + self.shrinkage
            with np.errstate(invalid="ignore", divide="ignore"):
                sim = np.where(denom > 0, co / denom, 0.0).astype(np.float32)
            sim[targets, np.arange(len(targets))] = 0.0  # an item is not its own neighbour
            top = torch.topk(torch.from_numpy(np.ascontiguousarray(sim.T)), keep, dim=1)
            val, idx = top.values.numpy(), top.indices.numpy()
            pos = val > 0
            rows.append(idx[pos].astype(np.int32))
            cols.append(np.broadcast_to(targets[:, None], idx.shape)[pos])
            vals.append(val[pos])
        sim_mat = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32
        )
        sim_mat.sort_indices()
        self.similarity_ = sim_mat

    def _item_product(self, rows: sp.csr_matrix) -> NDArray[np.float32]:
        return np.asarray((rows @ self.similarity_).toarray(), dtype=np.float32)

    def _similar(self, items: NDArray[np.int32]) -> NDArray[np.float32]:
        # Column i of S lists item i's neighbours; other items are not similar at all (NaN hides them).
        out = self.similarity_[:, items].T.toarray().astype(np.float32)
        out[out == 0] = np.nan
        return out

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        s = self.similarity_
        return {
            "sim_indptr": s.indptr.astype(np.int64),
            "sim_indices": s.indices.astype(np.int32),
            "sim_data": s.data.astype(np.float32),
        }, {}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        n = len(self.items_)
        self.similarity_ = sp.csr_matrix(
            (tensors["sim_data"], tensors["sim_indices"], tensors["sim_indptr"]), shape=(n, n)
        )
