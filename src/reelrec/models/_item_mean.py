"""Item mean: each video's average label shrunk towards the global mean, the simplest regressor."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable, Interactions
from reelrec.errors import DataError
from reelrec.models._base import Recommender
from reelrec.models._space import Distribution, Uniform


def pair_means(inter: Interactions, n_items: int) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]:
    """Mean label of every distinct (user, item) pair, sorted by user then item.

    KuaiRec logs repeat views of a pair as separate rows; regressing models average them first so
    that a heavy re-watcher counts as one opinion, not many.

    Parameters
    ----------
    inter : Interactions
        The training log (index space).
    n_items : int
        Catalogue size, to build one int64 key per pair.

    Returns
    -------
    user, item : ndarray of int32, shape (n_pairs,)
    label : ndarray of float32, shape (n_pairs,)
        Mean label of the pair's views (averaged in float64).

    Raises
    ------
    DataError
        If a label is NaN or infinite (names the first offending row).
    """
    bad = ~np.isfinite(inter.label)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"interactions.label row {row} is {inter.label[row]!r}; {int(bad.sum())} labels are not finite "
            "(expected a finite number for every view)"
        )
    key = inter.user.astype(np.int64) * n_items + inter.item
    uniq, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=inter.label.astype(np.float64), minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    user = (uniq // n_items).astype(np.int32)
    item = (uniq % n_items).astype(np.int32)
    return user, item, (sums / counts).astype(np.float32)


class ItemMean(Recommender):
    """Non-personalised regressor: a video's mean label, shrunk to the global mean.

    ``prediction(i) = (sum_i + shrinkage * global_mean) / (count_i + shrinkage)`` over the distinct
    (user, video) pairs of the video, each pair's repeat views averaged first. ``shrinkage`` is a
    pseudo-count: a video seen by few users stays close to the global mean, so one lucky view does not
    send it to the top of every list. Every user (cold users included) gets the same ranking.
    Session histories are ignored (the base default): only their videos are left out of the ranking.

    Parameters
    ----------
    shrinkage : float
        Pseudo-count of global-mean observations added to every video (``>= 0``).

    Stability: stable.
    """

    name = "item-mean"
    regresses = True
    supports_cold_start = True

    global_mean_: float
    item_mean_: NDArray[np.float32]

    def __init__(self, shrinkage: float = 10.0) -> None:
        self.shrinkage = shrinkage

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        return {"shrinkage": Uniform(0.0, 100.0)}

    def _fit(self, dataset: Dataset) -> None:
        if not np.isfinite(self.shrinkage) or self.shrinkage < 0:
            raise ValueError(f"shrinkage={self.shrinkage!r}, must be a finite number >= 0")
        _, item, label = pair_means(dataset.interactions, dataset.n_items)
        n = dataset.n_items
        sums = np.bincount(item, weights=label.astype(np.float64), minlength=n)
        counts = np.bincount(item, minlength=n).astype(np.float64)
        self.global_mean_ = float(label.astype(np.float64).mean())
        denom = counts + self.shrinkage
        # An item with no pairs and no shrinkage has no evidence at all: fall back to the global mean.
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(denom > 0, (sums + self.shrinkage * self.global_mean_) / denom, self.global_mean_)
        self.item_mean_ = mean.astype(np.float32)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return np.broadcast_to(self.item_mean_, (len(users), self.n_items)).copy()

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        return np.broadcast_to(self.item_mean_, (len(user_features), self.n_items)).copy()

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        return self.item_mean_[items]

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        return {"item_mean": self.item_mean_}, {"global_mean": self.global_mean_}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.item_mean_ = np.asarray(tensors["item_mean"], dtype=np.float32)
        self.global_mean_ = float(extra["global_mean"])
