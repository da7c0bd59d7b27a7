"""A real server on a loopback port: every endpoint over HTTP, and reloads under concurrent traffic."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest

from reelrec.artifacts import load_artifact
from reelrec.models import model_class
from reelrec.serve import ServeSettings, build_state, create_app
from tests.serve.conftest import live_server, memory_artifact


@pytest.fixture
def root(tmp_path, artifact_root):
    root = tmp_path / "arts"
    shutil.copytree(artifact_root, root)
    return root


CASES = [
    # method, path, json body, expected status
    ("GET", "/health", None, 200),
    ("GET", "/v1/model", None, 200),
    ("GET", "/v1/users?limit=3", None, 200),
    ("GET", "/v1/users/100/recommendations?k=5", None, 200),
    ("GET", "/v1/users/100/recommendations?k=5&details=true&exclude_seen=false", None, 200),
    ("GET", "/v1/users/999/recommendations", None, 404),
    ("GET", "/v1/users/100/recommendations?k=-1", None, 422),
    ("GET", "/v1/users/100/history?limit=3", None, 200),
    ("GET", "/v1/users/999/history", None, 404),
    ("POST", "/v1/recommendations", {"user_id": 100, "k": 3}, 200),
    ("POST", "/v1/recommendations", {"features": {"age": 20}, "k": 3}, 200),
    ("POST", "/v1/recommendations", {"user_id": 999}, 404),
    ("POST", "/v1/recommendations", {"user_id": 100, "k": 3, "nope": 1}, 422),
    ("POST", "/v1/predictions", {"pairs": [{"user_id": 100, "item_id": 5000}]}, 200),
    ("POST", "/v1/predictions", {"pairs": "all"}, 422),
    ("GET", "/v1/items/5007", None, 200),
    ("GET", "/v1/items/5007/similar?k=4", None, 200),
    ("GET", "/v1/items/1/similar", None, 404),
    ("POST", "/v1/admin/reload", {"path": "../../etc"}, 422),
    ("POST", "/v1/admin/reload", {"path": "missing"}, 404),
    ("GET", "/metrics", None, 200),
    ("GET", "/", None, 200),
    ("DELETE", "/v1/recommendations", None, 405),
]


def test_every_endpoint_over_http(root, toy, dot_model):
    settings = ServeSettings(artifact=root / "a", retrieval="exact")
    state = build_state(memory_artifact(dot_model, toy, root / "a", "dot-live"), settings)
    with live_server(create_app(settings, state=state)) as url, httpx.Client(base_url=url) as c:
        for method, path, body, status in CASES:
            r = c.request(method, path, json=body)
            assert r.status_code == status, (method, path, r.text)
            assert "Traceback" not in r.text
        # Keep-alive: one connection served all of the above.
        assert c.get("/health").headers.get("connection", "keep-alive") != "close"


def raw_exchange(url: str, payload: bytes) -> bytes:
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as s:
        s.sendall(payload)
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def test_malformed_http_and_oversized_bodies_on_the_wire(root):
    settings = ServeSettings(artifact=root / "a", max_body_bytes=4096)
    with live_server(create_app(settings)) as url:
        assert raw_exchange(url, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
        big = b"x" * 10_000
        reply = raw_exchange(
            url,
            b"POST /v1/recommendations HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(big)).encode() + b"\r\nConnection: close\r\n\r\n" + big,
        )
        assert reply.startswith(b"HTTP/1.1 413") and b"larger than 4096 bytes" in reply
        with httpx.Client(base_url=url) as c:
            assert c.post("/v1/recommendations", content=b"{" * 5000).status_code == 413
            assert c.get("/health").status_code == 200


def test_reload_under_concurrent_traffic_has_no_failed_request(root, toy):
    users = toy.users.raw_ids[:: 5].tolist()
    expected = {}
    for name in ("a", "b"):
        art = load_artifact(root / name, model_class)
        items, _ = art.model.recommend(np.asarray(users), k=10)
        expected[art.artifact_id] = {u: row.tolist() for u, row in zip(users, items, strict=True)}
    assert len(expected) == 2

    settings = ServeSettings(artifact=root / "a")
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()

    def hammer(url: str, seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                user = users[int(rng.integers(len(users)))]
                try:
                    r = c.get(f"/v1/users/{user}/recommendations")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text}")
                    continue
                body = r.json()
                # The response comes entirely from one artifact: never a mix of two.
                if [it["item_id"] for it in body["items"]] != expected[body["artifact_id"]][user]:
                    failures.append(f"mixed answer for {user} from {body['artifact_id']}")
                seen.append(body["artifact_id"])

    with live_server(create_app(settings)) as url:
        threads = [threading.Thread(target=hammer, args=(url, s)) for s in range(6)]
        for t in threads:
            t.start()
        reloads = []
        with httpx.Client(base_url=url, timeout=30) as admin:
            for target in ["b", "a", "b", "a", "b", "a", "b"]:
                time.sleep(0.1)
                r = admin.post("/v1/admin/reload", json={"path": target})
                reloads.append(r.status_code)
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert reloads == [200] * 7
    assert failures == []
    assert len(seen) > 50 and set(seen) == set(expected)
