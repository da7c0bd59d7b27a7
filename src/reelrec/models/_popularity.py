"""Popularity: rank videos by how many distinct users viewed them in training."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._base import Recommender


class Popularity(Recommender):
    """Non-personalised baseline: the same ranking for everyone (seen items still excluded).

    Session histories are ignored (the base default): only their videos are left out of the ranking.
    """

    name = "popularity"
    supports_cold_start = True

    def __init__(self) -> None:
        pass

    def _fit(self, dataset: Dataset) -> None:
        # `item_popularity_` (distinct viewers per item) is computed by the base class.
        pass

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items)).copy()
