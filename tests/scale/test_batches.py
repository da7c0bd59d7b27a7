"""Streamed batches: every row once per epoch, reproducible, different per epoch, split across ranks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from reelrec.data import IdMap
from reelrec.scale import ShardStore, ShardStream, assign_shards, iter_batches, store_from_arrays
from reelrec.scale._batches import rank_stream, shards_for_ranks


@pytest.fixture
def store(tmp_path: Path, rng: np.random.Generator) -> ShardStore:
    n = 6_000
    user = rng.integers(0, 90, n)
    item = rng.integers(0, 70, n)
    return store_from_arrays(
        tmp_path / "s", IdMap(np.arange(90)), IdMap(np.arange(70)), user, item, rng.random(n), shard_pairs=300
    )


def _epoch(store: ShardStore, seed: int, **kw) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(u, i) for u, i, _ in iter_batches(store, 256, np.random.default_rng(seed), **kw)]


def _keys(batches) -> np.ndarray:
    return np.concatenate([u.astype(np.int64) * 1000 + i for u, i in batches])


def test_epoch_covers_every_pair_once(store: ShardStore) -> None:
    batches = _epoch(store, 0)
    keys = _keys(batches)
    assert len(keys) == store.n_pairs == len(np.unique(keys))
    assert all(len(u) <= 256 for u, _ in batches)


def test_order_is_seeded_and_shuffled(store: ShardStore) -> None:
    a, b, c = _keys(_epoch(store, 0)), _keys(_epoch(store, 0)), _keys(_epoch(store, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Shuffled within shards too: the first batch is not a run of consecutive stored rows.
    first = _epoch(store, 0)[0][0]
    assert len(np.unique(first)) > 10


def test_ranks_read_disjoint_balanced_shards(store: ShardStore) -> None:
    world = 3
    parts = [assign_shards(store.shards, r, world) for r in range(world)]
    indices = sorted(s.index for part in parts for s in part)
    assert indices == list(range(len(store.shards)))
    loads = [sum(s.n_pairs for s in part) for part in parts]
    assert max(loads) - min(loads) <= max(s.n_pairs for s in store.shards)
    keys = [_keys(_epoch(store, 5, rank=r, world_size=world)) for r in range(world)]
    union = np.concatenate(keys)
    assert len(union) == store.n_pairs == len(np.unique(union))
    with pytest.raises(ValueError, match="rank=3"):
        assign_shards(store.shards, 3, 3)


def test_groups_hold_mix_shards_and_transform_applies(store: ShardStore) -> None:
    stream = ShardStream(store, store.shards, mix=2, transform=lambda b: b.take(b.label < 0.5))
    sizes = []
    rows = 0
    for block in stream.chunks(np.random.default_rng(0)):
        sizes.append(len(block.users))
        assert (block.label < 0.5).all()
        rows += len(block)
    per_shard = max(s.user_hi - s.user_lo for s in store.shards)
    assert max(sizes) <= 2 * per_shard
    assert len(sizes) == -(-len(store.shards) // 2)
    assert rows == int((store.column("label") < 0.5).sum())
    with pytest.raises(ValueError, match="mix=0"):
        ShardStream(store, store.shards, mix=0)


def test_too_few_shards_are_cut_finer_for_the_ranks(tmp_path: Path, rng: np.random.Generator) -> None:
    n = 20_000
    store = store_from_arrays(tmp_path / "one", IdMap(np.arange(400)), IdMap(np.arange(50)),
                              rng.integers(0, 400, n), rng.integers(0, 50, n), rng.random(n))
    assert len(store.shards) == 1
    assert shards_for_ranks(store, 1) == store.shards
    finer = shards_for_ranks(store, 2)
    assert len(finer) >= 6
    # They tile the users and rows in order, never splitting a user.
    assert finer[0].user_lo == 0 and finer[-1].user_hi == store.n_users and finer[-1].row_hi == store.n_pairs
    for a, b in itertools.pairwise(finer):
        assert a.user_hi == b.user_lo and a.row_hi == b.row_lo
        assert store.indptr[b.user_lo] == b.row_lo
    loads = [sum(s.n_pairs for s in assign_shards(finer, r, 2)) for r in range(2)]
    assert abs(loads[0] - loads[1]) <= max(s.n_pairs for s in finer)
    assert sum(loads) == store.n_pairs
    block = store.read(finer[1])  # a finer shard reads like a stored one
    assert len(block) == finer[1].n_pairs and block.users[0] == finer[1].user_lo
    # A rank's groups then hold about as many pairs as a one-process group (mix grows with the cut).
    one = rank_stream(store, 0, 1)
    ranks = [rank_stream(store, r, 2) for r in range(2)]
    assert one.mix == 2 and one.shards == store.shards
    assert all(r.mix == round(2 * len(finer) / len(store.shards)) for r in ranks)
    assert sorted(s.index for r in ranks for s in r.shards) == list(range(len(finer)))
