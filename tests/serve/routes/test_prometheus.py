"""``GET /metrics``: Prometheus text with the requests this worker answered."""

from __future__ import annotations

from reelrec.serve.metrics import CONTENT_TYPE


def test_metrics_count_requests_by_route_and_status(client):
    for _ in range(3):
        client.get("/v1/users/100/recommendations")
    client.get("/v1/users/1/recommendations")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"] == CONTENT_TYPE
    text = r.text
    route = 'route="/v1/users/{user_id}/recommendations"'
    assert f'reelrec_requests_total{{method="GET",{route},status="200"}} 3' in text
    assert f'reelrec_requests_total{{method="GET",{route},status="404"}} 1' in text
    assert f'reelrec_request_duration_seconds_count{{method="GET",{route}}} 4' in text
    assert "reelrec_model_info{" in text and 'model="popularity"' in text
