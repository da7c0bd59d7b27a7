"""``POST /v1/recommendations`` with a recent ``history``, ``scoring`` and ``rules``, over a real uvicorn server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from reelrec.data import Dataset
from reelrec.models import Recommender, create_model
from reelrec.serve import ServeSettings, build_state, create_app
from reelrec.serve.schemas import RecommendationsOut
from tests.serve.conftest import DotModel, live_server, memory_artifact


@pytest.fixture(scope="module")
def pop_url(artifact_root: Path) -> Iterator[str]:
    """The popularity artifact ``a`` (no item similarity, does not regress)."""
    with live_server(create_app(ServeSettings(artifact=artifact_root / "a"))) as url:
        yield url


@pytest.fixture(scope="module")
def dot_url(dot_model: DotModel, toy: Dataset, artifact_root: Path) -> Iterator[str]:
    """An embedding model that regresses and supports cold start (item similarity by cosine)."""
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    state = build_state(memory_artifact(dot_model, toy, artifact_root / "dot", "dot000000002"), settings)
    with live_server(create_app(settings, state=state)) as url:
        yield url


def post(url: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/recommendations", json=body, timeout=30)


def ids(response: httpx.Response) -> list:
    assert response.status_code == 200, response.text
    RecommendationsOut.model_validate(response.json())
    return [it["item_id"] for it in response.json()["items"]]


def test_history_videos_are_never_recommended_back(pop_url):
    r_before = post(pop_url, {"user_id": 103, "k": 8})
    before = ids(r_before)
    watched = before[:3]
    history = [
        {"item_id": watched[0], "watch_ratio": 1.2}, {"item_id": watched[1]}, {"item_id": watched[2], "skipped": True}
    ]
    r_after = post(pop_url, {"user_id": 103, "k": 8, "history": history})
    after = ids(r_after)
    assert not set(watched) & set(after) and len(after) == 8
    # Popularity ignores the history otherwise: the rest keeps its scores (ties may swap places).
    scores = [it["score"] for it in r_before.json()["items"]]
    assert [it["score"] for it in r_after.json()["items"]][:5] == scores[3:]


def test_new_user_served_from_a_history_alone(pop_url, toy):
    watched = toy.items.raw_ids[:4].tolist()
    r = post(pop_url, {"history": [{"item_id": i, "timestamp": 1_700_000_000 + n} for n, i in enumerate(watched)]})
    got = ids(r)
    body = r.json()
    assert body["cold_start"] is True and body["user_id"] is None and len(got) == 10
    assert not set(watched) & set(got)
    assert all(it["predicted_watch_ratio"] is None and it["because"] is None for it in body["items"])


def test_new_user_with_features_and_history(dot_url, toy):
    watched = toy.items.raw_ids[10:13].tolist()
    r = post(dot_url, {"features": {"age": 22, "follows": 4}, "history": [{"item_id": i} for i in watched], "k": 6})
    got = ids(r)
    assert r.json()["cold_start"] is True and not set(watched) & set(got)
    plain = ids(post(dot_url, {"features": {"age": 22, "follows": 4}, "k": 20}))
    assert [i for i in plain if i not in watched][:6] == got


def test_unknown_user_id_with_only_a_history_is_404(pop_url, toy):
    r = post(pop_url, {"user_id": 999999, "history": [{"item_id": toy.items.raw_ids[0].item()}]})
    assert r.status_code == 404 and "999999" in r.json()["detail"]


def reacting_model(toy: Dataset) -> Recommender | None:
    """A registered model that folds a history into its ranking, fitted on ``toy``; ``None`` if none does."""
    for name in ("mf", "ease", "itemknn"):
        model = create_model(name)
        if type(model)._score_sessions is not Recommender._score_sessions:
            return type(model)(**{**model.get_params(), **type(model).fast_params()}).fit(toy)
    return None


def test_history_changes_the_ranking_of_a_model_that_folds_it_in(toy, artifact_root):
    model = reacting_model(toy)
    if model is None:
        pytest.skip("no registered model overrides _score_sessions in this build; exclusion is tested above")
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    state = build_state(memory_artifact(model, toy, artifact_root / model.name, "react0000001"), settings)
    with live_server(create_app(settings, state=state)) as url:
        plain = ids(post(url, {"history": [], "k": 10}))
        watched = toy.items.raw_ids[[5, 40, 77]].tolist()
        folded = ids(post(url, {"history": [{"item_id": i, "watch_ratio": 2.0} for i in watched], "k": 10}))
    rest = [i for i in plain if i not in watched]
    assert folded != rest[: len(folded)]


def test_because_names_the_most_similar_watched_video(dot_url, dot_model, toy):
    raw = toy.items.raw_ids
    watched, skipped = [3, 30, 60], 45
    history = [{"item_id": raw[i].item(), "watch_ratio": 1.0} for i in watched]
    history.append({"item_id": raw[skipped].item(), "skipped": True})
    r = post(dot_url, {"user_id": 103, "k": 10, "history": history})
    items = r.json()["items"]
    assert len(ids(r)) == 10
    emb = dot_model.item_embeddings()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    index = {v: n for n, v in enumerate(raw.tolist())}
    for it in items:
        cos = unit[watched] @ unit[index[it["item_id"]]]
        if cos.max() > 0:
            assert it["because"] == raw[watched[int(np.argmax(cos))]].item()
        else:
            assert it["because"] is None
        assert it["because"] != raw[skipped].item()
    assert any(it["because"] is not None for it in items)
    # No history: no reason.
    plain = post(dot_url, {"user_id": 103, "k": 5}).json()["items"]
    assert all(it["because"] is None for it in plain)


def test_predicted_watch_ratio_for_known_users_of_a_regressing_model(dot_url, dot_model, toy):
    r = post(dot_url, {"user_id": 103, "k": 5, "history": [{"item_id": toy.items.raw_ids[7].item()}]})
    items = r.json()["items"]
    expected = dot_model.predict(np.full(len(items), 103), [it["item_id"] for it in items])
    assert np.allclose([it["predicted_watch_ratio"] for it in items], expected, rtol=1e-5)
    cold = post(dot_url, {"features": {"age": 30}, "history": [], "k": 3}).json()["items"]
    assert len(cold) == 3 and all(it["predicted_watch_ratio"] is None for it in cold)


def test_scoring_is_passed_through(dot_url):
    default = ids(post(dot_url, {"user_id": 103, "k": 5}))
    assert ids(post(dot_url, {"user_id": 103, "k": 5, "scoring": "score"})) == default


@pytest.mark.parametrize(
    ("history", "loc"),
    [
        ([{"item_id": 100, "watch_ratio": "high"}], ["body", "history", 0, "watch_ratio"]),
        ([{"item_id": 100, "watch_ratio": -0.5}], ["body", "history", 0, "watch_ratio"]),
        ([{"item_id": 100}, {"item_id": 101, "skipped": 1}], ["body", "history", 1, "skipped"]),
        ([{"item_id": 100, "timestamp": "yesterday"}], ["body", "history", 0, "timestamp"]),
        ([{"watch_ratio": 1.0}], ["body", "history", 0, "item_id"]),
        ([{"item_id": 100, "liked": True}], ["body", "history", 0, "liked"]),
        ([{"item_id": True}], ["body", "history", 0, "item_id"]),
        ("100", ["body", "history"]),
        ([{"item_id": 100}] * 1001, ["body", "history"]),
    ],
)
def test_bad_history_entries_are_422_naming_the_field(pop_url, history, loc):
    r = post(pop_url, {"user_id": 103, "history": history})
    assert r.status_code == 422, r.text
    issue = r.json()["detail"][0]
    assert issue["loc"][: len(loc)] == loc and issue["msg"]


def test_unknown_history_videos_are_422_naming_them(pop_url, toy):
    good = toy.items.raw_ids[0].item()
    r = post(pop_url, {"user_id": 103, "history": [{"item_id": good}, {"item_id": 987654}, {"item_id": "x7"}]})
    assert r.status_code == 422, r.text
    issue = r.json()["detail"][0]
    assert issue["loc"] == ["body", "history", 1, "item_id"]
    assert "987654" in issue["msg"] and "'x7'" in issue["msg"] and "2 of 3" in issue["msg"]


def test_unknown_scoring_is_422_listing_the_rules(pop_url):
    r = post(pop_url, {"user_id": 103, "scoring": "freshest"})
    assert r.status_code == 422, r.text
    issue = r.json()["detail"][0]
    assert issue["loc"] == ["body", "scoring"] and "'freshest'" in issue["msg"] and "score" in issue["msg"]
    assert httpx.get(f"{pop_url}/v1/model").json()["scorings"] == ["score"]


@pytest.mark.parametrize(
    ("rules", "loc"),
    [
        ({"max_per_tag": 0}, ["body", "rules", "max_per_tag"]),
        ({"explore_share": 1.5}, ["body", "rules", "explore_share"]),
        ({"max_per_genre": 2}, ["body", "rules", "max_per_genre"]),
    ],
)
def test_bad_rules_are_422(pop_url, rules, loc):
    r = post(pop_url, {"user_id": 103, "rules": rules})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][: len(loc)] == loc


def test_rules_cap_videos_per_first_tag(dot_url):
    body = {"user_id": 103, "k": 6, "details": True, "history": [], "rules": {"max_per_tag": 2}}
    r = post(dot_url, body)
    got = ids(r)
    firsts = [it["features"]["tags"][0] for it in r.json()["items"]]
    assert len(got) == 6 and max(Counter(firsts).values()) <= 2
    plain = post(dot_url, {**body, "rules": None}).json()["items"]
    assert max(Counter(it["features"]["tags"][0] for it in plain).values()) > 2, "the cap had nothing to do"


def test_server_default_rules_apply_and_requests_override_them(dot_model, toy, artifact_root):
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact", feed_max_per_tag=2)
    state = build_state(memory_artifact(dot_model, toy, artifact_root / "dot", "dot000000003"), settings)
    with live_server(create_app(settings, state=state)) as url:
        default = post(url, {"user_id": 103, "k": 6, "details": True}).json()["items"]
        one = post(url, {"user_id": 103, "k": 3, "details": True, "rules": {"max_per_tag": 1}}).json()["items"]
    assert len(default) == 6 and max(Counter(it["features"]["tags"][0] for it in default).values()) <= 2
    assert len(one) == 3 and len({it["features"]["tags"][0] for it in one}) == 3
