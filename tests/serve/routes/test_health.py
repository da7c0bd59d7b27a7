"""``GET /health`` and ``GET /v1/model``: what is loaded and what it can do."""

from __future__ import annotations

import os

from reelrec.serve.schemas import HealthOut, ModelOut


def test_health_reports_the_artifact(client, toy, artifact_root):
    body = HealthOut.model_validate(client.get("/health").json())
    manifest_id = (artifact_root / "a" / "manifest.json").read_text()
    assert body.status == "ok" and body.model == "popularity" and body.artifact_id in manifest_id
    assert body.n_items == toy.n_items and body.n_users == toy.n_users and body.retrieval == "model"
    assert body.pid == os.getpid() and body.loaded_at.endswith("+00:00")
    assert client.get("/health?verbose=1").status_code == 422


def test_model_info_lists_capabilities(client, dot_client, toy):
    pop = ModelOut.model_validate(client.get("/v1/model").json())
    assert pop.model == "popularity" and not pop.regresses and not pop.has_similar
    assert pop.supports_cold_start and pop.user_features == toy.user_features.kinds
    assert pop.item_columns == ["tags", "category"] and pop.metrics == {"ndcg@10": 0.1}
    dot = ModelOut.model_validate(dot_client.get("/v1/model").json())
    assert dot.regresses and dot.has_similar and dot.retrieval == "exact" and dot.params["dim"] == 6
