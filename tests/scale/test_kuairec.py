"""Sharded KuaiRec loading: the same vocabularies, features and pairs as the in-memory loader, CSV or parquet."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from reelrec.data import load_kuairec
from reelrec.errors import DataError
from reelrec.models._nn_data import distinct_pairs
from reelrec.scale import PairBlock, find_sharded_kuairec, load_kuairec_sharded
from tests.data.kuairec_files import write_kuairec_tiny


@pytest.fixture
def kuairec(tmp_path: Path):
    return write_kuairec_tiny(tmp_path / "kr", layout="data")


def _to_parquet(folder: Path, parts: int = 2) -> None:
    big = pl.read_csv(folder / "big_matrix.csv").drop("time")
    (folder / "big_matrix").mkdir()
    size = -(-big.height // parts)
    for k in range(parts):
        big.slice(k * size, size).write_parquet(folder / "big_matrix" / f"part-{k:05d}.parquet")
    (folder / "big_matrix.csv").unlink()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_matches_the_in_memory_loader(kuairec, tmp_path: Path, fmt: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = load_kuairec(kuairec.path, cache=False)
        if fmt == "parquet":
            _to_parquet(kuairec.folder)
            assert find_sharded_kuairec(kuairec.path) == kuairec.folder
        side, store = load_kuairec_sharded(kuairec.path, store_dir=tmp_path / "store")
    assert side.users == ref.users and side.items == ref.items
    assert side.user_features.frame.equals(ref.user_features.frame)
    assert side.item_features.frame.equals(ref.item_features.frame)
    np.testing.assert_array_equal(side.fully_observed.label, ref.fully_observed.label)
    np.testing.assert_array_equal(side.truth, ref.truth)
    assert side.social == ref.social and len(side.interactions) == 0
    pairs = distinct_pairs(ref.interactions, ref.n_users, ref.n_items)
    stored = PairBlock.concat([store.read(s) for s in store.shards])
    np.testing.assert_array_equal(store.indptr, pairs.indptr)
    np.testing.assert_array_equal(stored.item, pairs.item)
    np.testing.assert_allclose(stored.label, pairs.label, rtol=1e-6)  # clipped at 5, then averaged
    assert store.n_views == len(ref.interactions)
    assert side.meta["store"] == str(store.path)


def test_training_only_load_skips_the_small_matrix(kuairec, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full, _ = load_kuairec_sharded(kuairec.path, store_dir=tmp_path / "a")
        light, _ = load_kuairec_sharded(kuairec.path, store_dir=tmp_path / "a", fully_observed=False)
    assert light.fully_observed is None and light.truth is None
    assert light.users == full.users and light.items == full.items
    assert light.item_features.frame.equals(full.item_features.frame)


def test_refuses_unsupported_requests(kuairec, tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="duplicates='drop' is not supported"):
        load_kuairec_sharded(kuairec.path, duplicates="drop")
    with pytest.raises(DataError, match="no KuaiRec data found"):
        load_kuairec_sharded(tmp_path)
    assert find_sharded_kuairec(kuairec.path) is None  # CSV big matrix: not parquet-sharded
