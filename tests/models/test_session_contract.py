"""Every registered model serves the real-time feed: history videos never come back, new users get
a full, ordered list, a batch equals its rows one by one, and ``scoring=`` passes through."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.data import Dataset
from reelrec.models import Recommender, available_models, create_model, model_class
from reelrec.models._history import History

# The notebook preset takes over 10 s to fit even with its fast parameters; it keeps the base
# default (history ignored), which the other history-ignoring models already cover.
SLOW = {"notebook"}
MODELS = [name for name in available_models() if name not in SLOW]
K = 10


@pytest.fixture(scope="module")
def fitted(toy_dataset: Dataset) -> dict[str, Recommender]:
    return {}


def _model(fitted: dict[str, Recommender], name: str, data: Dataset) -> Recommender:
    if name not in fitted:
        fitted[name] = create_model(name, **model_class(name).fast_params()).fit(data)
    return fitted[name]


def _histories(model: Recommender) -> tuple[History, History]:
    """A history of user 2's own favourites (they would top the list) and an arbitrary one."""
    top, _ = model.recommend_indices([2], k=3)
    first = History.of(top[0], [1.5, 0.2, np.nan], [False, True, False])
    second = History.of([5, 7, 5, 11], [2.0, 1.0, 0.5, np.nan])
    return first, second


@pytest.mark.parametrize("name", MODELS)
def test_history_videos_never_come_back_and_lists_are_ordered(fitted, toy_dataset, name):
    model = _model(fitted, name, toy_dataset)
    hists = list(_histories(model))
    users = np.asarray([2, -1], np.int32)
    items, scores = model.recommend_session_indices(hists, users=users, k=K)
    assert items.shape == (2, K) and items.dtype == np.int32 and scores.dtype == np.float32
    assert (items >= 0).all(), "the catalogue has far more than k recommendable videos"
    for row, hist in enumerate(hists):
        assert not np.isin(items[row], hist.items).any()
        assert len(np.unique(items[row])) == K
        assert np.all(np.diff(scores[row]) <= 1e-6)
    seen = model.seen_.indices[model.seen_.indptr[2] : model.seen_.indptr[3]]
    assert not np.isin(items[0], seen).any(), "a known user's training views stay excluded"


@pytest.mark.parametrize("name", MODELS)
def test_a_batch_equals_its_rows(fitted, toy_dataset, name):
    model = _model(fitted, name, toy_dataset)
    hists = list(_histories(model))
    users = np.asarray([2, -1], np.int32)
    batch, batch_scores = model.recommend_session_indices(hists, users=users, k=K)
    for row in range(2):
        one, one_scores = model.recommend_session_indices([hists[row]], users=users[row : row + 1], k=K)
        np.testing.assert_array_equal(one[0], batch[row])
        np.testing.assert_allclose(one_scores[0], batch_scores[row], rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_a_new_user_is_served_by_raw_ids(fitted, toy_dataset, name):
    model = _model(fitted, name, toy_dataset)
    raw_hist = toy_dataset.items.raw_ids[:4].tolist()
    records = [{"item_id": v, "watch_ratio": 1.2} for v in raw_hist]
    raw, scores = model.recommend_session(records, k=K)
    assert len(raw) == K and np.isfinite(scores).all()
    assert not set(raw.tolist()) & set(raw_hist)


@pytest.mark.parametrize("name", MODELS)
def test_scoring_passes_through(fitted, toy_dataset, name):
    model = _model(fitted, name, toy_dataset)
    hist = _histories(model)[1]
    for rule in model.scorings:
        items, _ = model.recommend_session_indices([hist], users=[2], k=K, scoring=rule)
        assert (items >= 0).all()
    with pytest.raises(ValueError, match="not one of"):
        model.recommend_session_indices([hist], users=[2], k=K, scoring="no-such-rule")
