"""``reelrec serve`` start-up failures from issue 13: each is one ``error:`` line and exit status 2."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket

import pytest

from reelrec.models import create_model, model_class
from tests.conftest import make_toy_dataset
from tests.serve.test_cli_serve import run_cli


@pytest.fixture(scope="module")
def mf_artifact(tmp_path_factory):
    data = make_toy_dataset()
    path = tmp_path_factory.mktemp("serve-errors") / "mf"
    model = create_model("mf", **model_class("mf").fast_params()).fit(data)
    model.save(path, dataset=data)
    return path


def test_artifact_that_passes_checksums_but_cannot_be_built(mf_artifact, tmp_path):
    # issue 13, item 2: a ~68-line traceback and exit 3 before
    broken = tmp_path / "broken"
    shutil.copytree(mf_artifact, broken)
    weights = broken / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    result = run_cli("serve", broken, "--port", "0")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "weights.safetensors" in lines[0]


def test_port_in_use_is_one_error_line(mf_artifact):
    # issue 13, item 8: uvicorn's own log line and exit 1 before
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", mf_artifact, "--port", port)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: --port {port}: 127.0.0.1:{port} is already in use; choose another port (--port 0 "
                     "picks a free one)"]
