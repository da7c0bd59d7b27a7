"""``POST /v1/recommendations``: known users, cold start, candidates, exclusions, and every bad input."""

from __future__ import annotations

import pytest

from reelrec.serve.schemas import RecommendationsOut


def post(client, body):
    return client.post("/v1/recommendations", json=body)


def test_known_user_with_candidates_and_exclusions(client, toy):
    cand = toy.items.raw_ids[:12].tolist()
    r = post(client, {"user_id": 103, "k": 20, "candidates": cand, "exclude": [*cand[:2], 123456789]})
    assert r.status_code == 200, r.text
    body = RecommendationsOut.model_validate(r.json())
    got = [it.item_id for it in body.items]
    assert set(got) <= set(cand[2:]) and len(got) < 20 and not body.cold_start
    assert [it.score for it in body.items] == sorted((it.score for it in body.items), reverse=True)


def test_known_user_ignores_features_and_string_ids_work(client):
    a = post(client, {"user_id": 103, "k": 5}).json()
    b = post(client, {"user_id": "103", "k": 5, "features": {"age": 20}}).json()
    assert a["items"] == b["items"] and b["cold_start"] is False and b["user_id"] == 103


def test_cold_start_from_features(client):
    r = post(client, {"features": {"activity": "high", "age": 25, "follows": 3}, "k": 4, "details": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cold_start"] is True and body["user_id"] is None and len(body["items"]) == 4
    assert body["items"][0]["features"] is not None
    # An unknown id with features is a new user, not an error.
    r2 = post(client, {"user_id": "newcomer", "features": {"age": 25}, "k": 4})
    assert r2.status_code == 200 and r2.json()["cold_start"] is True and r2.json()["user_id"] == "newcomer"


def test_cold_start_uses_the_features(dot_client):
    young = post(dot_client, {"features": {"age": 16, "follows": 1}, "k": 10}).json()["items"]
    old = post(dot_client, {"features": {"age": 70, "follows": 900}, "k": 10}).json()["items"]
    assert [i["item_id"] for i in young] != [i["item_id"] for i in old]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"user_id": 1}, 404, None),
        ({}, 422, ["body"]),
        ({"user_id": 100, "k": 0}, 422, ["body", "k"]),
        ({"user_id": 100, "k": "5"}, 422, ["body", "k"]),
        ({"user_id": 100, "k": 5.5}, 422, ["body", "k"]),
        ({"user_id": 100, "exclude_seen": 1}, 422, ["body", "exclude_seen"]),
        ({"user_id": True}, 422, ["body", "user_id"]),
        ({"user_id": 100, "colour": "red"}, 422, ["body", "colour"]),
        ({"user_id": 100, "candidates": [5000, 1, 2]}, 422, ["body", "candidates"]),
        ({"user_id": 100, "candidates": "5000"}, 422, ["body", "candidates"]),
        ({"features": {"height": 180}}, 422, ["body", "features", "height"]),
        ({"features": {"age": "old"}}, 422, ["body", "features", "age"]),
        ({"features": {"age": {"deep": 1}}}, 422, ["body", "features", "age"]),
    ],
)
def test_bad_requests(client, body, status, loc):
    r = post(client, body)
    assert r.status_code == status, r.text
    if status == 404:
        assert "unknown user_id 1" in r.json()["detail"]
    else:
        issue = r.json()["detail"][0]
        assert issue["loc"][: len(loc)] == loc and issue["msg"]
    assert "Traceback" not in r.text


def test_unknown_candidates_are_listed(client):
    r = post(client, {"user_id": 100, "candidates": [5000, 1, 2]})
    assert "2 of 3 video ids are not in the catalogue: 1, 2" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("content", "ctype"),
    [(b"{not json", "application/json"), (b'{"user_id": 100}', "text/plain"), (b"", "application/json"),
     (b"[1, 2]", "application/json"), (b'{"user_id": NaN}', "application/json")],
)
def test_malformed_or_non_json_bodies_are_422(client, content, ctype):
    r = client.post("/v1/recommendations", content=content, headers={"content-type": ctype})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "body"


def test_model_without_cold_start_answers_409(dot_client, dot_model, monkeypatch):
    monkeypatch.setattr(type(dot_model), "supports_cold_start", False)
    r = post(dot_client, {"features": {"age": 30}})
    assert r.status_code == 409 and "cannot recommend for new users" in r.json()["detail"]
