"""Serving state: id lookups, aligned display rows, when the retriever may replace the model, atomic swap."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data import IdMap
from reelrec.serve import ServeSettings, build_state, load_state
from reelrec.serve.state import IdLookup, ModelHolder
from tests.serve.conftest import DotModel, memory_artifact


def test_integer_lookup_accepts_canonical_text_only():
    ids = IdLookup(IdMap(np.array([5, 42, -3])))
    assert ids.get(42) == 1 and ids.get("42") == 1 and ids.get("-3") == 2
    for bad in (" 42", "4_2", "+42", "042", "-03", "42.0", "x", "", True):
        assert ids.get(bad) is None, bad
    assert ids.get(7) is None
    assert ids.many([42, "5", "nope", 99]).tolist() == [1, 0, -1, -1]
    assert ids.many([]).dtype == np.int32


def test_string_lookup_takes_integers_by_their_text():
    ids = IdLookup(IdMap(np.array(["u1", "7"])))
    assert ids.get("u1") == 0 and ids.get(7) == 1 and ids.get("u2") is None
    assert ids.raw == ["u1", "7"]


def test_popularity_state_uses_the_model_and_aligns_display_rows(artifact_root, toy):
    settings = ServeSettings(artifact=artifact_root / "a")
    state = load_state(artifact_root / "a", settings)
    assert state.retrieval == "model" and state.ranker is None and state.similar is None
    assert state.artifact_id and state.model_name == "popularity" and state.load_seconds > 0
    assert state.user_feature_kinds == toy.user_features.kinds
    assert state.label_name == "watch_ratio"
    assert state.display is not None and state.display.height == toy.n_items
    tags = toy.item_features.frame["tags"].to_list()
    assert state.display["tags"].to_list() == tags
    seen = state.seen(0)
    assert set(seen.tolist()) == set(toy.interactions.item[toy.interactions.user == 0].tolist())


def test_display_rows_follow_model_order_even_if_the_table_is_shuffled(artifact_root, toy, dot_model):
    art = memory_artifact(dot_model, toy, artifact_root / "x", "shuffled")
    frame = art.items
    order = np.random.default_rng(0).permutation(frame.height)
    art.items = pl.concat([frame[order[:-1]], pl.DataFrame({"item_id": [999_999], "tags": [[1]], "category": ["z"]})])
    state = build_state(art, ServeSettings(artifact=artifact_root / "a"))
    missing = int(order[-1])
    assert state.display.height == toy.n_items
    assert state.display["category"][missing] is None
    i = (missing + 1) % toy.n_items
    assert state.display["category"][i] == toy.item_features.frame["category"][i]


def test_dot_product_models_get_a_retriever_others_do_not(artifact_root, toy):
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    plain = build_state(memory_artifact(DotModel().fit(toy), toy, artifact_root, "p"), settings)
    assert plain.retrieval == "exact" and plain.user_vectors.shape == (toy.n_users, 6)
    assert plain.similar is not None and plain.similar.kind == "exact"
    # An item bias becomes one more coordinate.
    biased = build_state(memory_artifact(DotModel(item_bias=True).fit(toy), toy, artifact_root, "b"), settings)
    assert biased.retrieval == "exact" and biased.user_vectors.shape == (toy.n_users, 7)
    # Without user vectors, known users go through the model; similar items still use the embeddings.
    hidden = build_state(memory_artifact(DotModel(expose_users=False).fit(toy), toy, artifact_root, "h"), settings)
    assert hidden.retrieval == "model" and hidden.similar is not None


def test_user_vectors_that_do_not_reproduce_the_scores_are_not_trusted(artifact_root, toy):
    model = DotModel().fit(toy)
    model.user_emb_ = model.user_emb_.copy()
    model._score = lambda users: np.tanh(model.user_emb_[users] @ model.item_emb_.T)  # not a dot product
    state = build_state(memory_artifact(model, toy, artifact_root, "t"), ServeSettings(artifact=artifact_root / "a"))
    assert state.retrieval == "model" and state.ranker is None


def test_ann_is_chosen_above_the_threshold(artifact_root, toy, dot_model):
    settings = ServeSettings(artifact=artifact_root / "a", ann_min_items=10, ann_nprobe=4)
    state = build_state(memory_artifact(dot_model, toy, artifact_root, "ann"), settings)
    assert state.retrieval == "ann" and state.similar.kind == "ann"


def test_bad_embeddings_are_refused(artifact_root, toy):
    model = DotModel().fit(toy)
    model.item_emb_ = model.item_emb_[:-1]
    with pytest.raises(ValueError, match="item_embeddings"):
        build_state(memory_artifact(model, toy, artifact_root, "bad"), ServeSettings(artifact=artifact_root / "a"))


def test_holder_swap_returns_the_previous_state(artifact_root):
    settings = ServeSettings(artifact=artifact_root / "a")
    a, b = load_state(artifact_root / "a", settings), load_state(artifact_root / "b", settings)
    holder = ModelHolder(a)
    assert holder.swap(b) is a and holder.current is b
    assert a.artifact_id != b.artifact_id
