"""``/v1/items``: display features and nearest videos; unknown ids 404, models without embeddings 409."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.serve.schemas import ItemOut, SimilarOut


def test_similar_items_by_cosine(dot_client, dot_model):
    r = dot_client.get("/v1/items/5007/similar", params={"k": 6})
    assert r.status_code == 200, r.text
    body = SimilarOut.model_validate(r.json())
    want, want_s = dot_model.similar_items(dot_model.items_.index([5007]), k=6)
    assert [it.item_id for it in body.items] == dot_model.items_.raw(want[0]).tolist()
    assert [it.score for it in body.items] == pytest.approx(want_s[0].tolist(), rel=1e-5)
    assert 5007 not in [it.item_id for it in body.items] and body.item_id == 5007
    details = dot_client.get("/v1/items/5007/similar", params={"k": 2, "details": True}).json()
    assert details["items"][0]["features"]["category"] in ("a", "b")


def test_item_features(client, toy):
    body = ItemOut.model_validate(client.get("/v1/items/5014").json())
    i = int(toy.items.index([5014])[0])
    assert body.features == {"tags": toy.item_features.frame["tags"][i].to_list(),
                             "category": toy.item_features.frame["category"][i]}


@pytest.mark.parametrize(
    ("url", "status"),
    [("/v1/items/4/similar", 404), ("/v1/items/x/similar", 404), ("/v1/items/5000/similar?k=0", 422),
     ("/v1/items/5000/similar?n=3", 422), ("/v1/items/77", 404)],
)
def test_item_errors(dot_client, url, status):
    r = dot_client.get(url)
    assert r.status_code == status
    if status == 404:
        assert "unknown item_id" in r.json()["detail"]


def test_model_without_embeddings_answers_409(client):
    r = client.get("/v1/items/5000/similar")
    assert r.status_code == 409 and "no item embedding space" in r.json()["detail"]


def test_similar_scores_are_cosines(dot_client):
    scores = [it["score"] for it in dot_client.get("/v1/items/5000/similar", params={"k": 20}).json()["items"]]
    assert np.all(np.diff(scores) <= 1e-7) and max(scores) <= 1.0 + 1e-6
