"""The service over a real two-tower artifact: known users, cold start through its feature pipeline,
predictions, similar videos, and the retriever standing in for the model when scores are dot products."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.artifacts import load_artifact, save_artifact
from reelrec.models import model_class
from reelrec.serve import ServeSettings, create_app, load_state
from reelrec.serve.features import feature_table
from tests.serve.conftest import TestClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_tower_root(tmp_path_factory, toy):
    cls = model_class("two-tower")  # a broken import fails here: the scale-out model must always load
    params = {**cls.fast_params(), "epochs": 1, "refit": False, "device": "cpu", "seed": 0}
    model = cls(**params).fit(toy)
    root = tmp_path_factory.mktemp("two-tower")
    save_artifact(model, root / "auto", dataset=toy)
    model.scoring = "retrieval"  # an inference-time choice: rank by the retrieval head's dot product
    save_artifact(model, root / "retrieval", dataset=toy)
    return root


@pytest.fixture(scope="module")
def tt_client(two_tower_root):
    with TestClient(create_app(ServeSettings(artifact=two_tower_root / "auto"))) as c:
        yield c


def test_known_users_and_predictions_match_the_model(tt_client, two_tower_root):
    model = load_artifact(two_tower_root / "auto", model_class).model
    info = tt_client.get("/v1/model").json()
    assert info["model"] == "two-tower" and info["regresses"] and info["supports_cold_start"] and info["has_similar"]
    body = tt_client.get("/v1/users/103/recommendations", params={"k": 8, "details": True}).json()
    want, want_s = model.recommend(103, k=8)
    assert [it["item_id"] for it in body["items"]] == want.tolist()
    assert [it["score"] for it in body["items"]] == pytest.approx(want_s.tolist(), rel=1e-5, abs=1e-6)
    preds = model.predict(np.full(8, 103), want)
    assert [it["prediction"] for it in body["items"]] == pytest.approx(preds.tolist(), rel=1e-5)
    pairs = [{"user_id": 103, "item_id": int(want[0])}, {"user_id": 103, "item_id": 1}]
    out = tt_client.post("/v1/predictions", json={"pairs": pairs}).json()["predictions"]
    assert out[0]["prediction"] == pytest.approx(float(preds[0]), rel=1e-5) and out[1]["prediction"] is None


def test_cold_start_goes_through_the_feature_pipeline(tt_client, two_tower_root):
    model = load_artifact(two_tower_root / "auto", model_class).model
    state = load_state(two_tower_root / "auto", ServeSettings(artifact=two_tower_root / "auto"))
    features = {"activity": "high", "code": 1, "follows": 3, "age": 30}
    r = tt_client.post("/v1/recommendations", json={"features": features, "k": 6})
    assert r.status_code == 200, r.text
    want, _ = model.recommend_cold(feature_table(features, state.user_feature_kinds), k=6)
    assert [it["item_id"] for it in r.json()["items"]] == model.items_.raw(want[0]).tolist()
    other = tt_client.post("/v1/recommendations", json={"features": {"activity": "low", "age": 65}, "k": 6})
    assert other.status_code == 200
    # Text where the pipeline learned integer codes: a 422 naming the feature, not a 500.
    bad = tt_client.post("/v1/recommendations", json={"features": {"code": "one"}})
    assert bad.status_code == 422, bad.text
    issue = bad.json()["detail"][0]
    assert issue["loc"][:2] == ["body", "features"] and "code" in issue["msg"]


def test_similar_videos_match_the_contract(tt_client, two_tower_root):
    model = load_artifact(two_tower_root / "auto", model_class).model
    body = tt_client.get("/v1/items/5007/similar", params={"k": 5}).json()
    want, _ = model.similar_items(model.items_.index([5007]), k=5)
    assert [it["item_id"] for it in body["items"]] == model.items_.raw(want[0]).tolist()


def test_retrieval_scoring_is_served_by_the_exact_retriever(two_tower_root):
    path = two_tower_root / "retrieval"
    model = load_artifact(path, model_class).model
    state = load_state(path, ServeSettings(artifact=path, retrieval="exact"))
    assert state.retrieval == "exact"  # dot product plus a per-item bias, checked at load
    with TestClient(create_app(ServeSettings(artifact=path, retrieval="exact"))) as c:
        for user in (100, 130, 277):
            got = [it["item_id"] for it in c.get(f"/v1/users/{user}/recommendations").json()["items"]]
            assert got == model.recommend(user, k=10)[0].tolist()
