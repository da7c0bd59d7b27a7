"""Converting inputs into a store once: reuse while unchanged, rebuild when the input changes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from reelrec.scale import ShardStore, convert_log, store_from_dataset


def test_convert_reuses_an_unchanged_store(tmp_path: Path, rng: np.random.Generator) -> None:
    n = 3_000
    frame = pl.DataFrame(
        {
            "user_id": rng.integers(0, 40, n),
            "video_id": rng.integers(0, 30, n),
            "watch_ratio": rng.gamma(1.0, 1.0, n),
            "timestamp": rng.uniform(1.59e9, 1.6e9, n),
        }
    )
    csv = tmp_path / "log.csv"
    frame.write_csv(csv)
    store = convert_log(csv, tmp_path / "store", clip=1.5, shard_pairs=200)
    assert store.n_views == n and len(store.shards) > 1
    assert float(store.column("label").max()) <= 1.5
    built = (store.path / "manifest.json").stat().st_mtime_ns
    again = convert_log(csv, tmp_path / "store", clip=1.5, shard_pairs=200)
    assert (again.path / "manifest.json").stat().st_mtime_ns == built
    # Other options or an edited file rebuild it.
    third = convert_log(csv, tmp_path / "store", clip=None)
    assert float(third.column("label").max()) > 1.5
    frame.head(100).write_csv(csv)
    os.utime(csv, ns=(built + 10**9, built + 10**9))
    assert convert_log(csv, tmp_path / "store").n_views == 100


def test_store_from_dataset_keeps_vocabularies(tmp_path: Path, toy_dataset) -> None:
    store = store_from_dataset(toy_dataset, tmp_path / "s", shard_pairs=100)
    assert store.users == toy_dataset.users and store.items == toy_dataset.items
    assert store.label_name == toy_dataset.label_name
    reopened = ShardStore(tmp_path / "s")
    seen = toy_dataset.interactions.to_csr(toy_dataset.n_users, toy_dataset.n_items)
    assert (reopened.seen_csr() != seen).nnz == 0
