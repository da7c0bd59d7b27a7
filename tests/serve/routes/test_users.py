"""``/v1/users``: listing, history and the GET recommendations hot path, success and error paths."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.serve.schemas import HistoryOut, RecommendationsOut, UsersOut


def test_recommendations_match_the_model_and_skip_seen(client, toy):
    from reelrec.models import create_model

    model = create_model("popularity").fit(toy)
    r = client.get("/v1/users/103/recommendations", params={"k": 7})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = RecommendationsOut.model_validate(r.json())
    want, want_s = model.recommend(103, k=7)
    assert [it.item_id for it in body.items] == want.tolist()
    assert [it.score for it in body.items] == pytest.approx(want_s.tolist())
    assert body.user_id == 103 and body.k == 7 and body.exclude_seen and not body.cold_start
    assert body.model == "popularity" and body.artifact_id == client.get("/health").json()["artifact_id"]
    seen = set(toy.items.raw(toy.interactions.item[toy.interactions.user == 1]).tolist())
    assert not seen & {it.item_id for it in body.items}
    # Compact: no detail keys unless asked for; popularity predicts no watch ratio.
    assert set(r.json()["items"][0]) == {"item_id", "score", "predicted_watch_ratio"}
    assert r.json()["items"][0]["predicted_watch_ratio"] is None


def test_exclude_seen_false_and_details(client, toy):
    r = client.get("/v1/users/100/recommendations", params={"k": 90, "exclude_seen": "false", "details": "true"})
    body = r.json()
    assert len(body["items"]) == toy.n_items  # nothing excluded
    first = body["items"][0]
    assert set(first) == {"item_id", "score", "predicted_watch_ratio", "prediction", "features"}
    assert first["prediction"] is None and first["predicted_watch_ratio"] is None
    idx = toy.items.index([first["item_id"]])[0]
    assert first["features"]["tags"] == toy.item_features.frame["tags"][int(idx)].to_list()


def test_fewer_items_than_k_when_the_catalogue_runs_out(client, toy):
    body = client.get("/v1/users/100/recommendations", params={"k": 1000}).json()
    n_seen = len(np.unique(toy.interactions.item[toy.interactions.user == 0]))
    assert len(body["items"]) == toy.n_items - n_seen


def test_embedding_model_recommendations_use_the_retriever(dot_client, dot_model):
    assert dot_client.get("/health").json()["retrieval"] == "exact"
    body = dot_client.get("/v1/users/106/recommendations", params={"k": 5, "details": True}).json()
    want, _ = dot_model.recommend(106, k=5)
    assert [it["item_id"] for it in body["items"]] == want.tolist()
    preds = [it["prediction"] for it in body["items"]]
    expected = dot_model.predict(np.full(5, 106), want)
    assert preds == pytest.approx(expected.tolist(), rel=1e-5)


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/v1/users/1/recommendations", 404, None),
        ("/v1/users/abc/recommendations", 404, None),
        ("/v1/users/100/recommendations?k=0", 422, "k"),
        ("/v1/users/100/recommendations?k=1001", 422, "k"),
        ("/v1/users/100/recommendations?k=ten", 422, "k"),
        ("/v1/users/100/recommendations?exclude_seen=maybe", 422, "exclude_seen"),
        ("/v1/users/100/recommendations?top=5", 422, "top"),
        ("/v1/users/1/history", 404, None),
        ("/v1/users/100/history?limit=0", 422, "limit"),
        ("/v1/users?limit=5000", 422, "limit"),
        ("/v1/users?offset=-1", 422, "offset"),
    ],
)
def test_errors_name_the_id_or_field(client, url, status, field):
    r = client.get(url)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    if status == 404:
        raw = url.split("/")[3]
        assert f"unknown user_id '{raw}'" in detail
    else:
        assert detail[0]["loc"] == ["query", field] and detail[0]["msg"]
    assert "Traceback" not in r.text


def test_history_is_most_recent_first(client, toy):
    r = client.get("/v1/users/100/history", params={"limit": 5})
    body = HistoryOut.model_validate(r.json())
    inter = toy.interactions
    rows = np.flatnonzero(inter.user == 0)
    rows = rows[np.argsort(inter.timestamp[rows], kind="stable")][::-1][:5]
    assert [it.item_id for it in body.items] == toy.items.raw(inter.item[rows]).tolist()
    assert [it.label for it in body.items] == pytest.approx(inter.label[rows].tolist())
    assert body.label == "watch_ratio" and body.items[0].features is not None


def test_user_listing_pages(client, toy):
    body = UsersOut.model_validate(client.get("/v1/users", params={"limit": 4, "offset": 2}).json())
    assert body.total == toy.n_users and body.offset == 2
    assert body.users == toy.users.raw_ids[2:6].tolist()
