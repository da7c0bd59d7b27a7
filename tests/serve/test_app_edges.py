"""Edge requests from issue 13 against a real server: empty candidate lists, HEAD /, and the route
labels of FastAPI's own and mounted routes in /metrics."""

from __future__ import annotations

import httpx
import pytest

from reelrec.serve import ServeSettings, build_state, create_app
from tests.serve.conftest import live_server, memory_artifact
from tests.serve.test_metrics import parse


@pytest.fixture
def dot_url(dot_model, toy, artifact_root):
    """A live server over a model that supports cold start (the popularity artifact does not)."""
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    state = build_state(memory_artifact(dot_model, toy, artifact_root / "dot", "dot1"), settings)
    with live_server(create_app(settings, state)) as url:
        yield url


@pytest.mark.parametrize("body", [{"user_id": 100}, {"features": {"age": 20}}, {"user_id": 7, "features": {"age": 20}}])
def test_empty_candidate_list_is_an_empty_result(dot_url, body):
    # issue 13, item 1: HTTP 500 before, for known and cold-start users
    response = httpx.post(f"{dot_url}/v1/recommendations", json={**body, "candidates": [], "k": 2})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["items"] == []
    assert payload["cold_start"] is ("features" in body and body.get("user_id") != 100)


def test_empty_candidate_list_on_a_popularity_artifact(live_url):
    response = httpx.post(f"{live_url}/v1/recommendations", json={"user_id": 100, "candidates": [], "k": 2})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_head_of_the_page_answers_200(live_url):
    # issue 13, item 8: 405 before
    head = httpx.head(f"{live_url}/")
    get = httpx.get(f"{live_url}/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"] == "text/html; charset=utf-8"


def test_schema_and_static_files_have_their_own_route_labels(live_url):
    # issue 13, item 8: /openapi.json and /static/... were counted as route="unmatched"
    assert httpx.get(f"{live_url}/openapi.json").status_code == 200
    assert httpx.get(f"{live_url}/static/app.js").status_code == 200
    assert httpx.get(f"{live_url}/no/such/page").status_code == 404
    samples = parse(httpx.get(f"{live_url}/metrics").text)
    assert samples['reelrec_requests_total{method="GET",route="/openapi.json",status="200"}'] == 1
    static = [k for k in samples if k.startswith("reelrec_requests_total") and 'route="/static"' in k]
    assert len(static) == 1 and samples[static[0]] == 1
    assert samples['reelrec_requests_total{method="GET",route="unmatched",status="404"}'] == 1
