"""The session contract every model shares: history videos are excluded, new users are served."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.data import Dataset, Interactions
from reelrec.data._vocab import IdMap
from reelrec.models import available_models, create_model
from reelrec.models._history import MAX_HISTORY, History


def _tiny() -> Dataset:
    rng = np.random.default_rng(0)
    users = rng.integers(0, 30, 600)
    items = rng.integers(0, 40, 600)
    inter = Interactions.from_arrays(users, items, rng.uniform(0, 2, 600).astype(np.float32))
    users_map, items_map = IdMap.from_values(np.arange(30)), IdMap.from_values(np.arange(100, 140))
    return Dataset(interactions=inter, users=users_map, items=items_map)


def test_history_validates_lengths_and_size() -> None:
    with pytest.raises(ValueError, match="same length"):
        History(np.zeros(2, np.int32), np.zeros(1, np.float32), np.zeros(2, bool))
    with pytest.raises(ValueError, match="at most"):
        History.of(np.zeros(MAX_HISTORY + 1, np.int32))
    w = History.of([1, 2, 3]).recency_weights(half_life=1.0)
    assert w.tolist() == [0.25, 0.5, 1.0]


def test_session_excludes_history_and_unknown_items_are_named() -> None:
    model = create_model("popularity").fit(_tiny())
    top = model.items_.index(model.recommend(0, k=3, exclude_seen=False)[0])
    items, _ = model.recommend_session_indices([History.of(top)], k=5, exclude_seen=False)
    assert not set(top) & set(items[0].tolist())
    with pytest.raises(KeyError, match="999"):
        model.recommend_session([{"item_id": 999}])
    raw, scores = model.recommend_session([{"item_id": 100, "watch_ratio": 1.0}], k=4, user=3)
    assert 100 not in raw.tolist() and len(scores) == 4


@pytest.mark.parametrize("name", ["popularity", "item-mean", "mf", "ease", "itemknn"])
def test_every_fast_model_serves_a_session(name: str) -> None:
    cls = type(create_model(name))
    model = create_model(name, **cls.fast_params()).fit(_tiny())
    hist = History.of([0, 1, 2], [1.0, 0.5, np.nan])
    items, scores = model.recommend_session_indices([hist, hist], users=[-1, 4], k=5)
    assert items.shape == (2, 5)
    assert not np.isin(items, [0, 1, 2]).any()
    assert np.all(np.diff(scores, axis=1)[~np.isnan(np.diff(scores, axis=1))] <= 0)
    assert name in available_models()
