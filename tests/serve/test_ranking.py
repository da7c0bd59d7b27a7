"""Ranking operations: the retriever path gives exactly what the model's own contract gives."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.serve import ServeSettings, build_state, load_state
from reelrec.serve.features import feature_table
from reelrec.serve.ranking import UnsupportedError, predict_pairs, recommend_new, recommend_user, similar_items
from tests.serve.conftest import DotModel, memory_artifact


@pytest.fixture(params=[False, True], ids=["plain", "item-bias"])
def dot_state(request, artifact_root, toy):
    model = DotModel(item_bias=request.param).fit(toy)
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    return build_state(memory_artifact(model, toy, artifact_root, "dot"), settings)


def test_retriever_path_equals_model_contract(dot_state, toy):
    assert dot_state.retrieval == "exact"
    model = dot_state.model
    extra = np.array([3, 4, 5], np.int32)
    for user in range(0, toy.n_users, 7):
        for exclude_seen in (True, False):
            got_i, got_s = recommend_user(dot_state, user, 10, exclude_seen, exclude=extra)
            want_i, want_s = model.recommend_indices([user], 10, exclude_seen, exclude=[extra])
            assert got_i.tolist() == want_i[0].tolist()
            np.testing.assert_allclose(got_s, want_s[0], rtol=1e-4, atol=1e-5)
            assert not set(got_i.tolist()) & {3, 4, 5}
            if exclude_seen:
                assert not set(got_i.tolist()) & set(dot_state.seen(user).tolist())


def test_candidates_go_through_the_model(dot_state):
    cand = np.array([10, 20, 30, 40], np.int32)
    got, _ = recommend_user(dot_state, 1, 10, False, candidates=cand)
    assert set(got[got >= 0].tolist()) <= set(cand.tolist()) and (got[4:] == -1).all()


def test_single_user_fast_path_equals_recommend_indices(artifact_root, toy):
    state = load_state(artifact_root / "a", ServeSettings(artifact=artifact_root / "a"))
    assert state.plain_ranking and state.ranker is None
    extra = np.array([0, 1, 2, 50], np.int32)
    for user in range(toy.n_users):
        for exclude_seen, exc in ((True, None), (False, None), (True, extra)):
            got, scores = recommend_user(state, user, 12, exclude_seen, exclude=exc)
            lists = None if exc is None else [exc]
            want, want_s = state.model.recommend_indices([user], 12, exclude_seen, exclude=lists)
            assert got.tolist() == want[0].tolist()
            np.testing.assert_array_equal(scores, want_s[0])


def test_popularity_path_and_cold_start(artifact_root, toy):
    state = load_state(artifact_root / "a", ServeSettings(artifact=artifact_root / "a"))
    got, scores = recommend_user(state, 2, 5)
    assert (np.diff(scores) <= 0).all()
    table = feature_table({"activity": "high"}, state.user_feature_kinds)
    cold, _ = recommend_new(state, table, 5, exclude=np.array([got[0]], np.int32))
    assert got[0] not in cold.tolist()
    with pytest.raises(UnsupportedError, match="does not predict watch_ratio"):
        predict_pairs(state, np.array([0], np.int32), np.array([0], np.int32))
    with pytest.raises(UnsupportedError, match="no item embedding space"):
        similar_items(state, 0, 5)


def test_cold_start_depends_on_features(dot_state):
    kinds = dot_state.user_feature_kinds
    young, _ = recommend_new(dot_state, feature_table({"age": 16, "follows": 1}, kinds), 10)
    old, _ = recommend_new(dot_state, feature_table({"age": 70, "follows": 900}, kinds), 10)
    assert young.tolist() != old.tolist()


def test_predictions_align_with_pairs_and_unknowns_are_nan(dot_state):
    users = np.array([0, -1, 2], np.int32)
    items = np.array([1, 1, -1], np.int32)
    out = predict_pairs(dot_state, users, items)
    assert out.dtype == np.float32 and out.shape == (3,)
    assert out[0] == pytest.approx(dot_state.model.predict_indices([0], [1])[0])
    assert np.isnan(out[1:]).all()


def test_similar_items_match_the_contract_cosine(dot_state):
    got, scores = similar_items(dot_state, 4, 8)
    want, want_s = dot_state.model.similar_items([4], 8)
    assert got.tolist() == want[0].tolist() and 4 not in got.tolist()
    np.testing.assert_allclose(scores, want_s[0], rtol=1e-5)
    assert scores.max() <= 1.0 + 1e-6
