"""App wiring: the OpenAPI schema documents every endpoint; unexpected errors never leak a traceback."""

from __future__ import annotations

from reelrec.serve import ServeSettings, build_state, create_app
from tests.serve.conftest import DotModel, TestClient, memory_artifact

ENDPOINTS = {
    ("get", "/health"),
    ("get", "/v1/model"),
    ("get", "/v1/users"),
    ("get", "/v1/users/{user_id}/recommendations"),
    ("get", "/v1/users/{user_id}/history"),
    ("post", "/v1/recommendations"),
    ("post", "/v1/predictions"),
    ("get", "/v1/items/{item_id}"),
    ("get", "/v1/items/{item_id}/similar"),
    ("post", "/v1/admin/reload"),
    ("get", "/metrics"),
    ("post", "/v1/events"),
    ("post", "/v1/items"),
}


def test_openapi_documents_every_endpoint_and_its_errors(client):
    schema = client.get("/openapi.json").json()
    ops = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert ops == ENDPOINTS
    recs = schema["paths"]["/v1/users/{user_id}/recommendations"]["get"]
    assert {"200", "404", "422"} <= set(recs["responses"])
    ref = recs["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/RecommendationsOut")
    k = next(p for p in recs["parameters"] if p["name"] == "k")
    assert k["schema"]["minimum"] == 1 and k["schema"]["maximum"] == 1000
    body = schema["paths"]["/v1/recommendations"]["post"]
    assert {"404", "409", "413", "422"} <= set(body["responses"])
    assert schema["components"]["schemas"]["RecommendRequest"]["additionalProperties"] is False
    assert schema["info"]["title"] == "reelrec"


def test_unexpected_errors_are_a_bare_500(artifact_root, toy):
    model = DotModel(expose_users=False).fit(toy)

    def broken(users):
        raise RuntimeError("secret internal detail")

    model._score = broken
    settings = ServeSettings(artifact=artifact_root / "a")
    state = build_state(memory_artifact(model, toy, artifact_root, "broken"), settings)
    with TestClient(create_app(settings, state=state), raise_server_exceptions=False) as c:
        r = c.get("/v1/users/100/recommendations")
        assert r.status_code == 500
        assert r.json() == {"detail": "internal server error"}
        assert "secret" not in r.text and "Traceback" not in r.text
        assert 'status="500"} 1' in c.get("/metrics").text
        assert c.get("/health").status_code == 200


def test_lifespan_loads_the_artifact_once(settings):
    app = create_app(settings)
    assert not hasattr(app.state, "holder")  # nothing loaded at construction time
    with TestClient(app) as c:
        first = app.state.holder.current
        for user in (100, 103, 106, 100):
            assert c.get(f"/v1/users/{user}/recommendations").status_code == 200
        assert app.state.holder.current is first
