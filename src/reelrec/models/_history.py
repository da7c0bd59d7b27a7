"""A user's recent views as a model input: the short-term history of the real-time feed.

The service, the CLI and the session protocol hand every model the same object; each model folds it
into its own user state (a least-squares solve, a history vector, a sequence input) in
``Recommender._score_sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Most views one request may carry (older views are the training data's job).
MAX_HISTORY = 1000
#: Views this many positions back weigh half as much as the newest one.
DEFAULT_HALF_LIFE = 20.0


@dataclass(frozen=True)
class History:
    """Recent views of one user, oldest first, as item indices of the fitted model.

    ``watch_ratio`` is ``NaN`` where the client did not say (read as a plain positive view);
    ``skipped`` marks impressions the user swiped away from (negative feedback, never positive).
    """

    items: NDArray[np.int32]
    watch_ratio: NDArray[np.float32]
    skipped: NDArray[np.bool_]
    timestamp: NDArray[np.float64] | None = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.items)
        if len(self.watch_ratio) != n or len(self.skipped) != n:
            raise ValueError("history items, watch_ratio and skipped must have the same length")
        if self.timestamp is not None and len(self.timestamp) != n:
            raise ValueError("history timestamp must have one value per view")
        if n > MAX_HISTORY:
            raise ValueError(f"a history holds at most {MAX_HISTORY} views, got {n}")

    @classmethod
    def of(
        cls,
        items: ArrayLike,
        watch_ratio: ArrayLike | None = None,
        skipped: ArrayLike | None = None,
        timestamp: ArrayLike | None = None,
    ) -> History:
        """Build from plain sequences; missing watch ratios are ``NaN``, missing skips ``False``."""
        it = np.atleast_1d(np.asarray(items, dtype=np.int32))
        wr = np.full(len(it), np.nan, np.float32) if watch_ratio is None else np.asarray(watch_ratio, np.float32)
        sk = np.zeros(len(it), bool) if skipped is None else np.asarray(skipped, bool)
        ts = None if timestamp is None else np.asarray(timestamp, np.float64)
        return cls(it, np.atleast_1d(wr), np.atleast_1d(sk), ts)

    @classmethod
    def empty(cls) -> History:
        return cls.of(np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.items)

    def recency_weights(self, half_life: float = DEFAULT_HALF_LIFE) -> NDArray[np.float32]:
        """Weight of each view by its position: the newest is 1, ``half_life`` views back is 0.5."""
        age = np.arange(len(self.items) - 1, -1, -1, dtype=np.float32)
        return np.power(np.float32(0.5), age / np.float32(max(half_life, 1e-6))).astype(np.float32)

    def views(self) -> History:
        """Only the watched views (skips dropped)."""
        keep = ~self.skipped
        ts = None if self.timestamp is None else self.timestamp[keep]
        return History(self.items[keep], self.watch_ratio[keep], self.skipped[keep], ts)

    def last(self, n: int) -> History:
        """The newest ``n`` views."""
        start = max(0, len(self.items) - n)
        ts = None if self.timestamp is None else self.timestamp[start:]
        return History(self.items[start:], self.watch_ratio[start:], self.skipped[start:], ts)


def histories_exclusions(histories: Sequence[History]) -> list[NDArray[np.int32]]:
    """Item indices each history rules out of its own ranking: every video watched or shown."""
    return [np.unique(h.items).astype(np.int32) for h in histories]
