"""``POST /v1/predictions``: aligned predictions, nulls for unknown ids, 409 for ranking-only models."""

from __future__ import annotations

import pytest

from reelrec.serve.schemas import MAX_PAIRS, PredictionsOut


def test_predictions_are_aligned_and_unknowns_are_null(dot_client, dot_model):
    pairs = [{"user_id": 100, "item_id": 5007}, {"user_id": 42, "item_id": 5007}, {"user_id": "103", "item_id": 1}]
    r = dot_client.post("/v1/predictions", json={"pairs": pairs})
    assert r.status_code == 200, r.text
    body = PredictionsOut.model_validate(r.json())
    assert [(p.user_id, p.item_id) for p in body.predictions] == [(100, 5007), (42, 5007), ("103", 1)]
    assert body.predictions[0].prediction == pytest.approx(float(dot_model.predict([100], [5007])[0]), rel=1e-6)
    assert body.predictions[1].prediction is None and body.predictions[2].prediction is None
    assert body.label == "watch_ratio"


def test_ranking_only_model_answers_409(client):
    r = client.post("/v1/predictions", json={"pairs": [{"user_id": 100, "item_id": 5000}]})
    assert r.status_code == 409 and "does not predict watch_ratio" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"pairs": []}, ["body", "pairs"]),
        ({"pairs": [{"user_id": 100}]}, ["body", "pairs", 0, "item_id"]),
        ({"pairs": [{"user_id": 100, "item_id": 5000, "x": 1}]}, ["body", "pairs", 0, "x"]),
        ({"pairs": [{"user_id": 1.5, "item_id": 5000}]}, ["body", "pairs", 0, "user_id"]),
        ({"pairs": [{"user_id": 100, "item_id": 5000}] * (MAX_PAIRS + 1)}, ["body", "pairs"]),
        ({"pair": []}, ["body"]),
    ],
)
def test_bad_prediction_requests_name_the_field(dot_client, body, loc):
    r = dot_client.post("/v1/predictions", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][: len(loc)] == loc
