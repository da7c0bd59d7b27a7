"""Out-of-core two-tower fits: the same quality as the in-memory fit, bounded state, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelrec.artifacts import load_artifact
from reelrec.data import Dataset, IdMap, Interactions, load_dataset
from reelrec.eval import evaluate, kuairec_split
from reelrec.models import create_model, model_class
from reelrec.scale import load_kuairec_sharded, store_from_arrays
from reelrec.scale._fit import check_store_matches, fit_store
from tests.scale.conftest import FAST


def test_streamed_fit_matches_the_in_memory_fit(tiny_kuairec: Path, tmp_path: Path) -> None:
    memory = load_dataset(tiny_kuairec)
    split = kuairec_split(memory)
    in_memory = create_model("two-tower", **FAST).fit(split.train)

    side, store = load_kuairec_sharded(tiny_kuairec, store_dir=tmp_path / "store", shard_pairs=15_000)
    assert len(store.shards) >= 3
    streamed = fit_store(create_model("two-tower", **FAST), kuairec_split(side).train, store)
    assert streamed.options_["out_of_core"] and streamed.options_["store_pairs"] == store.n_pairs
    rows = [h["rows"] for h in streamed.history_]
    assert len(rows) == 3 and len(set(rows)) == 1 and rows[0] < store.n_pairs  # validation pairs held out
    assert streamed.history_[-1]["val_loss"] < streamed.history_[0]["val_loss"]
    # The seen mask and popularity cover every stored pair, as the in-memory contract builds them.
    assert streamed.seen_.nnz == store.n_pairs == in_memory.seen_.nnz
    np.testing.assert_array_equal(streamed.item_popularity_, in_memory.item_popularity_)

    a = evaluate(in_memory, split).metrics
    b = evaluate(streamed, kuairec_split(side)).metrics
    for name, tolerance in (("ndcg@10", 0.04), ("recall@10", 0.04), ("rmse", 0.05)):
        assert b[name] == pytest.approx(a[name], abs=tolerance), name
    assert streamed.watch_weight_ >= 0.0 and streamed.watch_tuning_  # tuned on the held-out pairs

    out = streamed.save(tmp_path / "art", dataset=side)
    loaded = load_artifact(out, model_class).model
    users = np.arange(20, dtype=np.int32)
    np.testing.assert_array_equal(loaded.recommend_indices(users, k=5)[0], streamed.recommend_indices(users, k=5)[0])


def test_refit_trains_on_every_pair(tiny_kuairec: Path, tmp_path: Path) -> None:
    side, store = load_kuairec_sharded(tiny_kuairec, store_dir=tmp_path / "store", fully_observed=False)
    model = fit_store(create_model("two-tower", **{**FAST, "refit": True, "epochs": 1}), side, store)
    assert [h["rows"] for h in model.refit_history_] == [store.n_pairs] * len(model.refit_history_)
    assert len(model.refit_history_) == model.best_epoch_


def test_store_and_data_set_must_index_alike(tmp_path: Path) -> None:
    users, items = IdMap(np.arange(10)), IdMap(np.arange(5))
    store = store_from_arrays(tmp_path / "s", users, items, np.array([0, 1]), np.array([2, 3]), np.array([1.0, 2.0]))
    other = Dataset(users=IdMap(np.arange(1, 11)), items=items, interactions=Interactions.empty())
    with pytest.raises(ValueError, match=r"its users \(10\) are not the data set's"):
        check_store_matches(other, store)
    with pytest.raises(ValueError, match="users"):
        fit_store(create_model("two-tower", **FAST), other, store)
    empty = store_from_arrays(tmp_path / "e", users, items, np.zeros(0), np.zeros(0), np.zeros(0))
    same = Dataset(users=users, items=items, interactions=Interactions.empty())
    with pytest.raises(ValueError, match="holds no pairs"):
        fit_store(create_model("two-tower", **FAST), same, empty)
    with pytest.raises(ValueError, match="embedding_size"):
        fit_store(create_model("two-tower", **{**FAST, "embedding_size": 0}), same, store)
