"""A block of distinct (user, video) pairs grouped by user: what one or two shards hold in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass
class PairBlock:
    """Distinct pairs of some users, rows grouped by user in ascending user order.

    Attributes
    ----------
    users : ndarray of int32, shape (m,)
        Global user indices of the block, ascending (users without pairs may be absent).
    indptr : ndarray of int64, shape (m + 1,)
        Rows ``indptr[j]:indptr[j + 1]`` belong to ``users[j]``.
    item : ndarray of int32, shape (n,)
        Video index of each pair.
    label : ndarray of float32, shape (n,)
        Mean label of the pair's views.
    views : ndarray of int32, shape (n,)
        Number of logged views merged into the pair.
    """

    users: NDArray[np.int32]
    indptr: NDArray[np.int64]
    item: NDArray[np.int32]
    label: NDArray[np.float32]
    views: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.item)

    @property
    def counts(self) -> NDArray[np.int64]:
        """Pairs per user of the block, shape (m,)."""
        return np.diff(self.indptr)

    @property
    def user(self) -> NDArray[np.int32]:
        """Global user index of every row, shape (n,) (a fresh array)."""
        return np.repeat(self.users, self.counts).astype(np.int32, copy=False)

    def local(self, users: NDArray[np.integer]) -> NDArray[np.int64]:
        """Positions in :attr:`users` of global user indices that belong to the block."""
        return np.searchsorted(self.users, users).astype(np.int64)

    def take(self, mask: NDArray[np.bool_]) -> PairBlock:
        """The rows where ``mask`` is true (users keep their order; users left without rows stay, empty)."""
        running = np.zeros(len(mask) + 1, np.int64)
        np.cumsum(mask, out=running[1:])
        counts = running[self.indptr[1:]] - running[self.indptr[:-1]]
        indptr = np.zeros(len(self.users) + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return PairBlock(self.users, indptr, self.item[mask], self.label[mask], self.views[mask])

    @staticmethod
    def concat(blocks: list[PairBlock]) -> PairBlock:
        """One block of several blocks with disjoint users (ordered by their first user)."""
        blocks = sorted((b for b in blocks if len(b.users)), key=lambda b: int(b.users[0]))
        if not blocks:
            return PairBlock.empty()
        if len(blocks) == 1:
            return blocks[0]
        users = np.concatenate([b.users for b in blocks])
        if (np.diff(users) <= 0).any():
            raise ValueError("PairBlock.concat needs blocks with disjoint users")
        counts = np.concatenate([b.counts for b in blocks])
        indptr = np.zeros(len(users) + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return PairBlock(
            users,
            indptr,
            np.concatenate([b.item for b in blocks]),
            np.concatenate([b.label for b in blocks]),
            np.concatenate([b.views for b in blocks]),
        )

    @staticmethod
    def empty() -> PairBlock:
        return PairBlock(
            np.zeros(0, np.int32),
            np.zeros(1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int32),
        )
