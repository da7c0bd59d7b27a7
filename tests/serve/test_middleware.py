"""Middleware: 413 for oversized bodies (declared or streamed), per-route-template metrics, nosniff."""

from __future__ import annotations

import json

from reelrec.serve import ServeSettings, create_app
from tests.serve.conftest import TestClient


def small_client(artifact_root, limit=2048):
    return TestClient(create_app(ServeSettings(artifact=artifact_root / "a", max_body_bytes=limit)))


def test_declared_length_over_the_limit_is_413(artifact_root):
    with small_client(artifact_root) as c:
        body = json.dumps({"user_id": 100, "exclude": list(range(2000))})
        r = c.post("/v1/recommendations", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": "request body is larger than 2048 bytes"}
        # Just under the limit is fine.
        ok = c.post("/v1/recommendations", json={"user_id": 100, "exclude": list(range(300))})
        assert ok.status_code == 200


def test_streamed_body_over_the_limit_is_413(artifact_root):
    def chunks():
        yield b'{"user_id": 100, "exclude": ['
        for _ in range(400):
            yield b"1, 2, 3, 4, 5, "
        yield b"6]}"

    with small_client(artifact_root) as c:
        r = c.post("/v1/recommendations", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413 and "2048 bytes" in r.json()["detail"]
        assert c.get("/health").status_code == 200


def test_metrics_use_route_templates_not_ids(client):
    client.get("/v1/users/100/recommendations")
    client.get("/v1/users/103/recommendations")
    client.get("/no/such/page")
    text = client.get("/metrics").text
    assert 'route="/v1/users/{user_id}/recommendations",status="200"} 2' in text
    assert 'route="unmatched",status="404"} 1' in text
    assert "/v1/users/100" not in text


def test_every_response_says_nosniff(client):
    for path in ("/health", "/nope", "/metrics", "/"):
        assert client.get(path).headers["x-content-type-options"] == "nosniff"
