"""Models that score a user as a row of views times an item-item matrix (EASE, ItemKNN).

One product serves the training rows and a session's history rows alike, so the two scoring paths
cannot drift apart.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.models._base import Recommender
from reelrec.models._fold import history_rows
from reelrec.models._history import History


class ItemItemRecommender(Recommender):
    """Scores ``rows @ M`` for an item-item matrix ``M``; a session history is folded into the rows."""

    history_weight: float

    @abstractmethod
    def _item_product(self, rows: sp.csr_matrix) -> NDArray[np.float32]:
        """Scores of the users whose (weighted) views ``rows`` holds, over the catalogue."""

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._item_product(self.seen_[users])

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        self._check_scoring(scoring)
        return self._item_product(history_rows(users, histories, self.seen_, float(self.history_weight)))
