"""One streaming pass over a shard store: label statistics, item frequencies, a validation split, histories.

Everything here is O(users + items + held-out pairs) in memory. The validation split is decided by
hashing (user, item) with the seed, not by drawing from a generator, so every process of a
distributed run and every epoch sees the same split without exchanging it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from reelrec.scale._pairs import PairBlock
from reelrec.scale._store import ShardStore

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash_unit(keys: NDArray[np.integer], seed: int) -> NDArray[np.float64]:
    """A uniform number in [0, 1) per key, fixed by ``seed`` (splitmix64 finaliser).

    Vectorised and stateless: the same key and seed give the same number in any process.
    """
    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF) * _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class ValidationSplit:
    """Which pairs are held out for early stopping: a hashed sample of users, then of their pairs.

    Users are drawn with probability ``user_rate`` (so about ``max_pairs`` pairs are held out in
    all); each drawn user with at least ``min_user_pairs`` pairs holds out about ``fraction`` of them,
    never their first stored pair (nobody loses a whole history).
    """

    fraction: float
    user_rate: float
    n_items: int
    seed: int
    min_user_pairs: int = 5

    @classmethod
    def plan(cls, store: ShardStore, fraction: float, seed: int, max_pairs: int = 200_000) -> ValidationSplit:
        rate = 0.0 if fraction <= 0 or store.n_pairs == 0 else min(1.0, max_pairs / (fraction * store.n_pairs))
        return cls(float(fraction), rate, store.n_items, int(seed))

    @property
    def active(self) -> bool:
        return self.fraction > 0 and self.user_rate > 0

    def users(self, users: NDArray[np.integer], counts: NDArray[np.integer]) -> NDArray[np.bool_]:
        """Whether each user (global index, with its pair count) holds pairs out."""
        if not self.active:
            return np.zeros(len(users), bool)
        return (hash_unit(users, self.seed) < self.user_rate) & (counts >= self.min_user_pairs)

    def mask(self, block: PairBlock) -> NDArray[np.bool_]:
        """Held-out rows of a block (same answer for a pair whichever shards are grouped with it)."""
        if not self.active or len(block) == 0:
            return np.zeros(len(block), bool)
        drawn = self.users(block.users, block.counts)
        row_drawn = np.repeat(drawn, block.counts)
        if not row_drawn.any():
            return row_drawn
        user = block.user.astype(np.int64)
        keys = user * self.n_items + block.item
        held = row_drawn & (hash_unit(keys, self.seed + 1) < self.fraction)
        held[block.indptr[:-1][block.counts > 0]] = False
        return held


@dataclass
class StorePlan:
    """What a streaming fit needs to know before its first batch, from one pass over the store.

    Attributes
    ----------
    label_mean, label_std : float
        Mean and standard deviation of the transformed label over all pairs.
    label_min, label_max : float
        Range of the transformed label over all pairs.
    raw_std : float
        Standard deviation of the raw label (decides whether the label carries information).
    train_item_counts : ndarray of int64, shape (n_items,)
        Training pairs per video (held-out pairs excluded), for the logQ correction.
    item_has_pairs, user_has_pairs : ndarray of bool
        Entities with at least one pair (the ones whose features fit the pipelines and get an id row).
    val_user, val_item : ndarray of int32
        Held-out pairs, grouped by user.
    val_label : ndarray of float32
    hist_indptr : ndarray of int64, shape (n_users + 1,)
        Training pairs of the users with held-out pairs (the history validation needs).
    hist_item : ndarray of int32
    shard_train_pairs : dict
        Shard index -> training pairs in it.
    hist_label : ndarray of float32
        Raw label of each ``hist_item`` pair (label-weighted history bags).
    raw_mean : float
        Mean of the raw label over all pairs.
    """

    label_mean: float
    label_std: float
    label_min: float
    label_max: float
    raw_std: float
    train_item_counts: NDArray[np.int64]
    item_has_pairs: NDArray[np.bool_]
    user_has_pairs: NDArray[np.bool_]
    val_user: NDArray[np.int32]
    val_item: NDArray[np.int32]
    val_label: NDArray[np.float32]
    hist_indptr: NDArray[np.int64]
    hist_item: NDArray[np.int32]
    shard_train_pairs: dict[int, int]
    hist_label: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    raw_mean: float = 0.0

    @property
    def n_train(self) -> int:
        return int(sum(self.shard_train_pairs.values()))

    @property
    def n_val(self) -> int:
        return len(self.val_user)


def plan_store(store: ShardStore, split: ValidationSplit, transform) -> StorePlan:
    """One pass over every shard: statistics, validation pairs and their users' training histories.

    ``transform`` maps raw labels (float64) to the regression target before standardisation.
    """
    n_users, n_items = store.n_users, store.n_items
    total = total_sq = raw_total = raw_sq = 0.0
    z_min, z_max = np.inf, -np.inf
    counts = np.zeros(n_items, np.int64)
    all_counts = np.zeros(n_items, np.int64)
    val_parts: list[tuple[NDArray, NDArray, NDArray]] = []
    hist_counts = np.zeros(n_users, np.int64)
    hist_items: list[NDArray[np.int32]] = []
    hist_labels: list[NDArray[np.float32]] = []
    shard_train: dict[int, int] = {}
    for info in store.shards:
        block = store.read(info)
        label = block.label.astype(np.float64)
        z = transform(label)
        total += float(z.sum())
        total_sq += float((z * z).sum())
        if len(z):
            z_min, z_max = min(z_min, float(z.min())), max(z_max, float(z.max()))
        raw_total += float(label.sum())
        raw_sq += float((label * label).sum())
        held = split.mask(block)
        train = ~held
        counts += np.bincount(block.item[train], minlength=n_items)
        all_counts += np.bincount(block.item, minlength=n_items)
        shard_train[info.index] = int(train.sum())
        if held.any():
            user = block.user
            val_parts.append((user[held], block.item[held], block.label[held]))
            # Training pairs of the users with held-out pairs: their history at validation time.
            val_users = np.unique(user[held])
            keep = train & np.isin(user, val_users)
            hist_counts += np.bincount(user[keep], minlength=n_users)
            hist_items.append(block.item[keep])
            hist_labels.append(block.label[keep])
    n = max(store.n_pairs, 1)
    mean = total / n
    std = float(np.sqrt(max(total_sq / n - mean * mean, 0.0)))
    raw_mean = raw_total / n
    raw_std = float(np.sqrt(max(raw_sq / n - raw_mean * raw_mean, 0.0)))
    hist_indptr = np.zeros(n_users + 1, np.int64)
    np.cumsum(hist_counts, out=hist_indptr[1:])
    if val_parts:
        vu, vi, vl = (np.concatenate(p) for p in zip(*val_parts, strict=True))
    else:
        vu, vi, vl = np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
    return StorePlan(
        label_mean=mean,
        label_std=std or 1.0,
        label_min=z_min if np.isfinite(z_min) else 0.0,
        label_max=z_max if np.isfinite(z_max) else 0.0,
        raw_std=raw_std,
        train_item_counts=counts,
        item_has_pairs=all_counts > 0,
        user_has_pairs=np.diff(store.indptr) > 0,
        val_user=vu.astype(np.int32),
        val_item=vi.astype(np.int32),
        val_label=vl.astype(np.float32),
        hist_indptr=hist_indptr,
        hist_item=np.concatenate(hist_items).astype(np.int32) if hist_items else np.zeros(0, np.int32),
        shard_train_pairs=shard_train,
        hist_label=np.concatenate(hist_labels).astype(np.float32) if hist_labels else np.zeros(0, np.float32),
        raw_mean=float(raw_mean),
    )
