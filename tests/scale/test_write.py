"""Writing a store: repeat views merge exactly as a group-by would, whatever the memory bound."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.data import IdMap
from reelrec.scale import Batch, PairBlock, ShardStore, store_from_arrays, write_store


def _log(rng: np.random.Generator, n: int = 20_000, n_users: int = 120, n_items: int = 80):
    # Skewed users so some exceed a small memory bound on their own bucket.
    user = np.minimum(rng.zipf(1.6, n) - 1, n_users - 1)
    item = rng.integers(0, n_items, n)
    label = rng.gamma(1.0, 1.0, n).astype(np.float32)
    time = rng.uniform(1.6e9, 1.7e9, n)
    time[rng.random(n) < 0.1] = np.nan
    return user, item, label, time, n_users, n_items


def _expected(user, item, label, time) -> pl.DataFrame:
    frame = pl.DataFrame({"u": user, "i": item, "l": label.astype(np.float64), "t": time}).with_columns(
        pl.col("t").fill_nan(None)
    )
    return (
        frame.group_by("u", "i")
        .agg(pl.col("l").mean(), pl.len().alias("c"), pl.col("t").max())
        .sort("u", "i")
    )


def _all_pairs(store: ShardStore) -> tuple[PairBlock, np.ndarray]:
    blocks = [store.read(s) for s in store.shards]
    times = np.concatenate([store.read_times(s) for s in store.shards])
    return PairBlock.concat(blocks), times


@pytest.mark.parametrize("memory_rows", [1_000_000, 1_500])
def test_pairs_match_a_group_by(tmp_path: Path, rng: np.random.Generator, memory_rows: int) -> None:
    user, item, label, time, n_users, n_items = _log(rng)
    store = store_from_arrays(
        tmp_path / "store",
        IdMap(np.arange(n_users) * 7),
        IdMap(np.arange(n_items) + 1000),
        user,
        item,
        label,
        time,
        batch_rows=3_000,
        memory_rows=memory_rows,
        shard_pairs=500,
    )
    want = _expected(user, item, label, time)
    pairs, times = _all_pairs(store)
    assert store.n_pairs == want.height
    assert store.n_views == len(user)
    np.testing.assert_array_equal(pairs.user, want["u"].to_numpy())
    np.testing.assert_array_equal(pairs.item, want["i"].to_numpy())
    np.testing.assert_allclose(pairs.label, want["l"].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(pairs.views, want["c"].to_numpy())
    np.testing.assert_array_equal(times, want["t"].fill_null(np.nan).to_numpy())
    assert pairs.label.dtype == np.float32 and pairs.item.dtype == np.int32
    # The store remembers raw ids; nothing temporary is left beside it.
    assert store.users == IdMap(np.arange(n_users) * 7)
    assert [p.name for p in tmp_path.iterdir()] == ["store"]


def test_shards_are_user_aligned_and_bounded(tmp_path: Path, rng: np.random.Generator) -> None:
    user, item, label, time, n_users, n_items = _log(rng)
    store = store_from_arrays(
        tmp_path / "s", IdMap(np.arange(n_users)), IdMap(np.arange(n_items)), user, item, label, shard_pairs=400
    )
    counts = np.diff(store.indptr)
    assert len(store.shards) > 3
    assert store.shards[0].user_lo == 0 and store.shards[-1].user_hi == n_users
    for s in store.shards:
        block = store.read(s)
        assert block.users.tolist() == list(range(s.user_lo, s.user_hi))
        # A shard only exceeds the target by its last user's pairs.
        assert s.n_pairs < 400 + counts[s.user_lo : s.user_hi].max()


def test_seen_matrix_and_item_counts(tmp_path: Path) -> None:
    store = store_from_arrays(
        tmp_path / "s",
        IdMap(np.arange(3)),
        IdMap(np.arange(4)),
        np.array([0, 0, 0, 2, 2]),
        np.array([3, 1, 3, 0, 1]),
        np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    )
    seen = store.seen_csr()
    assert seen.toarray().tolist() == [[0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 0]]
    assert seen.indices.dtype == np.int32 and seen.data.dtype == np.float32
    assert store.item_counts().tolist() == [1, 2, 0, 1]
    assert store.read(0).label.tolist() == [2.0, 2.0, 4.0, 5.0]  # (1 + 3) / 2 for the repeated pair


def test_bad_batches_are_rejected_and_leave_nothing(tmp_path: Path) -> None:
    users, items = IdMap(np.arange(3)), IdMap(np.arange(3))
    bad_item = Batch(np.array([0, 1], np.int32), np.array([0, 5], np.int32), np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"batch 0, row 1: item index 5 outside \[0, 3\)"):
        write_store(tmp_path / "s", users, items, [bad_item])
    nan_label = Batch(np.array([0], np.int32), np.array([0], np.int32), np.array([np.nan], np.float32))
    with pytest.raises(ValueError, match="row 0: label nan is not finite"):
        write_store(tmp_path / "s", users, items, [nan_label])
    assert list(tmp_path.iterdir()) == []


def test_open_rejects_damaged_stores(tmp_path: Path) -> None:
    store = store_from_arrays(
        tmp_path / "s", IdMap(np.arange(2)), IdMap(np.arange(2)), np.array([0, 1]), np.array([1, 0]), np.ones(2)
    )
    (store.path / "item.bin").write_bytes(b"\0" * 3)
    with pytest.raises(ValueError, match=r"item\.bin: 3 bytes, expected 8"):
        ShardStore(store.path)
    manifest = json.loads((store.path / "manifest.json").read_text())
    manifest["version"] = 99
    (store.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="store version 99 is not supported"):
        ShardStore(store.path)
    with pytest.raises(ValueError, match="not a shard store"):
        ShardStore(tmp_path)
