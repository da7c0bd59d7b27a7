"""The streaming plan: exact label statistics, a stable hashed validation split, the histories validation needs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelrec.data import IdMap
from reelrec.scale import PairBlock, ShardStore, store_from_arrays
from reelrec.scale._plan import ValidationSplit, hash_unit, plan_store


@pytest.fixture
def store(tmp_path: Path, rng: np.random.Generator) -> ShardStore:
    n = 30_000
    user = rng.integers(0, 300, n)
    item = rng.integers(0, 200, n)
    label = rng.gamma(1.0, 1.0, n)
    return store_from_arrays(tmp_path / "s", IdMap(np.arange(300)), IdMap(np.arange(200)), user, item, label,
                             shard_pairs=3_000)


def _all(store: ShardStore) -> PairBlock:
    return PairBlock.concat([store.read(s) for s in store.shards])


def test_hash_unit_is_uniform_deterministic_and_seeded() -> None:
    keys = np.arange(200_000, dtype=np.int64)
    a = hash_unit(keys, 3)
    np.testing.assert_array_equal(a, hash_unit(keys, 3))
    assert ((a >= 0) & (a < 1)).all()
    assert abs(a.mean() - 0.5) < 0.01 and abs((a < 0.1).mean() - 0.1) < 0.005
    assert np.corrcoef(a, hash_unit(keys, 4))[0, 1] < 0.01


def test_split_holds_out_the_requested_share_never_a_whole_user(store: ShardStore) -> None:
    split = ValidationSplit.plan(store, fraction=0.2, seed=0, max_pairs=2_000)
    pairs = _all(store)
    held = split.mask(pairs)
    assert 1_200 < held.sum() < 2_800  # about max_pairs
    counts = np.bincount(pairs.user[held], minlength=300)
    assert (counts < pairs.counts).all()  # every user keeps a training pair
    assert not held[pairs.indptr[:-1][pairs.counts > 0]].any()
    # Deciding shard by shard gives the same rows as deciding on the whole log.
    by_shard = np.concatenate([split.mask(store.read(s)) for s in store.shards])
    np.testing.assert_array_equal(by_shard, held)
    assert not ValidationSplit.plan(store, fraction=0.0, seed=0).mask(pairs).any()


def test_plan_statistics_match_a_direct_computation(store: ShardStore) -> None:
    split = ValidationSplit.plan(store, fraction=0.1, seed=1, max_pairs=1_500)
    plan = plan_store(store, split, np.log1p)
    pairs = _all(store)
    held = split.mask(pairs)
    z = np.log1p(pairs.label.astype(np.float64))
    assert plan.label_mean == pytest.approx(z.mean(), rel=1e-9)
    assert plan.label_std == pytest.approx(z.std(), rel=1e-6)
    assert (plan.label_min, plan.label_max) == pytest.approx((z.min(), z.max()))
    assert plan.raw_std == pytest.approx(pairs.label.astype(np.float64).std(), rel=1e-6)
    np.testing.assert_array_equal(plan.train_item_counts, np.bincount(pairs.item[~held], minlength=200))
    np.testing.assert_array_equal(plan.val_item, pairs.item[held])
    assert plan.n_train + plan.n_val == store.n_pairs
    assert sum(plan.shard_train_pairs.values()) == int((~held).sum())
    # Validation users' histories are exactly their training pairs.
    for u in np.unique(plan.val_user)[:20]:
        mine = (pairs.user == u) & ~held
        got = plan.hist_item[plan.hist_indptr[u] : plan.hist_indptr[u + 1]]
        np.testing.assert_array_equal(got, pairs.item[mine])
        labels = plan.hist_label[plan.hist_indptr[u] : plan.hist_indptr[u + 1]]
        np.testing.assert_array_equal(labels, pairs.label[mine])
    assert len(plan.hist_label) == len(plan.hist_item)
    assert plan.raw_mean == pytest.approx(pairs.label.astype(np.float64).mean(), rel=1e-9)
    others = np.setdiff1d(np.arange(300), plan.val_user)
    assert (np.diff(plan.hist_indptr)[others] == 0).all()
