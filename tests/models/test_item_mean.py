"""Item mean: shrinkage arithmetic, per-pair averaging, one ranking for everyone, bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.errors import DataError
from reelrec.models import create_model
from reelrec.models._item_mean import pair_means


def _dataset(user, item, label, n_users: int = 4, n_items: int = 3) -> Dataset:
    return Dataset(
        IdMap(np.arange(n_users) + 10),
        IdMap(np.arange(n_items) + 100),
        Interactions.from_arrays(np.asarray(user), np.asarray(item), np.asarray(label)),
        label_name="rating",
    )


# Item 0: pairs 2 and 4. Item 1: user 0 viewed it twice (1 and 3, pair mean 2) and user 2 gave 5.
# Item 2: never viewed. User 3 has no history at all.
USER = [0, 1, 0, 0, 2]
ITEM = [0, 0, 1, 1, 1]
LABEL = [2.0, 4.0, 1.0, 3.0, 5.0]


def test_pair_means_average_repeat_views():
    data = _dataset(USER, ITEM, LABEL)
    user, item, label = pair_means(data.interactions, data.n_items)
    assert user.dtype == np.int32 and item.dtype == np.int32 and label.dtype == np.float32
    assert list(zip(user.tolist(), item.tolist(), label.tolist(), strict=True)) == [
        (0, 0, 2.0),
        (0, 1, 2.0),
        (1, 0, 4.0),
        (2, 1, 5.0),
    ]


def test_shrinkage_is_a_pseudo_count_towards_the_global_mean():
    shrink = 2.0
    model = create_model("item-mean", shrinkage=shrink).fit(_dataset(USER, ITEM, LABEL))
    global_mean = (2.0 + 4.0 + 2.0 + 5.0) / 4  # over pairs, not views
    assert model.global_mean_ == pytest.approx(global_mean)
    expected = [
        (2.0 + 4.0 + shrink * global_mean) / (2 + shrink),
        (2.0 + 5.0 + shrink * global_mean) / (2 + shrink),
        global_mean,  # no pairs: nothing but the prior
    ]
    np.testing.assert_allclose(model.item_mean_, expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_indices([3, 0, 1], [0, 1, 2]), expected, rtol=1e-6)


def test_zero_shrinkage_gives_raw_means_and_unseen_items_the_global_mean():
    model = create_model("item-mean", shrinkage=0.0).fit(_dataset(USER, ITEM, LABEL))
    np.testing.assert_allclose(model.item_mean_, [3.0, 3.5, 3.25], rtol=1e-6)


def test_everyone_gets_the_same_ranking_cold_users_included():
    data = _dataset(USER, ITEM, LABEL)
    model = create_model("item-mean", shrinkage=2.0).fit(data)
    order = np.argsort(-model.item_mean_, kind="stable").tolist()
    items, scores = model.recommend_indices([3], k=3)
    assert items[0].tolist() == order
    np.testing.assert_allclose(scores[0], model.item_mean_[order])
    # User 1 has seen item 0 only: the same order without it.
    assert model.recommend_indices([1], k=2)[0][0].tolist() == [i for i in order if i != 0]
    cold, _ = model.recommend_cold(_features(2), k=3)
    assert cold.tolist() == [order, order]


def _features(n: int) -> FeatureTable:
    return FeatureTable(pl.DataFrame({"age": np.arange(n, dtype=np.float64)}), {"age": "numeric"})


def test_predict_with_raw_ids_is_nan_for_unknown_items():
    model = create_model("item-mean").fit(_dataset(USER, ITEM, LABEL))
    pred = model.predict([10, 13, 10], [101, 100, 999])
    assert pred.dtype == np.float32
    assert pred[0] == model.item_mean_[1] and pred[1] == model.item_mean_[0] and np.isnan(pred[2])


def test_negative_shrinkage_is_refused():
    with pytest.raises(ValueError, match="shrinkage=-1"):
        create_model("item-mean", shrinkage=-1.0).fit(_dataset(USER, ITEM, LABEL))


def test_non_finite_labels_are_refused_with_the_row():
    with pytest.raises(DataError, match=r"row 3 .*inf"):
        create_model("item-mean").fit(_dataset(USER, ITEM, [2.0, 4.0, 1.0, np.inf, 5.0]))
