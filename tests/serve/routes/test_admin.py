"""``POST /v1/admin/reload``: swaps artifacts under the root only; failures are 4xx and change nothing."""

from __future__ import annotations

import shutil

import pytest

from reelrec.serve import ServeSettings, create_app
from reelrec.serve.schemas import ReloadOut
from reelrec.serve.settings import ADMIN_TOKEN_ENV
from tests.serve.conftest import TestClient


@pytest.fixture
def root(tmp_path, artifact_root):
    root = tmp_path / "arts"
    shutil.copytree(artifact_root, root)
    return root


@pytest.fixture
def admin_client(root):
    with TestClient(create_app(ServeSettings(artifact=root / "a"))) as c:
        yield c


def test_reload_swaps_the_served_artifact(admin_client):
    before = admin_client.get("/health").json()["artifact_id"]
    recs_a = admin_client.get("/v1/users/100/recommendations").json()["items"]
    r = admin_client.post("/v1/admin/reload", json={"path": "b"})
    assert r.status_code == 200, r.text
    body = ReloadOut.model_validate(r.json())
    assert body.previous_artifact_id == before and body.path == "b" and body.model == "popularity"
    assert admin_client.get("/health").json()["artifact_id"] == body.artifact_id != before
    assert admin_client.get("/v1/users/100/recommendations").json()["items"] != recs_a
    assert 'reelrec_reloads_total{outcome="ok"} 1' in admin_client.get("/metrics").text


def test_reload_without_a_path_rereads_the_current_artifact(admin_client):
    r = admin_client.post("/v1/admin/reload")
    assert r.status_code == 200 and r.json()["path"] == "a"
    assert admin_client.post("/v1/admin/reload", json={}).json()["path"] == "a"


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"path": "/etc"}, 422, "must be relative"),
        ({"path": "../a"}, 422, "must not use '..'"),
        ({"path": "missing"}, 404, "no artifact directory 'missing'"),
        ({"path": "."}, 422, "manifest.json is missing"),
        ({"path": ""}, 422, "at least 1 character"),
        ({"path": 5}, 422, "valid string"),
        ({"file": "b"}, 422, "Extra inputs"),
    ],
)
def test_bad_reloads_keep_the_old_model(admin_client, body, status, text):
    before = admin_client.get("/health").json()["artifact_id"]
    r = admin_client.post("/v1/admin/reload", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    message = detail if isinstance(detail, str) else detail[0]["msg"]
    assert text in message
    assert admin_client.get("/health").json()["artifact_id"] == before
    assert admin_client.get("/v1/users/100/recommendations").status_code == 200


def test_corrupt_artifact_is_422_and_names_no_server_path(admin_client, root):
    shutil.copytree(root / "b", root / "c")
    (root / "c" / "model.json").write_text("{ not json")
    r = admin_client.post("/v1/admin/reload", json={"path": "c"})
    assert r.status_code == 422
    msg = r.json()["detail"][0]["msg"]
    assert "artifact 'c' cannot be loaded" in msg and "checksum mismatch" in msg and str(root) not in msg
    assert r.json()["detail"][0]["loc"] == ["body", "path"]


def test_symlink_escape_is_403(admin_client, root, tmp_path, artifact_root):
    (root / "sneaky").symlink_to(artifact_root / "b")
    r = admin_client.post("/v1/admin/reload", json={"path": "sneaky"})
    assert r.status_code == 403 and "outside the artifact root" in r.json()["detail"]


def test_admin_token_is_required_when_configured(admin_client, monkeypatch):
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "s3cret")
    assert admin_client.post("/v1/admin/reload", json={"path": "b"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert admin_client.post("/v1/admin/reload", json={"path": "b"}, headers=wrong).status_code == 401
    good = {"Authorization": "Bearer s3cret"}
    assert admin_client.post("/v1/admin/reload", json={"path": "b"}, headers=good).status_code == 200
