"""The recommender contract, checked on every registered model with its cheap ``fast_params``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reelrec.errors import NotFittedError
from reelrec.models import Recommender, available_models, create_model, model_class


def test_every_registered_model_imports(name):
    """A registered model whose module does not import is a failure, never a skip."""
    cls = model_class(name)
    assert issubclass(cls, Recommender) and cls.name == name


def _fit(name: str, dataset) -> Recommender:
    cls = model_class(name)
    return cls(**cls.fast_params()).fit(dataset)


@pytest.fixture(scope="module", params=available_models())
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def fitted(name, toy_dataset) -> Recommender:
    """One fitted instance per model, shared by the read-only checks below."""
    return _fit(name, toy_dataset)


def _valid(items: np.ndarray) -> np.ndarray:
    return items[items >= 0]


def test_fit_returns_self_and_is_deterministic(name, toy_dataset):
    cls = model_class(name)
    first = cls(**cls.fast_params())
    second = cls(**cls.fast_params())
    assert first.fit(toy_dataset) is first
    assert second.fit(toy_dataset) is second
    users = np.arange(toy_dataset.n_users)
    np.testing.assert_array_equal(first.score_users(users), second.score_users(users))


def test_unfitted_model_raises(name, toy_dataset, tmp_path):
    cls = model_class(name)
    model = cls(**cls.fast_params())
    assert not model.is_fitted
    for call in (
        lambda: model.recommend_indices([0]),
        lambda: model.score_users([0]),
        lambda: model.recommend(toy_dataset.users.raw_ids[0]),
        lambda: model.predict([toy_dataset.users.raw_ids[0]], [toy_dataset.items.raw_ids[0]]),
        lambda: model.similar_items([0]),
        lambda: model.save(tmp_path / "never"),
    ):
        with pytest.raises(NotFittedError):
            call()
    assert not (tmp_path / "never").exists()


def test_batch_equals_per_user(fitted, toy_dataset):
    users = np.arange(0, toy_dataset.n_users, 7, dtype=np.int32)
    items, scores = fitted.recommend_indices(users, k=10)
    for row, user in enumerate(users):
        one_items, one_scores = fitted.recommend_indices([user], k=10)
        np.testing.assert_array_equal(one_items[0], items[row])
        np.testing.assert_allclose(one_scores[0], scores[row], rtol=1e-5, atol=1e-6)


def test_output_dtypes_shapes_and_order(fitted, toy_dataset):
    users = np.arange(toy_dataset.n_users)
    items, scores = fitted.recommend_indices(users, k=12)
    assert items.dtype == np.int32 and scores.dtype == np.float32
    assert items.shape == scores.shape == (toy_dataset.n_users, 12)
    dense = fitted.score_users(users[:5])
    assert dense.dtype == np.float32 and dense.shape == (5, toy_dataset.n_items)
    for row_items, row_scores in zip(items, scores, strict=True):
        valid = row_items >= 0
        assert len(np.unique(row_items[valid])) == valid.sum()
        assert np.all(np.diff(row_scores[valid]) <= 0), "scores must be sorted best first"
        assert np.isnan(row_scores[~valid]).all()


def test_recommendations_agree_with_dense_scores(fitted, toy_dataset):
    users = np.arange(10)
    dense = fitted.score_users(users)
    items, scores = fitted.recommend_indices(users, k=5, exclude_seen=False)
    np.testing.assert_allclose(scores, np.take_along_axis(dense, items, axis=1), rtol=1e-6)
    assert np.all(scores[:, -1:] >= np.sort(dense, axis=1)[:, -5:-4] - 1e-6)


def test_seen_items_excluded_by_default_and_included_on_request(fitted, toy_dataset):
    n_users, n_items = toy_dataset.n_users, toy_dataset.n_items
    seen = toy_dataset.interactions.to_csr(n_users, n_items).toarray() > 0
    users = np.arange(n_users)
    items, _ = fitted.recommend_indices(users, k=n_items)
    for u in users:
        assert not seen[u, _valid(items[u])].any()
        assert len(_valid(items[u])) == n_items - seen[u].sum()
    everything, _ = fitted.recommend_indices(users, k=n_items, exclude_seen=False)
    for u in users:
        assert sorted(everything[u].tolist()) == list(range(n_items)), "every item, seen ones included"


def test_candidates_are_respected(fitted, toy_dataset, rng):
    candidates = rng.choice(toy_dataset.n_items, size=15, replace=False)
    users = np.arange(toy_dataset.n_users)
    items, _ = fitted.recommend_indices(users, k=5, candidates=candidates)
    assert np.isin(_valid(items), candidates).all()
    ranked, _ = fitted.recommend_indices(users, k=15, exclude_seen=False, candidates=candidates)
    assert all(sorted(row.tolist()) == sorted(candidates.tolist()) for row in ranked)


def test_empty_candidate_list_gives_padding_only(fitted, toy_dataset):
    # issue 13, item 1: an IndexError (HTTP 500) before, for known and cold users alike
    items, scores = fitted.recommend_indices([0, 1], k=3, candidates=np.zeros(0, np.int32))
    assert items.shape == scores.shape == (2, 3) and (items == -1).all() and np.isnan(scores).all()
    cold, cold_scores = fitted.recommend_cold(toy_dataset.user_features.take(np.arange(2)), k=3, candidates=[])
    assert (cold == -1).all() and np.isnan(cold_scores).all()


def test_k_beyond_catalogue_pads_with_minus_one_and_nan(fitted, toy_dataset):
    k = toy_dataset.n_items + 5
    items, scores = fitted.recommend_indices([0, 1], k=k)
    n_seen = np.diff(fitted.seen_.indptr)[[0, 1]]
    for row in range(2):
        n_valid = toy_dataset.n_items - n_seen[row]
        assert (items[row, :n_valid] >= 0).all() and np.isfinite(scores[row, :n_valid]).all()
        assert (items[row, n_valid:] == -1).all() and np.isnan(scores[row, n_valid:]).all()


def test_raw_id_recommend_matches_indices(fitted, toy_dataset):
    raw_user = toy_dataset.users.raw_ids[4]
    raw_items, scores = fitted.recommend(raw_user, k=6)
    idx_items, idx_scores = fitted.recommend_indices([4], k=6)
    assert raw_items.tolist() == toy_dataset.items.raw(idx_items[0]).tolist()
    np.testing.assert_array_equal(scores, idx_scores[0])
    with pytest.raises(KeyError):
        fitted.recommend(-12345)


def test_save_load_keeps_scores(fitted, toy_dataset, tmp_path):
    path = fitted.save(tmp_path / "model")
    loaded = Recommender.load(path)
    assert type(loaded) is type(fitted)
    # Hyperparameters round-trip; run options (``run_params``: device, progress...) are not saved.
    run = getattr(type(fitted), "run_params", ())
    hyper = {k: v for k, v in fitted.get_params().items() if k not in run}
    assert {k: v for k, v in loaded.get_params().items() if k not in run} == hyper
    users = np.arange(toy_dataset.n_users)
    np.testing.assert_array_equal(loaded.score_users(users), fitted.score_users(users))
    for got, want in zip(loaded.recommend_indices(users, k=10), fitted.recommend_indices(users, k=10), strict=True):
        np.testing.assert_array_equal(got, want)
    if fitted.regresses:
        u, i = toy_dataset.interactions.user[:50], toy_dataset.interactions.item[:50]
        np.testing.assert_array_equal(loaded.predict_indices(u, i), fitted.predict_indices(u, i))


def test_predict_is_aligned_float32_with_nan_for_unknown_ids(fitted, toy_dataset):
    # Pair 3 names an unknown item, pair 4 an unknown user.
    users = [*toy_dataset.users.raw_ids[[0, 1, 2, 3]].tolist(), -1]
    items = [*toy_dataset.items.raw_ids[[5, 6, 7]].tolist(), -99, toy_dataset.items.raw_ids[0]]
    if not fitted.regresses:
        with pytest.raises(NotImplementedError):
            fitted.predict(users, items)
        return
    pred = fitted.predict(users, items)
    assert pred.dtype == np.float32 and pred.shape == (5,)
    assert np.isfinite(pred[:3]).all() and np.isnan(pred[3:]).all()
    direct = fitted.predict_indices([0, 1, 2], [5, 6, 7])
    np.testing.assert_array_equal(pred[:3], direct)


def test_get_params_round_trip(name, fitted):
    params = fitted.get_params()
    assert json.loads(json.dumps(params)) == params, "params must be JSON-friendly"
    clone = create_model(name, **params)
    assert clone.get_params() == params
    assert type(fitted).__name__ in repr(fitted)
    with pytest.raises(TypeError):
        create_model(name, not_a_parameter=1)


def test_cold_users_get_recommendations(fitted, toy_dataset):
    features = toy_dataset.user_features.take(np.arange(3))
    items, scores = fitted.recommend_cold(features, k=5)
    assert items.shape == (3, 5) and items.dtype == np.int32 and scores.dtype == np.float32
    assert (items >= 0).all() and np.isfinite(scores).all()


def test_similar_items_exclude_the_item_itself(fitted):
    try:
        items, scores = fitted.similar_items([0, 1, 2], k=4)
    except NotImplementedError:
        pytest.skip(f"{fitted.name} has no item similarity")
    assert items.dtype == np.int32 and scores.dtype == np.float32 and items.shape == (3, 4)
    for row, item in enumerate([0, 1, 2]):
        assert item not in items[row].tolist()
        valid = items[row] >= 0
        assert valid.any() and np.all(np.diff(scores[row][valid]) <= 0)
