"""Shuffled training batches streamed shard by shard: shard order and rows within shards are shuffled.

Memory holds one group of ``mix`` shards (the one being trained on) plus the next group, which a
background thread reads from disk meanwhile. Mixing two shards per group makes batches draw from two
random user ranges rather than one, which is closer to a global shuffle at no extra cost.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reelrec.scale._pairs import PairBlock
from reelrec.scale._store import ShardInfo, ShardStore, plan_shards

Transform = Callable[[PairBlock], PairBlock]


def assign_shards(shards: list[ShardInfo], rank: int, world_size: int) -> list[ShardInfo]:
    """The shards rank ``rank`` of ``world_size`` reads: largest first to the least-loaded rank.

    Every shard goes to exactly one rank and the ranks' pair counts differ by at most one shard.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank}, world_size={world_size}: need 0 <= rank < world_size")
    load = np.zeros(world_size, np.int64)
    mine: list[ShardInfo] = []
    for s in sorted(shards, key=lambda s: (-s.n_pairs, s.index)):
        r = int(np.argmin(load))
        load[r] += s.n_pairs
        if r == rank:
            mine.append(s)
    return sorted(mine, key=lambda s: s.index)


def shards_for_ranks(store: ShardStore, world_size: int, per_rank: int = 4) -> list[ShardInfo]:
    """The store's shards, or finer user-aligned ones when there are too few to balance ``world_size`` ranks.

    With fewer than ``per_rank`` shards per rank, some ranks would idle while others train (a rank reads
    whole shards); cutting the users into ``per_rank * world_size`` ranges keeps the ranks' pair counts
    within a few percent. Users are never split, so histories stay complete.
    """
    if world_size <= 1 or len(store.shards) >= per_rank * world_size or store.n_pairs == 0:
        return list(store.shards)
    size = max(1, -(-store.n_pairs // (per_rank * world_size)))
    rows = plan_shards(store.indptr, size)
    return [ShardInfo(i, *row) for i, row in enumerate(rows)]


def rank_stream(
    store: ShardStore, rank: int, world_size: int, mix: int = 2, transform: Transform | None = None
) -> ShardStream:
    """This rank's :class:`ShardStream`: its own shards, groups holding about as many pairs as one process's.

    When the store's shards are cut finer for the ranks (:func:`shards_for_ranks`), ``mix`` grows by the
    same factor, so a rank's step draws from as many pairs (and users) per group as a one-process run
    does: the per-step cost and the batch mixing do not change with the number of processes.
    """
    shards = shards_for_ranks(store, world_size)
    if len(shards) > len(store.shards) and store.shards:
        mix = max(mix, round(mix * len(shards) / len(store.shards)))
    return ShardStream(store, assign_shards(shards, rank, world_size), mix=mix, transform=transform)


@dataclass
class ShardStream:
    """Epochs over some shards of a store, as groups of ``mix`` shards read ahead in the background.

    Parameters
    ----------
    store : ShardStore
    shards : list of ShardInfo
        The shards to read (e.g. this rank's, from :func:`assign_shards`).
    mix : int
        Shards per in-memory group.
    transform : callable, optional
        Applied to each group in the reading thread (e.g. dropping held-out pairs).
    prefetch : bool
        Read the next group while the current one is consumed.
    """

    store: ShardStore
    shards: list[ShardInfo]
    mix: int = 2
    transform: Transform | None = None
    prefetch: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.mix, bool) or not isinstance(self.mix, int) or self.mix < 1:
            raise ValueError(f"mix={self.mix!r}, must be an integer >= 1")

    def groups(self, rng: np.random.Generator) -> list[list[ShardInfo]]:
        """This epoch's groups: shards in random order, ``mix`` at a time."""
        order = rng.permutation(len(self.shards))
        shuffled = [self.shards[i] for i in order]
        return [shuffled[k : k + self.mix] for k in range(0, len(shuffled), self.mix)]

    def _load(self, group: list[ShardInfo]) -> PairBlock:
        block = PairBlock.concat([self.store.read(s) for s in group])
        return self.transform(block) if self.transform is not None else block

    def chunks(self, rng: np.random.Generator) -> Iterator[PairBlock]:
        """One epoch's groups as in-memory :class:`PairBlock` s, in random order."""
        groups = self.groups(rng)
        if not self.prefetch or len(groups) < 2:
            for g in groups:
                yield self._load(g)
            return
        with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="reelrec-shards") as pool:
            pending = pool.submit(self._load, groups[0])
            for k in range(len(groups)):
                block = pending.result()
                if k + 1 < len(groups):
                    pending = pool.submit(self._load, groups[k + 1])
                yield block
                del block

    def batches(
        self, batch_size: int, rng: np.random.Generator
    ) -> Iterator[tuple[PairBlock, NDArray[np.int64]]]:
        """``(group, rows)`` per batch: rows of the in-memory group, shuffled within the group."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}, must be an integer >= 1")
        for block in self.chunks(rng):
            perm = rng.permutation(len(block)).astype(np.int64)
            for lo in range(0, len(perm), batch_size):
                yield block, perm[lo : lo + batch_size]


def iter_batches(
    store: ShardStore,
    batch_size: int,
    rng: np.random.Generator,
    *,
    rank: int = 0,
    world_size: int = 1,
    mix: int = 2,
) -> Iterator[tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float32]]]:
    """Shuffled ``(user, item, label)`` batches of this rank's shards: one epoch, never the whole log in memory."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}, must be an integer >= 1")
    stream = ShardStream(store, assign_shards(store.shards, rank, world_size), mix=mix)
    for block in stream.chunks(rng):
        user = block.user
        perm = rng.permutation(len(block))
        for lo in range(0, len(perm), batch_size):
            rows = perm[lo : lo + batch_size]
            yield user[rows], block.item[rows], block.label[rows]
