"""The service over a real artifact of the default model (the hybrid), on a real uvicorn server:
known users, predictions, cold start from features, a recent history and similar videos all answer
as the model itself does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from reelrec.artifacts import load_artifact, save_artifact
from reelrec.data import Dataset
from reelrec.models import DEFAULT_MODEL, Recommender, create_model, model_class
from reelrec.serve import ServeSettings, create_app, load_state
from reelrec.serve.features import feature_table
from tests.serve.conftest import live_server


@pytest.fixture(scope="module")
def default_artifact(tmp_path_factory: pytest.TempPathFactory, toy: Dataset) -> Path:
    model = create_model(DEFAULT_MODEL, **model_class(DEFAULT_MODEL).fast_params(), seed=0).fit(toy)
    path = tmp_path_factory.mktemp("default") / "art"
    save_artifact(model, path, dataset=toy)
    return path


@pytest.fixture(scope="module")
def served(default_artifact: Path) -> Iterator[tuple[str, Recommender]]:
    model = load_artifact(default_artifact, model_class).model
    with live_server(create_app(ServeSettings(artifact=default_artifact))) as url:
        yield url, model


def test_the_default_is_the_hybrid_and_its_artifact_describes_it(served):
    url, model = served
    info = httpx.get(f"{url}/v1/model", timeout=30).json()
    assert DEFAULT_MODEL == "hybrid" and info["model"] == DEFAULT_MODEL
    assert info["regresses"] and info["supports_cold_start"]


def test_known_user_ranking_and_predictions_match_the_model(served):
    url, model = served
    body = httpx.get(f"{url}/v1/users/103/recommendations", params={"k": 8, "details": True}, timeout=30).json()
    want, want_scores = model.recommend(103, k=8)
    assert [it["item_id"] for it in body["items"]] == want.tolist()
    assert [it["score"] for it in body["items"]] == pytest.approx(want_scores.tolist(), rel=1e-5, abs=1e-6)
    predicted = model.predict(np.full(len(want), 103), want)
    assert [it["predicted_watch_ratio"] for it in body["items"]] == pytest.approx(predicted.tolist(), rel=1e-5)


def test_cold_start_and_recent_history_answer_as_the_model_does(served, default_artifact):
    url, model = served
    state = load_state(default_artifact, ServeSettings(artifact=default_artifact))
    features = {"activity": "high", "code": 1, "follows": 3, "age": 30}
    cold = httpx.post(f"{url}/v1/recommendations", json={"features": features, "k": 6}, timeout=30)
    assert cold.status_code == 200, cold.text
    want, _ = model.recommend_cold(feature_table(features, state.user_feature_kinds), k=6)
    assert [it["item_id"] for it in cold.json()["items"]] == model.items_.raw(want[0]).tolist()

    first = [it["item_id"] for it in cold.json()["items"]][:3]
    history = [{"item_id": first[0], "watch_ratio": 2.5}, {"item_id": first[1]}, {"item_id": first[2], "skipped": True}]
    r = httpx.post(f"{url}/v1/recommendations", json={"user_id": 103, "k": 8, "history": history}, timeout=30)
    assert r.status_code == 200, r.text
    served_ids = [it["item_id"] for it in r.json()["items"]]
    assert not set(first) & set(served_ids)
    want_ids, _ = model.recommend_session(model.history_from_records(history), k=8, user=103)
    assert served_ids == np.asarray(want_ids).tolist()


def test_similar_videos_come_from_the_model(served):
    url, model = served
    item = int(model.items_.raw_ids[0])
    body = httpx.get(f"{url}/v1/items/{item}/similar", params={"k": 5}, timeout=30).json()
    want, _ = model.similar_items(model.items_.index([item]), k=5)
    assert [it["item_id"] for it in body["items"]] == model.items_.raw(want[0]).tolist()
