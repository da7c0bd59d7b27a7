"""Small real recommenders for evaluation tests: a perfect ranker, its mirror image, a regressor."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.data import Dataset, Interactions
from reelrec.models._base import Recommender
from reelrec.models._popularity import Popularity


class Oracle(Recommender):
    """Knows the test: ranks each user's test items by their clipped label, everything else below.

    With ``sign=-1`` it ranks the test items last instead (every ranking metric should be 0).
    """

    name = "oracle"

    def __init__(self, test: Interactions | None = None, sign: float = 1.0) -> None:
        self.test = test
        self.sign = sign

    def _fit(self, dataset: Dataset) -> None:
        test = self.test
        gain = np.clip(test.label, 0.0, 5.0) + 1.0  # every test item above the untouched zeros
        self.table_ = Interactions.from_arrays(test.user, test.item, gain).to_csr(
            dataset.n_users, dataset.n_items, values="label", duplicates="max"
        )

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return (self.sign * self.table_[users].toarray()).astype(np.float32)


class CountingPopularity(Popularity):
    """Popularity that records which users went through which recommend path."""

    name = "popularity"

    def recommend_indices(self, users, k=10, exclude_seen=True, candidates=None, exclude=None):
        self.__dict__.setdefault("warm_calls", []).append(np.asarray(users).copy())
        return super().recommend_indices(users, k, exclude_seen, candidates, exclude)

    def recommend_cold(self, user_features, k=10, candidates=None, exclude=None):
        self.__dict__.setdefault("cold_calls", []).append(len(user_features))
        return super().recommend_cold(user_features, k, candidates, exclude)


class UserMean(Recommender):
    """Predicts each user's mean training label; ranks by popularity. ``nan_every`` poisons predictions."""

    name = "user-mean"
    regresses = True

    def __init__(self, nan_every: int = 0) -> None:
        self.nan_every = nan_every

    def _fit(self, dataset: Dataset) -> None:
        inter = dataset.interactions
        counts = np.bincount(inter.user, minlength=dataset.n_users)
        sums = np.bincount(inter.user, weights=inter.label, minlength=dataset.n_users)
        overall = float(inter.label.mean())
        self.mean_ = np.where(counts > 0, sums / np.maximum(counts, 1), overall).astype(np.float32)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items)).copy()

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        out = self.mean_[users].copy()
        if self.nan_every:
            out[:: self.nan_every] = np.nan
        return out
