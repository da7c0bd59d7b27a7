"""Property test: requests generated from the OpenAPI schema's own parameter types never get a 5xx.

Each operation in ``/openapi.json`` gets path parameters, query parameters and JSON bodies drawn from
the declared types, deliberately pushed past their bounds, mixed with wrong types, unknown fields and
raw garbage, and sent over real HTTP to a live server. Successful answers must also validate against
the documented response model.
"""

from __future__ import annotations

import json
import shutil
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelrec.serve import ServeSettings, create_app, schemas
from tests.serve.conftest import live_server

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
IDS = st.sampled_from([100, 103, 5000, 5007, 1, -1, 0, 2**40])


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory, artifact_root):
    root = tmp_path_factory.mktemp("fuzz") / "arts"
    shutil.copytree(artifact_root, root)
    # With an event store, so that the live feed's routes and reads are fuzzed too.
    app = create_app(ServeSettings(artifact=root / "a", events=root.parent / "feed.db"))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, app.openapi()


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> st.SearchStrategy:
    """Values of the declared type (bounds stretched a little), sometimes of any type at all."""
    schema = resolve(schema, spec)
    if depth > 4:
        return JSON_SCALARS
    if "anyOf" in schema:
        typed = st.one_of([from_schema(s, spec, depth + 1) for s in schema["anyOf"]])
    else:
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            required = set(schema.get("required", []))
            typed = st.fixed_dictionaries(
                {k: from_schema(v, spec, depth + 1) for k, v in props.items() if k in required},
                optional={k: from_schema(v, spec, depth + 1) for k, v in props.items() if k not in required},
            )
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                typed = st.dictionaries(st.text(max_size=8), from_schema(extra, spec, depth + 1), max_size=4)
        elif kind == "array":
            typed = st.lists(from_schema(schema.get("items", {}), spec, depth + 1), max_size=5)
        elif kind == "integer":
            lo, hi = schema.get("minimum"), schema.get("maximum")
            typed = st.integers(None if lo is None else lo - 3, None if hi is None else hi + 3) | IDS
        elif kind == "number":
            typed = st.floats(allow_nan=False, allow_infinity=False)
        elif kind == "string":
            typed = st.text(max_size=12) | IDS.map(str) | st.sampled_from(["a", "b", ".", "..", "/etc", "a/../b"])
        elif kind == "boolean":
            typed = st.booleans()
        elif kind == "null":
            typed = st.none()
        else:
            typed = ANY_JSON
    return st.one_of(typed, typed, typed, ANY_JSON)


def query_value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    kind = schema.get("type")
    if kind == "integer":
        lo, hi = schema.get("minimum", -5), schema.get("maximum", 10_000)
        typed = st.integers(lo - 5, hi + 5).map(str)
    elif kind == "boolean":
        typed = st.sampled_from(["true", "false", "1", "0", "yes", "off", "maybe"])
    else:
        typed = st.text(max_size=10)
    return typed | st.text(max_size=10)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in spec["paths"].items() for m, op in item.items()]


def ops_ids() -> list[str]:
    names = [
        "GET /health", "GET /v1/model", "GET /v1/users", "GET /v1/users/{user_id}/recommendations",
        "GET /v1/users/{user_id}/history", "POST /v1/recommendations", "POST /v1/predictions",
        "GET /v1/items/{item_id}", "GET /v1/items/{item_id}/similar", "POST /v1/admin/reload", "GET /metrics",
        "POST /v1/events", "POST /v1/items",
    ]
    return names


@pytest.mark.parametrize("operation", ops_ids())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_5xx_for_requests_drawn_from_the_schema(fuzz_server, operation, data):
    client, spec = fuzz_server
    method, path = operation.split(" ", 1)
    op = spec["paths"][path][method.lower()]
    url = path
    params: dict[str, str] = {}
    for param in op.get("parameters", []):
        if param["in"] == "path":
            value = data.draw(IDS.map(str) | st.text(min_size=1, max_size=16), label=param["name"])
            url = url.replace("{" + param["name"] + "}", quote(value, safe=""))
        elif param["in"] == "query" and data.draw(st.booleans()):
            params[param["name"]] = data.draw(query_value(param["schema"]), label=param["name"])
    if data.draw(st.integers(0, 9)) == 0:
        params[data.draw(st.text(min_size=1, max_size=6), label="extra")] = "1"
    content, headers = None, {}
    if "requestBody" in op:
        body_schema = op["requestBody"]["content"]["application/json"]["schema"]
        choice = data.draw(st.integers(0, 9), label="body kind")
        if choice < 7:
            content = json.dumps(data.draw(from_schema(body_schema, spec), label="body")).encode()
        elif choice < 9:
            content = json.dumps(data.draw(ANY_JSON, label="body")).encode()
        else:
            content = data.draw(st.binary(max_size=64), label="raw body")
        ctype = data.draw(st.sampled_from(["application/json", "application/json", "text/plain", ""]))
        if ctype:
            headers["content-type"] = ctype
    r = client.request(method, url, params=params, content=content, headers=headers)
    assert r.status_code < 500, (method, url, params, content, r.text)
    assert "Traceback" not in r.text
    if r.status_code == 200 and path != "/metrics":
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        getattr(schemas, ref.rsplit("/", 1)[-1]).model_validate(r.json())
    elif r.status_code >= 400:
        detail = r.json()["detail"]
        assert isinstance(detail, str) or all({"loc", "msg", "type"} <= set(d) for d in detail)


def test_the_fuzzed_operations_are_all_of_them(fuzz_server):
    _, spec = fuzz_server
    assert {f"{m} {p}" for m, p, _ in operations(spec)} == set(ops_ids())
